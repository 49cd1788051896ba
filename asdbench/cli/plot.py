"""``asdbench plot``: figures of one or more runs (leaderboard, curves, ROC, histograms, embeddings)."""

from __future__ import annotations

from pathlib import Path

import click

from ..reports.plots import FIGURE_FORMATS, plot_runs


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the figures [default: the first RUN_DIR/plots].")
@click.option("--format", "fmt", type=click.Choice(FIGURE_FORMATS), default="png", show_default=True)
@click.option("--dpi", type=click.IntRange(10, 2400), default=150, show_default=True,
              help="Resolution of PNGs (and of raster parts of PDF/SVG).")
@click.option("--backend", default=None, help="Only this back-end [default: all].")
@click.option("--embedding", type=click.Choice(["auto", "tsne", "umap", "none"]), default="auto", show_default=True,
              help="Embedding map method: auto = UMAP where umap-learn is installed, else t-SNE.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the embedding map (subset and method).")
@click.option("--strict", is_flag=True, help="An incomplete run or one with failed trials is an error.")
def plot(run_dirs: tuple[Path, ...], out: Path | None, fmt: str, dpi: int, backend: str | None,
         embedding: str, seed: int, strict: bool) -> None:
    """Write figures of RUN_DIR... (PNG, PDF or SVG) for a paper.

    leaderboard, curves (history.csv), roc_<split>_<machine>, hist_<split>_<machine> and
    embeddings; several runs are drawn into the same figures."""
    from .compare import incomplete_runs

    for state in incomplete_runs(run_dirs, strict):
        click.echo(f"Note: {state.describe()}", err=True)
    report = plot_runs(run_dirs, out, fmt=fmt, dpi=dpi, backend=backend, embedding=embedding, seed=seed)
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    folder = report.files[0].parent if report.files else out
    click.echo(f"wrote {len(report.files)} figures to {folder}")
