"""Runs a whole experiment: run directory, trials (skipping finished ones), ensembles, results.

Only this process writes ``run.json`` (a :class:`~asdbench.results.records.RunRecord`) and
``results.csv`` (atomically); trials write their own folders and ``trial.json`` last. So a run
killed at any moment resumes with ``--resume``: finished trials are kept, unfinished ones restart
from their last epoch checkpoint.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..results.layout import ENSEMBLE, METRICS_FILE, RESULTS_FILE, RUN_FILE, backend_dir
from ..results.records import RunRecord, TrialRecord
from ..results.tables import RESULTS_COLUMNS, read_metrics_table, write_results_table
from ..systems import describe_system, resolve_system
from .config import RunConfig
from .ensemble import build_ensemble, ensemble_metrics
from .processes import process_record
from .provenance import versions
from .scoring_step import decision_percentile, make_backend
from .trial import Trial, read_trial_record, trial_dir


def default_run_name() -> str:
    return datetime.now().strftime("run-%Y%m%d-%H%M%S")


@dataclass
class RunState:
    """run.json of a running experiment: the record, kept in memory and rewritten atomically on
    every change."""

    path: Path
    record: RunRecord

    def save(self) -> None:
        self.record.save(self.path)

    def set_trial(self, trial: Trial, record: TrialRecord | None) -> None:
        """Keep the summary of the trial's record (None: no trial.json yet, still pending)."""
        self.record.trials[trial.key] = (record or _pending(trial)).summary()
        self.save()

    def fail(self, error: str) -> None:
        self.record.status = "failed"
        self.record.error = error
        self.save()


def trials_of(config: RunConfig) -> list[Trial]:
    return [Trial(system, seed) for system in config.systems for seed in config.seeds]


def collect_results(run_dir: Path, config: RunConfig) -> pd.DataFrame:
    """All metric rows of finished trials and ensembles, as the tidy results.csv table."""
    frames = []
    for trial in trials_of(config):
        status = read_trial_record(run_dir, trial)
        if status is None or not status.done:
            continue
        for backend in config.backends:
            frame = read_metrics_table(backend_dir(run_dir, trial.system, trial.seed, backend) / METRICS_FILE)
            if frame is not None:
                frames.append(frame.assign(system=trial.system, seed=str(trial.seed), backend=backend))
    for system in config.systems:
        for backend in config.backends:
            frame = ensemble_metrics(run_dir, system, backend)
            if frame is not None and len(frame):
                frames.append(frame.assign(system=system, seed=ENSEMBLE, backend=backend))
    if not frames:
        return pd.DataFrame(columns=list(RESULTS_COLUMNS))
    table = pd.concat(frames, ignore_index=True)
    return table[list(RESULTS_COLUMNS)]


def write_results(run_dir: Path, config: RunConfig) -> pd.DataFrame:
    table = collect_results(run_dir, config)
    write_results_table(run_dir / RESULTS_FILE, table)
    return table


def _pending(trial: Trial) -> TrialRecord:
    return TrialRecord(trial.system, trial.seed, status="pending")


def start_run(config: RunConfig, run_dir: Path, resume: bool, execution: dict[str, Any] | None = None) -> RunState:
    """Create (or reopen with ``resume``) the run directory and its run.json. ``execution`` (the
    executor, its options and cluster) is appended to ``executions``: a resumed run may run on
    another executor or cluster than before, and ``config`` holds the latest executor options.
    Systems and seeds a resumed run adds become pending trials."""
    path = run_dir / RUN_FILE
    if resume:
        record = RunRecord.load(path)
        record.status = "running"
        record.resumed_at.append(_now())
        record.config = config.to_dict()
        record.seeds = config.seeds
        for spec in config.systems:
            if spec not in record.systems:
                record.systems[spec] = describe_system(spec, resolve_system(spec))
        for t in trials_of(config):
            record.trials.setdefault(t.key, _pending(t))
    else:
        if path.exists():
            raise ConfigError(f"--out: {run_dir} already holds a run; use --resume to continue it or choose another --name")
        run_dir.mkdir(parents=True, exist_ok=True)
        record = RunRecord(
            created_at=_now(), status="running", command=list(sys.argv), config=config.to_dict(), seeds=config.seeds,
            systems={spec: describe_system(spec, resolve_system(spec)) for spec in config.systems},
            versions=versions(), trials={t.key: _pending(t) for t in trials_of(config)},
        )
    if execution is not None:
        record.executions.append({"at": _now(), **execution})
    record.process = process_record()
    state = RunState(path, record)
    state.save()
    return state


def mark_interrupted(state: RunState, run_dir: Path, config: RunConfig, reason: str) -> None:
    """A signal ended the run: the run and every trial that had started are ``interrupted``."""
    for t in trials_of(config):
        summary = state.record.trials.get(t.key) or _pending(t)
        written = read_trial_record(run_dir, t)
        if (written is None or not written.done) and summary.status not in ("done", "failed") \
                and trial_dir(run_dir, t).exists():
            summary.status = "interrupted"
            state.record.trials[t.key] = summary
    state.record.status = "interrupted"
    state.record.interrupted = {"at": _now(), "by": reason}
    state.save()


def finish_run(state: RunState, run_dir: Path, config: RunConfig, dataset_version: str) -> pd.DataFrame:
    """Ensembles for systems with two or more finished seeds, then results.csv and the final status."""
    ensembles = {}
    percentiles = {backend: decision_percentile(make_backend(config, backend, 0)) for backend in config.backends}
    for system in config.systems:
        for backend in config.backends:
            try:
                result = build_ensemble(run_dir, system, config.seeds, backend, dataset_version, percentiles[backend])
            except Exception as exc:  # an ensemble failure must not hide the trials' results
                result = {"error": f"{type(exc).__name__}: {exc}"}
            if result is not None:
                ensembles[f"{system}/{backend}"] = result
    state.record.ensembles = ensembles
    table = write_results(run_dir, config)
    state.record.status = "failed" if state.record.failed_trials() else "finished"
    state.record.finished_at = _now()
    state.save()
    return table


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
