"""Honest process state: interruptions become a recorded state, children die with their parent,
and a run whose process died is recognisable from its ``run.json`` (pid and host; see
:func:`asdbench.results.run_state.process_alive`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class RunInterrupted(BaseException):
    """SIGINT or SIGTERM arrived while a run was working (a BaseException, like KeyboardInterrupt,
    so that no ``except Exception`` records it as a trial failure)."""

    def __init__(self, signum: int):
        super().__init__(SIGNAL_NAMES.get(signum, f"signal {signum}"))
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as shells report them


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM raise :class:`RunInterrupted` in the main thread; a
    second signal while cleaning up falls back to the default action."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        for sig in SIGNAL_NAMES:
            signal.signal(sig, signal.SIG_DFL if sig == signal.SIGTERM else signal.default_int_handler)
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNAL_NAMES}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def process_record() -> dict[str, Any]:
    """Who is working on a run right now (stored in run.json)."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def die_with_parent(parent_pid: int) -> None:
    """Make this (child) process end when its parent ends, even by ``kill -9``: Linux's
    ``PR_SET_PDEATHSIG``; a parent that is already gone ends the child at once."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)
