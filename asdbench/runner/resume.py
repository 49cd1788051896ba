"""``--resume`` integrity: the same data, the same experiment, or a clear refusal; growing a run.

A run directory keeps the resolved config (``run.json``) and the dataset it was started on
(``dataset.json``: every clip with its subset, labels, size and modification time). Resuming
compares the data with the present: changed data is refused, naming what differs. Which options
may change or grow is :func:`asdbench.runner.config.resume_config`'s business.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_json, remove_temporaries
from ..components import Dataset
from ..errors import ConfigError, DataError, PreflightError
from ..results.layout import DATASET_FILE, RUN_FILE
from ..results.records import RUN_SCHEMA, RunRecord, read_json
from .config import RunConfig


def remove_stale_temporaries(run_dir: Path) -> list[Path] | None:
    """Delete the temporary files a killed process (SIGKILL inside an atomic write) left anywhere
    in the run directory; returns them. ``None`` (nothing touched) while run.json says the run is
    running in a process that is still alive or cannot be checked from here: its writes are live."""
    from ..results.run_state import process_alive

    run_dir = Path(run_dir)
    meta = RunRecord.read(run_dir / RUN_FILE)
    if meta is None:
        return None
    if meta.status == "running" and process_alive(meta.process or {}) is not False:
        return None
    return remove_temporaries(run_dir)


def _clip_rows(dataset: Dataset) -> list[list[Any]]:
    from ..data.audio import clip_key

    rows = []
    for clip in sorted(dataset.clips):
        try:
            st = os.stat(clip.path)
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        rows.append([clip_key(clip), clip.subset, clip.label, clip.domain, clip.attribute, size, mtime])
    return rows


def dataset_record(dataset: Dataset) -> dict[str, Any]:
    """What identifies the data of a run: clips (with labels, sizes, times), policy and rate."""
    rows = _clip_rows(dataset)
    return {
        "name": dataset.name,
        "version": dataset.version,
        "sample_rate": dataset.sample_rate,
        "resample": bool(dataset.resample),
        "length_policy": dataset.length_policy.to_dict(),
        "fingerprint": hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest(),
        "clips": rows,
    }


def write_dataset_record(run_dir: Path, dataset: Dataset) -> str:
    """Store the run's dataset record; returns its fingerprint (also kept in run.json)."""
    record = dataset_record(dataset)
    atomic_write_json(Path(run_dir) / DATASET_FILE, record)
    return str(record["fingerprint"])


def _legacy_differences(run_dir: Path, dataset: Dataset, cache_dtype: str) -> list[str]:
    """Runs started before dataset.json existed: compare the clip cache's content key."""
    from ..data.cache import cache_key

    stored = RunRecord.read(Path(run_dir) / RUN_FILE)
    recorded = (stored.dataset if stored is not None else None) or {}
    key = (recorded.get("cache") or {}).get("key")
    if key is None:
        return [f"{Path(run_dir) / DATASET_FILE} is missing and run.json records no dataset to compare with"]
    clips = dataset.select(subset="train") + dataset.select(subset="test")
    if key == cache_key(dataset, clips, cache_dtype):
        return []
    return [f"clips, sizes or modification times differ from the run's clip cache key "
            f"({recorded.get('train_clips')} + {recorded.get('test_clips')} clips then, "
            f"{len(dataset.select(subset='train'))} + {len(dataset.select(subset='test'))} now)"]


def dataset_differences(run_dir: Path, dataset: Dataset, cache_dtype: str = "int16") -> list[str]:
    """How ``dataset`` differs from the one the run started on (empty when it is the same)."""
    path = Path(run_dir) / DATASET_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _legacy_differences(run_dir, dataset, cache_dtype)
    except (OSError, ValueError) as exc:
        return [f"{path} is unreadable ({exc})"]
    now = dataset_record(dataset)
    if stored.get("fingerprint") == now["fingerprint"] and all(
            stored.get(k) == now[k] for k in ("sample_rate", "resample", "length_policy")):
        return []
    differences = [f"{key}: {stored.get(key)!r} then, {now[key]!r} now"
                   for key in ("name", "sample_rate", "resample", "length_policy") if stored.get(key) != now[key]]
    before = {row[0]: row[1:] for row in stored.get("clips", [])}
    after = {row[0]: row[1:] for row in now["clips"]}
    for label, keys in (("clips added", sorted(set(after) - set(before))),
                        ("clips removed", sorted(set(before) - set(after))),
                        ("clips relabelled", sorted(k for k in set(after) & set(before) if after[k][:4] != before[k][:4])),
                        ("files modified (size or time)",
                         sorted(k for k in set(after) & set(before) if after[k][4:] != before[k][4:]))):
        if keys:
            differences.append(f"{len(keys)} {label}, e.g. {', '.join(keys[:3])}")
    return differences


def load_stored_config(run_dir: Path) -> RunConfig:
    """The config a run was started with; one line naming the file when it cannot be used."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ConfigError(f"--resume: no {RUN_FILE} in {run_dir}")
    try:
        stored = read_json(path)
    except DataError as exc:
        raise ConfigError(f"--resume: {exc}") from None
    schema = stored.get(RunRecord.SCHEMA_KEY) if isinstance(stored, dict) else None
    record = RunRecord.from_json(stored) if schema == RUN_SCHEMA else None
    version = (record.versions if record else (stored.get("versions") if isinstance(stored, dict) else None) or {})
    version = version.get("asdbench", "?") if isinstance(version, dict) else "?"
    if record is None or not isinstance(record.config, dict) or not record.config:
        raise ConfigError(f"--resume: {path} is not a run.json this asdbench can resume "
                          f"(format {schema!r}, written by asdbench {version})")
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(record.config) - known)
    if unknown:
        raise ConfigError(f"--resume: {path} was written by asdbench {version} with option(s) this version does not "
                          f"know: {', '.join(unknown)}")
    config = RunConfig(**record.config)
    problems = config.problems()
    if problems:
        raise PreflightError([f"--resume: {path}: {p}" for p in problems])
    return config
