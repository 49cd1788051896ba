"""``--executor ray``: one Ray task per trial, watched from the driver.

The driver never blocks for long: it waits for results one second at a time and in between reads
each running trial's ``worker.json`` and ``progress.json`` (``ray_worker``) to print where trials
started and which epoch they are in, and to stop a trial that exceeds ``--trial-timeout``
(``ray.cancel(force=True)`` kills its worker). A worker that dies or a node that is lost fails
only its own trial, recorded with the node, worker id, Ray's log files of that worker and the last
lines of the trial's ``worker.log``. With ``--max-retries N`` Ray re-runs a trial whose worker died
(a preempted node) up to N times; the retry continues from the trial's last epoch checkpoint.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..results.layout import TRIAL_FILE
from ..results.records import TrialRecord
from .config import RunConfig
from .executors import OnDone, worker_lost
from .ray_connect import RaySession
from .ray_worker import LOG_FILE, PROGRESS_FILE, WORKER_FILE, ray_trial
from .trial import Trial, trial_dir

POLL_S = 1.0
_NOT_SHARED = ("the trial finished on its node, but its files are not in {folder} here: --out (and "
               "ASDBENCH_HOME) must be on a file system that every node and this machine share")
LOG_TAIL_LINES = 20
ERROR_DETAIL_CHARS = 4000


@dataclass
class _Watch:
    """What the driver knows about one submitted trial."""

    trial: Trial
    folder: Path
    attempt: int = 0
    started: float | None = None  # driver clock when the current attempt was first seen
    phase: str = ""
    timed_out: bool = False

    def read(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.folder / name).read_text())
        except (OSError, ValueError):
            return {}


def log_tail(folder: Path, name: str = LOG_FILE, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        return (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (Ray's messages go on for pages; the rest is kept in
    the record's ``error_detail``)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _poll(watch: _Watch, config: RunConfig, ray: Any, ref: Any, progress: Callable[[str], None] | None) -> None:
    worker = watch.read(WORKER_FILE)
    attempt = int(worker.get("attempt", 0) or 0)
    label = f"{watch.trial.system} seed {watch.trial.seed}"
    if attempt != watch.attempt:
        watch.attempt, watch.started, watch.phase = attempt, time.monotonic(), ""
        if progress is not None:
            again = f" (attempt {attempt})" if attempt > 1 else ""
            progress(f"{label}: started on {worker.get('host')} ({worker.get('node_ip')}){again}")
    phase = watch.read(PROGRESS_FILE).get("phase", "") if attempt else ""
    if phase and phase != watch.phase:
        watch.phase = phase
        if progress is not None:
            progress(f"{label}: {phase}")
    if (config.trial_timeout is not None and watch.started is not None and not watch.timed_out
            and time.monotonic() - watch.started > config.trial_timeout):
        watch.timed_out = True
        ray.cancel(ref, force=True)


def _collect(ray: Any, ref: Any, watch: _Watch, config: RunConfig) -> dict[str, Any]:
    """The trial's record: its own, or one the driver writes for a worker that never reported."""
    try:
        return ray.get(ref)
    except Exception as exc:  # WorkerCrashedError, node lost, TaskCancelledError, ...
        where = watch.read(WORKER_FILE) or None
        record = worker_lost(watch.trial, _first_line(exc), worker=where, error_detail=str(exc)[:ERROR_DETAIL_CHARS])
        if watch.timed_out:
            record["error"] = f"timed out after --trial-timeout {config.trial_timeout:g} s ({watch.phase or 'starting'})"
        record["log"] = str(watch.folder / LOG_FILE)
        record["log_tail"] = log_tail(watch.folder)
        for key in ("ray_log_out", "ray_log_err"):  # readable here when the node is this machine
            path = Path((where or {}).get(key) or "/nonexistent")
            if path.is_file():
                record[f"{key}_tail"] = log_tail(path.parent, path.name)
        TrialRecord.from_json(record).save(watch.folder / TRIAL_FILE)
        return record


def _show_failure(watch: _Watch, record: dict[str, Any]) -> None:
    worker = record.get("worker") or {}
    where = f" on {worker.get('host')} ({worker.get('node_ip')}), worker {worker.get('worker_id')}" if worker else ""
    tail = record.get("log_tail") or log_tail(watch.folder)
    lines = [f"{watch.trial.key} failed{where}; last lines of {watch.folder / LOG_FILE}:"]
    lines += [f"    {line}" for line in tail] or ["    (empty: the worker died before the trial started)"]
    if worker.get("ray_log_err"):
        lines.append(f"  Ray's log of that worker: {worker['ray_log_err']} (on that node)")
    tqdm.write("\n".join(lines), file=sys.stderr)


def run_ray(config: RunConfig, trials: list[Trial], run_dir: Path, on_done: OnDone, session: RaySession,
            progress: Callable[[str], None] | None = None) -> None:
    """Submit every trial as a task of ``session.request`` CPUs/GPUs and report each as it ends."""
    ray = session.ray
    run_dir = run_dir.resolve()
    watches = []
    for trial in trials:
        folder = trial_dir(run_dir, trial)
        for name in (WORKER_FILE, PROGRESS_FILE):  # stale ones from an earlier execution of the run
            (folder / name).unlink(missing_ok=True)
        watches.append(_Watch(trial, folder))
    task = ray.remote(num_cpus=session.request.cpus, num_gpus=session.request.gpus,
                      max_retries=config.max_retries, retry_exceptions=False,
                      runtime_env=session.task_env)(ray_trial)
    config_dict = config.to_dict()
    refs = {task.remote(config_dict, w.trial, str(run_dir)): w for w in watches}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
        for ref in pending:
            _poll(refs[ref], config, ray, ref, progress)
        for ref in ready:
            watch = refs[ref]
            record = _collect(ray, ref, watch, config)
            if record.get("status") == "done" and not (watch.folder / TRIAL_FILE).exists():
                record = {**record, "status": "failed", "error": _NOT_SHARED.format(folder=watch.folder)}
            if record.get("status") != "done":
                _show_failure(watch, record)
            on_done(watch.trial, record)
