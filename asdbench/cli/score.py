"""``asdbench score``: anomaly scores and decisions for new recordings, from a trained trial or
a system's ensemble (see :mod:`asdbench.trained`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .completion import complete_backends
from .evaluate import emit


@click.command()
@click.argument("trained", metavar="TRIAL_OR_SYSTEM_DIR", type=click.Path(path_type=Path))
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--backend", default=None, shell_complete=complete_backends, help="Back-end of the run to score with [default: the run's first].")
@click.option("--machine", default=None, help="Machine type of every clip (when paths and names do not say).")
@click.option("--section", default=None, help="Section of every clip, e.g. 00 (when names do not say).")
@click.option("--resample", is_flag=True, default=None,
              help="Resample clips at another rate to the trained rate (soxr) instead of refusing them.")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or auto [default: the run's device, else cpu].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Clips per batch [default: the run's].")
def score(trained: Path, paths: tuple[Path, ...], out: Path | None, fmt: str, backend: str | None,
          machine: str | None, section: str | None, resample: bool | None, device: str | None,
          batch_size: int | None) -> None:
    """Score the WAV/FLAC files and folders PATH... with TRIAL_OR_SYSTEM_DIR (RUN/SYSTEM/seed-K for
    one trial, RUN/SYSTEM for the ensemble of its seeds): one row per clip with its anomaly
    score and decision (1 = anomalous). Clips are read as in training: mono, the trained sample
    rate and clip length. Machine type and section come from the path and DCASE file name, or
    from --machine / --section."""
    from ..trained import load_system

    system = load_system(trained, backend)
    clips = system.clips_for(paths, machine, section)  # every file checked before any embedding
    table = system.score(clips, resample=resample, device=device, batch_size=batch_size)
    if fmt == "json":
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        text = json.dumps(records, indent=2) + "\n"  # full float precision, unlike DataFrame.to_json
    else:
        text = table.to_csv(index=False, lineterminator="\n")
    emit(text, out)
