"""The Python API for notebooks and scripts: run an experiment, open a run, score new clips.

Three entry points, documented with an executed example in ``docs/api.md``:

* :func:`run` trains and scores an experiment (the options of ``asdbench run``, as keywords);
* :func:`open_run` opens a run directory: its leaderboard and results as DataFrames;
* :func:`load_system` loads a trained trial or a system's ensemble to score files or folders.

Importing this module is cheap; torch is imported when something is trained or scored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError
from .results.layout import RESULTS_FILE, RUN_FILE
from .results.records import RunRecord
from .trained import TrainedSystem, load_system

__all__ = ["Run", "TrainedSystem", "leaderboard", "load_system", "open_run", "run"]

PathLike = str | os.PathLike[str]


@dataclass
class Run:
    """A run directory: ``run.json`` as a :class:`~asdbench.results.records.RunRecord` and
    ``results.csv`` as a DataFrame."""

    path: Path
    record: RunRecord
    results: pd.DataFrame

    @property
    def meta(self) -> dict[str, Any]:
        """``run.json`` as a dict."""
        return self.record.to_json()

    @property
    def systems(self) -> list[str]:
        return list(self.record.config.get("systems", []))

    @property
    def failed(self) -> list[str]:
        return self.record.failed_trials()

    def leaderboard(self, metrics: Sequence[str] | None = None, backend: str | None = None,
                    by_machine: bool = False) -> pd.DataFrame:
        """What ``asdbench compare RUN --format csv`` shows: one row per system, trial and cell
        (``mean``, ``std`` over seeds, ``n``), fractions (not percent)."""
        return leaderboard(self, metrics=metrics, backend=backend, by_machine=by_machine)

    def system(self, name: str, seed: int | None = None, backend: str | None = None) -> TrainedSystem:
        """A trained system of this run: one seed's trial, or (``seed=None``) the ensemble."""
        from .results.layout import trial_dir

        if name not in self.systems:
            raise DataError(f"{self.path}: no system {name!r} (systems: {', '.join(self.systems)})")
        folder = trial_dir(self.path, name, seed) if seed is not None else trial_dir(self.path, name, 0).parent
        return load_system(folder, backend)


def open_run(path: PathLike) -> Run:
    """The finished (or partly finished) run directory at ``path``."""
    from .results.tables import read_results_table

    folder = Path(path).expanduser()
    meta_path = folder / RUN_FILE
    if not meta_path.is_file():
        raise DataError(f"{folder}: no {RUN_FILE} (not an asdbench run directory)")
    results_path = folder / RESULTS_FILE
    results = read_results_table(results_path) if results_path.is_file() else pd.DataFrame()
    return Run(folder, RunRecord.load(meta_path), results)


def run(out: PathLike = "runs", name: str | None = None, *, resume: bool = False, progress: bool = False,
        **options: Any) -> Run:
    """Train and score an experiment; returns the opened run directory ``out/name``.

    ``options`` are the fields of the run configuration (the TOML keys, e.g. ``systems``,
    ``seeds``, ``data``, ``epochs``, ``backends``); unknown ones are an error before any work."""
    from .runner.config import given_values, make_config, resume_config
    from .runner.execute import execute
    from .runner.orchestrator import default_run_name
    from .runner.resume import load_stored_config

    folder = Path(out) / (name or default_run_name())
    config_file = options.pop("config", None)
    if resume:  # executor options may change, anything else must match the stored run
        config = resume_config(load_stored_config(folder), given_values(config_file, options))
    else:
        config = make_config(config_file, options)
    execute(config, folder, resume=resume, show_progress=progress)
    return open_run(folder)


def leaderboard(*runs: PathLike | Run, metrics: Sequence[str] | None = None, backend: str | None = None,
                by_machine: bool = False) -> pd.DataFrame:
    """The leaderboard of one or more run directories as ``asdbench compare RUN... --format csv``
    prints it: one row per run/system, trial and cell, with ``mean``, ``std`` over seeds and
    ``n`` (fractions, not percent)."""
    from .reports.leaderboard import build_leaderboard, leaderboard_records
    from .results.runs import load_runs

    if not runs:
        raise DataError("leaderboard: give at least one run directory")
    folders = [run.path if isinstance(run, Run) else Path(run).expanduser() for run in runs]
    board = build_leaderboard(load_runs(folders), metrics=metrics, backend=backend, by_machine=by_machine)
    return pd.DataFrame(leaderboard_records(board))
