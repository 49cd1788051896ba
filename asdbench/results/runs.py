"""Load the results of one or more run directories into one tidy frame.

Reads ``<run>/results.csv`` (required) and ``<run>/run.json`` (optional, a
:class:`~asdbench.results.records.RunRecord`). From run.json: ``systems`` (in row order),
``dataset`` (name and version: the paper layout's dataset label) and ``config`` (compared between
runs, and its ``reference``, the ``[paper]`` table of an experiment file). A run is labelled by
its folder name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .layout import RESULTS_FILE, RUN_FILE
from .records import RunRecord
from .tables import read_results_table

__all__ = ["RunResults", "load_run", "load_runs", "config_differences", "COMPARED_SETTINGS"]

PathLike = str | os.PathLike[str]


@dataclass
class RunResults:
    path: Path
    name: str
    systems: list[str]  # in display order
    results: pd.DataFrame  # results.csv plus a "run" column
    record: RunRecord = field(default_factory=RunRecord)  # run.json (empty when absent)

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config if isinstance(self.record.config, dict) else {}

    @property
    def dataset(self) -> str:
        """``DCASE2023`` for DCASE data, the dataset's name otherwise (``synthetic``, ``run`` when unknown)."""
        info = self.record.dataset
        if not isinstance(info, dict) or not info.get("name"):
            return "run"
        name, version = str(info["name"]), str(info.get("version") or "")
        if name.lower().startswith("dcase"):
            return f"DCASE{version}" if version.isdigit() else name.upper()
        return name


def _run_record(path: Path) -> RunRecord:
    file = path / RUN_FILE
    if not file.is_file():
        return RunRecord()
    data = RunRecord.read(file)
    if data is None:
        raise DataError(f"{file}: not a valid run.json")
    return data


def _system_order(record: RunRecord, results: pd.DataFrame) -> list[str]:
    listed = [name for name in record.systems if isinstance(name, str)]
    present = list(dict.fromkeys(results["system"]))
    return [s for s in listed if s in present] + [s for s in present if s not in listed]


def load_run(run_dir: PathLike) -> RunResults:
    """One run directory: its results (with a ``run`` column), name and system order."""
    path = Path(run_dir)
    if not path.is_dir():
        raise DataError(f"{path}: run directory not found")
    if not (path / RESULTS_FILE).is_file():
        raise DataError(f"{path}: no {RESULTS_FILE} (is this a finished asdbench run directory?)")
    results = read_results_table(path / RESULTS_FILE)
    if results.empty:
        raise DataError(f"{path / RESULTS_FILE}: no rows")
    record = _run_record(path)
    name = path.resolve().name
    results.insert(0, "run", name)
    return RunResults(path, name, _system_order(record, results), results, record)


def load_runs(run_dirs: list[PathLike]) -> list[RunResults]:
    """Several runs; runs with the same name get ``#2``, ``#3`` suffixes to stay distinct."""
    runs = [load_run(d) for d in run_dirs]
    seen: dict[str, int] = {}
    for run in runs:
        count = seen.get(run.name, 0) + 1
        seen[run.name] = count
        if count > 1:
            run.name = f"{run.name}#{count}"
            run.results["run"] = run.name
    return runs


COMPARED_SETTINGS = ("preset", "epochs", "batch_size", "lr", "embedder", "loss", "precision", "data_seed")
"""Config keys that change the numbers; runs that differ in one are not one experiment."""


def _settings(run: RunResults) -> dict[str, Any]:
    config = run.config
    settings = {key: config.get(key) for key in COMPARED_SETTINGS if key in config}
    cache = run.record.dataset.get("cache") if isinstance(run.record.dataset, dict) else None
    if isinstance(cache, dict) and cache.get("key"):
        settings["dataset fingerprint"] = str(cache["key"])[:12]
    return settings


def config_differences(runs: list[RunResults]) -> list[str]:
    """One text per setting in which runs differ: ``epochs (a: 10, b: 3)``; empty when they agree
    (settings a run.json does not record are not compared)."""
    if len(runs) < 2:
        return []
    per_run = [_settings(run) for run in runs]
    keys = list(dict.fromkeys(k for settings in per_run for k in settings))
    out = []
    for key in keys:
        values = [(run.name, settings[key]) for run, settings in zip(runs, per_run, strict=True) if key in settings]
        if len(values) > 1 and len({json.dumps(v, sort_keys=True, default=str) for _, v in values}) > 1:
            out.append(f"{key} ({', '.join(f'{name}: {value}' for name, value in values)})")
    return out
