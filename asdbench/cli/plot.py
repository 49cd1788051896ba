"""``asdbench plot``: ROC curves, score histograms and a leaderboard chart of a run (PNG)."""

from __future__ import annotations

from pathlib import Path

import click

from ..evaluation.plots import plot_run


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the PNG files [default: RUN_DIR/plots].",
)
@click.option("--backend", default=None, help="Only this back-end [default: all].")
def plot(run_dir: Path, out: Path | None, backend: str | None) -> None:
    """Write PNG figures of RUN_DIR: leaderboard.png, roc_*.png, hist_*.png."""
    report = plot_run(run_dir, out, backend=backend)
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    folder = report.files[0].parent if report.files else out
    click.echo(f"wrote {len(report.files)} figures to {folder}")
