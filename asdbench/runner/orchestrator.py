"""Runs a whole experiment: run directory, trials (skipping finished ones), ensembles, results.

Only this process writes ``run.json`` and ``results.csv`` (atomically); trials write their own
folders and ``trial.json`` last. So a run killed at any moment resumes with ``--resume``: finished
trials are kept, unfinished ones restart from their last epoch checkpoint.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_write_json, atomic_write_text
from ..errors import ConfigError
from ..results.layout import backend_dir
from ..systems import describe_system, resolve_system
from .config import RunConfig
from .ensemble import build_ensemble, ensemble_metrics
from .processes import process_record
from .trial import Trial, read_trial_status, trial_dir

RESULT_COLUMNS = ["system", "seed", "backend", "split", "machine", "section", "domain", "metric", "value"]


def versions() -> dict[str, Any]:
    """Versions of everything that can change a number: asdbench, torch, numpy, every plugin;
    and the memory allocator (it changes speed and memory, never a number)."""
    import numpy
    import sklearn
    import torch

    from .. import __version__
    from ..allocator import loaded_allocator
    from ..plugins import describe_plugins

    plugins = {}
    for row in describe_plugins():
        plugins[row["name"]] = {"distribution": row["distribution"], "version": row["version"], "status": row["status"]}
    return {"asdbench": __version__, "asdbench_git": source_revision(), "torch": torch.__version__,
            "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "allocator": loaded_allocator(), "plugins": plugins}


def source_revision() -> dict[str, Any] | None:
    """The git commit asdbench runs from (and whether it has uncommitted changes), for installs
    from a checkout (``pip install -e``), where the version number alone does not say which code
    made a number; None for installed releases or without git."""
    root = Path(__file__).resolve().parents[2]
    try:
        top, commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                                     capture_output=True, text=True, timeout=10, check=True).stdout.splitlines()
        if Path(top).resolve() != root:  # e.g. a site-packages inside some other repository
            return None
        changes = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return {"commit": commit, "dirty": bool(changes.strip())}


def default_run_name() -> str:
    return datetime.now().strftime("run-%Y%m%d-%H%M%S")


@dataclass
class RunState:
    """The content of run.json, kept in memory and rewritten atomically on every change."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    def save(self) -> None:
        atomic_write_json(self.path, self.data)

    def set_trial(self, trial: Trial, record: dict[str, Any]) -> None:
        summary = {k: v for k, v in record.items() if k not in ("traceback", "resolved", "runtime", "error_detail")}
        runtime = record.get("runtime") or {}
        summary.update({k: runtime[k] for k in ("host", "device", "threads") if k in runtime})
        self.data.setdefault("trials", {})[trial.key] = summary
        self.save()


def trials_of(config: RunConfig) -> list[Trial]:
    return [Trial(system, seed) for system in config.systems for seed in config.seeds]


def collect_results(run_dir: Path, config: RunConfig) -> pd.DataFrame:
    """All metric rows of finished trials and ensembles, as the tidy results.csv table."""
    frames = []
    for trial in trials_of(config):
        status = read_trial_status(run_dir, trial)
        if not status or status.get("status") != "done":
            continue
        for backend in config.backends:
            path = backend_dir(run_dir, trial.system, trial.seed, backend) / "metrics.csv"
            if path.exists() and path.stat().st_size > 1:
                frame = pd.read_csv(path, dtype={"section": str})
                frames.append(frame.assign(system=trial.system, seed=str(trial.seed), backend=backend))
    for system in config.systems:
        for backend in config.backends:
            frame = ensemble_metrics(run_dir, system, backend)
            if frame is not None and len(frame):
                frames.append(frame.assign(system=system, seed="ensemble", backend=backend))
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    return table[RESULT_COLUMNS]


def write_results(run_dir: Path, config: RunConfig) -> pd.DataFrame:
    table = collect_results(run_dir, config)
    atomic_write_text(run_dir / "results.csv", table.to_csv(index=False))
    return table


def start_run(config: RunConfig, run_dir: Path, resume: bool, execution: dict[str, Any] | None = None) -> RunState:
    """Create (or reopen with ``resume``) the run directory and its run.json. ``execution`` (the
    executor, its options and cluster) is appended to ``executions``: a resumed run may run on
    another executor or cluster than before, and ``config`` holds the latest executor options.
    Systems and seeds a resumed run adds become pending trials."""
    path = run_dir / "run.json"
    if resume:
        state = RunState(path, json.loads(path.read_text()))
        state.data["status"] = "running"
        state.data.setdefault("resumed_at", []).append(_now())
        state.data["config"] = config.to_dict()
        state.data["seeds"] = config.seeds
        systems = state.data.setdefault("systems", {})
        for spec in config.systems:
            if spec not in systems:
                systems[spec] = describe_system(spec, resolve_system(spec))
        trials = state.data.setdefault("trials", {})
        for t in trials_of(config):
            trials.setdefault(t.key, {"system": t.system, "seed": t.seed, "status": "pending"})
    else:
        if path.exists():
            raise ConfigError(f"--out: {run_dir} already holds a run; use --resume to continue it or choose another --name")
        run_dir.mkdir(parents=True, exist_ok=True)
        systems = {spec: describe_system(spec, resolve_system(spec)) for spec in config.systems}
        state = RunState(path, {
            "asdbench_run": 1,
            "created_at": _now(),
            "status": "running",
            "command": sys.argv,
            "config": config.to_dict(),
            "seeds": config.seeds,
            "systems": systems,
            "versions": versions(),
            "trials": {t.key: {"system": t.system, "seed": t.seed, "status": "pending"} for t in trials_of(config)},
        })
    if execution is not None:
        state.data.setdefault("executions", []).append({"at": _now(), **execution})
    state.data["process"] = process_record()
    state.save()
    return state


def mark_interrupted(state: RunState, run_dir: Path, config: RunConfig, reason: str) -> None:
    """A signal ended the run: the run and every trial that had started are ``interrupted``."""
    for t in trials_of(config):
        record = state.data["trials"].get(t.key, {})
        status = (read_trial_status(run_dir, t) or {}).get("status")
        if status != "done" and record.get("status") not in ("done", "failed") and trial_dir(run_dir, t).exists():
            state.data["trials"][t.key] = {**record, "system": t.system, "seed": t.seed, "status": "interrupted"}
    state.data["status"] = "interrupted"
    state.data["interrupted"] = {"at": _now(), "by": reason}
    state.save()


def finish_run(state: RunState, run_dir: Path, config: RunConfig, dataset_version: str) -> pd.DataFrame:
    """Ensembles for systems with two or more finished seeds, then results.csv and the final status."""
    ensembles = {}
    for system in config.systems:
        for backend in config.backends:
            try:
                result = build_ensemble(run_dir, system, config.seeds, backend, dataset_version)
            except Exception as exc:  # an ensemble failure must not hide the trials' results
                result = {"error": f"{type(exc).__name__}: {exc}"}
            if result is not None:
                ensembles[f"{system}/{backend}"] = result
    state.data["ensembles"] = ensembles
    table = write_results(run_dir, config)
    failed = [k for k, v in state.data["trials"].items() if v.get("status") != "done"]
    state.data["status"] = "failed" if failed else "finished"
    state.data["finished_at"] = _now()
    state.save()
    return table


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
