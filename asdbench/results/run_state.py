"""Whether a run directory holds a complete run: what ``compare`` and ``plot`` say under a table.

Read from ``run.json`` only (no torch): the run's status, its trials' statuses and the process
that works on it (pid and host), so a run whose process died is told apart from one that is
still running.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .layout import RUN_FILE
from .records import RunRecord

PHRASES = {"finished": "finished", "failed": "finished with failed trials", "interrupted": "was interrupted",
           "running": "is still running", "died": "died (its process is gone)", "unknown": "has an unknown state"}


@dataclass
class RunState:
    """``complete`` is true for a finished run whose every trial is done."""

    path: Path
    status: str  # finished, failed, interrupted, running, died, unknown
    complete: bool
    trials: dict[str, int] = field(default_factory=dict)  # status -> count
    detail: str = ""

    def describe(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.trials.items()))
        text = f"{self.path.name}: run {PHRASES.get(self.status, self.status)}" + (f" ({counts} trials)" if counts else "")
        return text + (f"; {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "complete": self.complete, "trials": dict(self.trials), "detail": self.detail}


def process_alive(record: dict[str, Any]) -> bool | None:
    """Whether the recorded process still runs; None when it cannot be told (another host)."""
    if record.get("host") != socket.gethostname() or not isinstance(record.get("pid"), int):
        return None
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_run_state(run_dir: str | os.PathLike[str]) -> RunState:
    """The state of the run in ``run_dir``; a folder without run.json counts as complete."""
    path = Path(run_dir)
    if not (path / RUN_FILE).is_file():  # results from elsewhere (only results.csv): nothing to say
        return RunState(path, "unknown", True)
    try:
        raw = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return RunState(path, "unknown", False, detail=f"no readable {RUN_FILE}")
    if not isinstance(raw, dict):
        return RunState(path, "unknown", False, detail=f"{RUN_FILE} is not an object")
    if "status" not in raw:  # not written by `asdbench run` (e.g. only the systems)
        return RunState(path, "unknown", True)
    try:
        meta = RunRecord.from_json(raw)
    except TypeError:
        return RunState(path, "unknown", False, detail=f"{RUN_FILE} is not a run record")
    trials = meta.trial_counts()
    status = str(meta.status)
    detail = ""
    process = meta.process or {}
    if status == "running":
        alive = process_alive(process)
        if alive is False:
            status, detail = "died", f"process {process.get('pid')} on {process.get('host')} is gone; resume with --resume"
        elif alive is None and process:
            detail = f"process {process.get('pid')} on {process.get('host')} (cannot check from here)"
    elif status == "interrupted":
        detail = f"by {(meta.interrupted or {}).get('by', 'a signal')}; resume with --resume"
    complete = status == "finished" and set(trials) <= {"done"}
    return RunState(path, status, complete, trials, detail)
