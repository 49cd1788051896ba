"""Where trials run: in this process or in parallel local processes (Ray: ``ray_executor``).

Every executor calls the same :func:`run_trial` with the run's ``--threads`` and writes into the
same run directory, so ``--resume`` and the results do not depend on the executor. A worker that
crashes fails only its own trial: ``--workers N`` gives every trial its own spawned process (a
``ProcessPoolExecutor`` would mark all pending trials broken when one worker dies).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ..results.records import TrialRecord
from .config import RunConfig
from .processes import die_with_parent
from .trial import Trial, run_trial

OnDone = Callable[[Trial, dict[str, Any]], None]


def worker_lost(trial: Trial, reason: str, **details: Any) -> dict[str, Any]:
    """The record of a trial whose worker died before reporting (``details``: where it ran)."""
    return TrialRecord(trial.system, trial.seed, status="failed", error=f"worker lost: {reason}",
                       extra=details).to_json()


def _process_main(conn: Connection, config: dict[str, Any], trial: Trial, run_dir: str, parent: int | None = None) -> None:
    """Entry point of one trial's process: run it and send the record back. It dies with its
    parent (even ``kill -9``), so no orphan keeps writing into a run a later ``--resume`` works on."""
    if parent is not None:
        die_with_parent(parent)
    try:
        conn.send(run_trial(RunConfig(**config), trial, Path(run_dir)))
    finally:
        conn.close()


def run_processes(config: RunConfig, trials: Iterable[Trial], run_dir: Path, on_done: OnDone) -> None:
    """``--workers N``: at most N trials at once, each in its own spawned process (no forked
    torch state) with ``--threads`` threads."""
    context = multiprocessing.get_context("spawn")
    pending = list(trials)
    running: dict[Connection, tuple[Any, Trial]] = {}
    try:
        _schedule(config, context, pending, running, run_dir, on_done)
    finally:  # interrupted (SIGINT/SIGTERM) or failing: no child outlives this call
        for process, _ in running.values():
            if process.is_alive():
                process.terminate()
        for process, _ in running.values():
            process.join(timeout=10)


def _schedule(config: RunConfig, context: Any, pending: list[Trial], running: dict[Connection, tuple[Any, Trial]],
              run_dir: Path, on_done: OnDone) -> None:
    while pending or running:
        while pending and len(running) < config.workers:
            trial = pending.pop(0)
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_process_main,
                                      args=(sender, config.to_dict(), trial, str(run_dir), os.getpid()),
                                      name=f"asdbench-trial-{trial.key}")
            process.start()
            sender.close()  # the child now holds the only writing end: EOF here when it dies
            running[receiver] = (process, trial)
        # Readable = the record arrived, or EOF because the process died without sending one.
        for receiver in wait(list(running)):
            process, trial = running.pop(receiver)  # type: ignore[call-overload]
            record = _receive(receiver)  # type: ignore[arg-type]
            process.join()
            if record is None:
                record = worker_lost(trial, f"process exited with code {process.exitcode} before reporting a result")
            on_done(trial, record)


def _receive(receiver: Connection) -> dict[str, Any] | None:
    try:
        return receiver.recv()
    except (EOFError, OSError):
        return None
    finally:
        receiver.close()
