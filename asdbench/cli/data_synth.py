"""``asdbench data synth``: write the embedded synthetic benchmark (DCASE2023 layout)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Folder to write (default: the cache under ASDBENCH_HOME that `asdbench run` uses).")
@click.option("--preset", type=click.Choice(["quick", "paper"]), default="quick", show_default=True, help="quick: 6 types, 2-s clips; paper: DCASE2023 sizes (14 types, 10-s clips).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the data; the same seed gives byte-identical files.")
@click.option("--overwrite", is_flag=True, help="Replace synthetic data of another preset/seed in --out (never touches other folders).")
@click.option("--workers", type=click.IntRange(min=1), help="Processes to render with (default: 1 for the quick preset, else the CPU cores, at most 8).")
def synth(out: Path | None, preset: str, seed: int, overwrite: bool, workers: int | None) -> None:
    """Generate the synthetic benchmark: machine sounds in factory noise, with domain shifts and
    subtle faults, written as DCASE2023-style WAV files plus evaluator ground truth."""
    from tqdm import tqdm

    from ..synth import cache_dir, ensure_synthetic, generate, is_complete

    target = out if out is not None else cache_dir(preset, seed)
    if is_complete(target, preset, seed) and not (overwrite and out is not None):
        _report(target, "Already complete (nothing to do)", None)
        return
    bar = tqdm(total=0, unit="clip", disable=not sys.stderr.isatty(), leave=False)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    start = time.perf_counter()
    try:
        if out is None:
            root = ensure_synthetic(preset, seed, workers=workers, progress=progress)
        else:
            root = generate(out, preset, seed, overwrite=overwrite, workers=workers, progress=progress)
    finally:
        bar.close()
    _report(root, "Wrote", time.perf_counter() - start)


def _report(root: Path, verb: str, seconds: float | None) -> None:
    from ..synth import read_meta

    meta = read_meta(root) or {}
    machines: dict = meta.get("machines", {})
    dev = [m for m, v in machines.items() if v["split"] == "dev"]
    ev = [m for m, v in machines.items() if v["split"] == "eval"]
    train = sum(sum(v["counts"]["train"].values()) for v in machines.values())
    test = sum(n for v in machines.values() for d in v["counts"]["test"].values() for n in d.values())
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    click.echo(f"{verb}: synthetic benchmark '{meta.get('preset')}' (seed {meta.get('seed')}, generator v{meta.get('generator_version')}){took}")
    click.echo(f"  folder : {root}")
    click.echo(f"  dev    : {len(dev)} machine types ({', '.join(dev)})")
    click.echo(f"  eval   : {len(ev)} machine types ({', '.join(ev)}); ground truth in ground_truth_*/")
    click.echo(f"  files  : {train + test} WAV ({train} train, {test} test), {meta.get('sample_rate')} Hz mono 16-bit, {meta.get('clip_seconds')} s clips")
