"""``asdbench evaluate``: official DCASE metrics for any folder of challenge-format CSVs."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ..atomic import atomic_write_text
from ..data.editions import SCORED_AS, VERSIONS
from ..reports.formatting import FORMATS


def emit(text: str, out: Path | None) -> None:
    """Print ``text`` or write it atomically to ``out`` (shared by evaluate and compare)."""
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        click.echo(f"wrote {out}", err=True)


@click.command()
@click.argument("submission_dir", type=click.Path(path_type=Path))
@click.option(
    "--ground-truth",
    type=click.Path(path_type=Path),
    default=None,
    help="Official evaluator folder with ground_truth_data/ and ground_truth_domain/. "
    "Without it, labels are read from dev-style clip names.",
)
@click.option(
    "--dataset-version",
    type=click.Choice([*VERSIONS, *SCORED_AS]),
    default="2023",
    show_default=True,
    help="DCASE edition: decides how the official score combines the metrics.",
)
@click.option(
    "--split",
    default=None,
    help="Split label of the rows [default: eval with --ground-truth, else dev].",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="plain", show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout."
)
def evaluate(
    submission_dir: Path,
    ground_truth: Path | None,
    dataset_version: str,
    split: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Score SUBMISSION_DIR (anomaly_score_<machine>_section_<XX>_test.csv files) with
    official DCASE semantics: AUC (source/target), pAUC, official score, jackknife CI."""
    from ..reports.evaluation import render_evaluation
    from ..scoring.metrics import score_clips
    from ..scoring.submission import label_submission

    labelled = label_submission(submission_dir, ground_truth, split)
    for note in labelled.notes:
        click.echo(f"Note: {note}", err=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = score_clips(labelled.clips, dataset_version=dataset_version)
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    emit(render_evaluation(rows, fmt), out)
