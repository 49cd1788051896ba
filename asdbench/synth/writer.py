"""Write a whole synthetic benchmark tree: WAVs, attribute tables, ground truth, metadata.

Order of writing (why): ``synthetic.json`` first (it marks the folder as ours and records the
parameters, so an interrupted run can be resumed and nothing else is mistaken for it), then the
WAVs (each atomically, so an existing file is always complete: resuming skips it), then the
CSVs, then the completion marker last: a tree without the marker is unfinished.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import soundfile as sf

from ..atomic import atomic_write_json, atomic_write_text
from ..errors import DataError
from .params import GAIN_JITTER_DB, MACHINES, SEVERITY_SCALE, SNR_JITTER_DB, parse_attributes
from .plan import SECTION, FileSpec, plan
from .presets import SAMPLE_RATE, Preset, get_preset
from .render import fault_amount, render
from .version import GENERATOR_VERSION

META = "synthetic.json"
MARKER = ".synthetic-complete"
MANIFEST = "synthetic_manifest.csv"
GROUND_TRUTH_DIRS = ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes")
OWNED = ("dev_data", "eval_data", *GROUND_TRUTH_DIRS, MANIFEST, META, MARKER)

Progress = Callable[[int, int], None]


def _identity(preset: Preset, seed: int) -> dict[str, Any]:
    return {"preset": preset.name, "preset_config": preset.to_dict(), "seed": seed, "generator_version": GENERATOR_VERSION}


def read_meta(root: Path) -> dict[str, Any] | None:
    """``synthetic.json`` of ``root``, or None when absent or unreadable."""
    try:
        return json.loads((Path(root) / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(root: Path, preset: str | Preset | None = None, seed: int | None = None) -> bool:
    """True when ``root`` holds a finished tree (of this preset/seed/version, when given)."""
    root = Path(root)
    meta = read_meta(root)
    if meta is None or not (root / MARKER).is_file():
        return False
    if meta.get("generator_version") != GENERATOR_VERSION:
        return False
    if preset is not None and meta.get("preset_config") != get_preset(preset).to_dict():
        return False
    return seed is None or meta.get("seed") == seed


def _prepare(out: Path, preset: Preset, seed: int, overwrite: bool) -> bool:
    """Check what ``out`` holds; returns True when it is already complete (nothing to do)."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return False
    meta = read_meta(out)
    if meta is None:
        raise DataError(f"{out}: folder is not empty and is not a synthetic benchmark; refusing to write into it")
    same = {k: meta.get(k) for k in ("preset_config", "seed", "generator_version")} == {
        k: v for k, v in _identity(preset, seed).items() if k != "preset"
    }
    if overwrite:
        for name in OWNED:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        return False
    if not same:
        raise DataError(
            f"{out}: holds synthetic data of another preset/seed/version "
            f"({meta.get('preset')}, seed {meta.get('seed')}, v{meta.get('generator_version')}); use --overwrite to replace it"
        )
    return (out / MARKER).is_file()


def _write_wav(path: Path, samples: Any) -> None:
    tmp = path.with_name(path.name + ".part")  # not *.wav: a reader never lists it
    sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def _render_chunk(out: str, preset: Preset, seed: int, specs: Sequence[FileSpec]) -> int:
    """Worker: render and write some files (module-level so that process pools can pickle it)."""
    for spec in specs:
        _write_wav(Path(out) / spec.relpath, render(spec, preset, seed))
    return len(specs)


#: Below this much audio (clip-seconds) one process is faster than starting a pool: a spawned
#: worker re-imports the caller's main module, which for the CLI means torch (seconds each).
POOL_MIN_SECONDS = 10_000.0


def _default_workers(audio_seconds: float = float("inf")) -> int:
    """The CPU cores available (at most 8), or 1 for small jobs."""
    if audio_seconds < POOL_MIN_SECONDS:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _render_all(out: Path, preset: Preset, seed: int, todo: list[FileSpec], workers: int, progress: Progress | None) -> None:
    total = len(todo)
    chunk = 16
    chunks = [todo[i : i + chunk] for i in range(0, total, chunk)]
    done = 0
    if workers <= 1 or len(chunks) <= 1:
        for part in chunks:
            done += _render_chunk(str(out), preset, seed, part)
            if progress:
                progress(done, total)
        return
    # "spawn": the same behaviour on every OS, and safe when the parent has threads (torch).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_render_chunk, str(out), preset, seed, part) for part in chunks]
        for future in futures:
            done += future.result()
            if progress:
                progress(done, total)


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _attribute_rows(files: list[FileSpec]) -> list[list[str]]:
    """``attributes_00.csv``: file_name (``<machine>/<subset>/<name>``) then d1p, d1v, d2p, d2v ...
    for every file whose name shows its attributes (hidden eval test files are left out)."""
    shown = [f for f in files if not f.hidden]
    pairs = max(len(parse_attributes(f.attribute)) for f in files)
    header = ["file_name"] + [f"d{i}{c}" for i in range(1, pairs + 1) for c in ("p", "v")]
    rows = [header]
    for f in sorted(shown, key=lambda f: (f.subset != "train", f.name)):
        values = [x for kv in parse_attributes(f.attribute).items() for x in kv]
        rows.append([f"{f.machine}/{f.subset}/{f.name}"] + values + [""] * (2 * pairs - len(values)))
    return rows


