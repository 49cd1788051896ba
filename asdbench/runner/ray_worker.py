"""The body of one Ray task: one trial, plus the files the driver reads while it runs.

In the trial folder (on the file system all nodes share):

- ``worker.json``: which node, worker and process run the trial, Ray's log files of that worker,
  and the attempt (``--max-retries``); written when the task starts, so the driver can say where
  a trial was when its worker died;
- ``progress.json``: the trial's current phase (``epoch 3/10``, ``embed``), read by the driver for
  its progress lines and by ``--trial-timeout``;
- ``worker.log``: a header per attempt, a note when an earlier attempt left ``checkpoint.pt`` (the
  trainer continues after its epoch), one line per phase, the traceback of a failure, and what
  ``faulthandler`` writes when the process dies of a signal; the driver shows its last lines when
  the trial fails.
"""

from __future__ import annotations

import faulthandler
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_json
from ..results.layout import CHECKPOINT_FILE, PROGRESS_FILE, WORKER_FILE
from ..results.layout import WORKER_LOG as LOG_FILE
from .config import RunConfig
from .trial import Trial, run_trial, trial_dir


def worker_identity() -> dict[str, Any]:
    """Node, worker and process of the current Ray task, and Ray's stdout/stderr files for it."""
    import ray

    context = ray.get_runtime_context()
    identity: dict[str, Any] = {"host": socket.gethostname(), "node_id": context.get_node_id(),
                                "node_ip": ray.util.get_node_ip_address(), "worker_id": context.get_worker_id(),
                                "pid": os.getpid()}
    for fd, key in ((1, "ray_log_out"), (2, "ray_log_err")):
        try:  # Ray points the worker's stdout and stderr at its log files
            identity[key] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            identity[key] = None
    return identity


def _attempt(folder: Path) -> int:
    """1 for the first run of this submission; the driver removes worker.json before submitting."""
    try:
        return int(json.loads((folder / WORKER_FILE).read_text()).get("attempt", 0)) + 1
    except (OSError, ValueError, AttributeError):
        return 1


def ray_trial(config: dict[str, Any], trial: Trial, run_dir: str) -> dict[str, Any]:
    """Run one trial inside a Ray task; the record carries where it ran (``worker``)."""
    folder = trial_dir(Path(run_dir), trial)
    folder.mkdir(parents=True, exist_ok=True)
    worker = {**worker_identity(), "attempt": _attempt(folder)}
    atomic_write_json(folder / WORKER_FILE, worker)
    with open(folder / LOG_FILE, "a", encoding="utf-8", buffering=1) as log:
        log.write(f"--- {trial.key} attempt {worker['attempt']} on {worker['host']} ({worker['node_ip']}), "
                  f"worker {worker['worker_id']}, pid {worker['pid']}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        if (folder / CHECKPOINT_FILE).is_file():
            log.write(f"{CHECKPOINT_FILE} of an earlier attempt found: training continues after its last epoch\n")
        faulthandler.enable(log)  # a segfault or abort leaves its stack here
        shown = [""]

        def progress(phase: str, step: int, total: int, running_loss: object = None) -> None:
            if phase != shown[0]:
                shown[0] = phase
                atomic_write_json(folder / PROGRESS_FILE, {"phase": phase, "attempt": worker["attempt"]})
                log.write(f"{time.strftime('%H:%M:%S')} {phase}\n")

        try:
            record = run_trial(RunConfig(**config), trial, Path(run_dir), progress=progress,
                               context={"worker": worker})
        finally:
            faulthandler.disable()
        if record["status"] == "done":
            log.write(f"{time.strftime('%H:%M:%S')} done in {record['timings'].get('total_s', 0):.0f} s\n")
        else:
            log.write(record.get("traceback") or f"{record.get('error')}\n")
    return record
