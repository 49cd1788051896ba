"""Load the results of one or more run directories into one tidy frame.

Reads ``<run>/results.csv`` (required) and ``<run>/run.json`` (optional). From run.json only two
things are used: ``name`` (a label for the run; default: the folder name) and ``systems`` (a
list of names, or of objects with a ``name``) for the row order; everything else is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .layout import RESULTS_FILE, RUN_FILE
from .tables import read_results_table

__all__ = ["RunResults", "load_run", "load_runs"]

PathLike = str | os.PathLike[str]


@dataclass
class RunResults:
    path: Path
    name: str
    systems: list[str]  # in display order
    results: pd.DataFrame  # results.csv plus a "run" column


def _run_json(path: Path) -> dict:
    file = path / RUN_FILE
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: not valid JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _system_order(meta: dict, results: pd.DataFrame) -> list[str]:
    listed: list[str] = []
    for item in meta.get("systems", []) or []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name not in listed:
            listed.append(name)
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
    meta = _run_json(path)
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    name = name or path.resolve().name
    results.insert(0, "run", name)
    return RunResults(path, name, _system_order(meta, results), results)


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