def _write_tables(out: Path, files: list[FileSpec], seed: int) -> None:
    by_machine: dict[str, list[FileSpec]] = {}
    for f in files:
        by_machine.setdefault(f.machine, []).append(f)
    for machine, mfiles in by_machine.items():
        split = MACHINES[machine].split
        atomic_write_text(out / f"{split}_data/raw/{machine}/attributes_{SECTION}.csv", _csv_text(_attribute_rows(mfiles)))
        hidden = sorted((f for f in mfiles if f.hidden), key=lambda f: f.name)
        if not hidden:
            continue
        stem = f"ground_truth_{machine}_section_{SECTION}_test.csv"
        tables = {
            "ground_truth_data": [[f.name, int(f.label == "anomaly")] for f in hidden],
            "ground_truth_domain": [[f.name, int(f.domain == "target")] for f in hidden],
            "ground_truth_attributes": [[f.name, f.full_name[: -len(".wav")]] for f in hidden],
        }
        for folder, rows in tables.items():
            atomic_write_text(out / folder / stem, _csv_text(rows))
    manifest = [["path", "machine", "split", "subset", "domain", "label", "attribute", "anomaly", "amount", "full_name"]]
    for f in files:
        manifest.append([f.relpath, f.machine, f.split, f.subset, f.domain, f.label, f.attribute, f.anomaly or "", f"{fault_amount(seed, f):.6g}", f.full_name])
    atomic_write_text(out / MANIFEST, _csv_text(manifest))


def _counts(files: list[FileSpec]) -> dict[str, Any]:
    c: dict[str, Any] = {"train": {"source": 0, "target": 0}, "test": {d: {"normal": 0, "anomaly": 0} for d in ("source", "target")}}
    for f in files:
        if f.subset == "train":
            c["train"][f.domain] += 1
        else:
            c["test"][f.domain][f.label] += 1
    return c


def build_meta(preset: Preset, seed: int, files: list[FileSpec]) -> dict[str, Any]:
    """Contents of ``synthetic.json``: parameters, per-type settings, counts."""
    machines: dict[str, Any] = {}
    for name in preset.machines:
        spec = MACHINES[name]
        mfiles = [f for f in files if f.machine == name]
        machines[name] = {
            "split": spec.split,
            "clip_seconds": preset.seconds(name),
            "summary": spec.summary,
            "attributes": {"source": list(spec.source), "target": list(spec.target)},
            "background": {"source": spec.source_env, "target": spec.target_env},
            "snr_db": spec.snr_db,
            "anomalies": {k.name: {"description": k.description, "amount": [k.lo * SEVERITY_SCALE, k.hi * SEVERITY_SCALE]} for k in spec.anomalies},
            "counts": _counts(mfiles),
        }
    seconds = {preset.seconds(m) for m in preset.machines}
    return {
        **_identity(preset, seed),
        "sample_rate": SAMPLE_RATE,
        # one number for loaders that bring every clip to one length: the most common length
        "clip_seconds": preset.clip_seconds if preset.clip_seconds is not None else max(seconds, key=lambda s: sum(preset.seconds(m) == s for m in preset.machines)),
        "machines": machines,
        "severity_scale": SEVERITY_SCALE,
        "severities": {m: v["anomalies"] for m, v in machines.items()},
        "snr_db": {m: MACHINES[m].snr_db for m in preset.machines},
        "snr_jitter_db": SNR_JITTER_DB,
        "gain_jitter_db": GAIN_JITTER_DB,
        "environments": sorted({e for m in preset.machines for e in (MACHINES[m].source_env, MACHINES[m].target_env)}),
        "files": len(files),
        "completion_marker": MARKER,
    }


def generate(
    out: Path | str,
    preset: str | Preset = "quick",
    seed: int = 0,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the synthetic benchmark of ``preset``/``seed`` into ``out`` and return ``out``.

    An empty or missing ``out`` is filled; a finished tree of the same parameters is left as it
    is; an unfinished one is resumed (existing WAVs are complete by construction and kept).
    ``overwrite`` replaces a synthetic tree of other parameters. A non-empty folder that is not
    a synthetic benchmark is never touched (DataError).
    """
    p = get_preset(preset)
    if not isinstance(seed, int) or seed < 0:
        raise DataError(f"--seed {seed!r}: must be a non-negative integer")
    out = Path(out)
    if _prepare(out, p, seed, overwrite):
        return out
    files = plan(p, seed)
    for d in {(out / f.relpath).parent for f in files}:
        d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / META, build_meta(p, seed, files))
    todo = [f for f in files if not (out / f.relpath).is_file()]
    for stale in out.glob("*_data/raw/*/*/*.part"):
        stale.unlink(missing_ok=True)
    if workers is None:
        workers = _default_workers(sum(p.seconds(f.machine) for f in todo))
    _render_all(out, p, seed, todo, workers, progress)
    _write_tables(out, files, seed)
    atomic_write_json(out / MARKER, {"generator_version": GENERATOR_VERSION, "preset": p.name, "seed": seed, "files": len(files)})
    return out

