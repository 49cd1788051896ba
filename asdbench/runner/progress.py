"""Progress of a run, shaped for where it is shown.

- On a terminal (``stderr`` is a TTY): tqdm bars, the overall one with the run's ETA, the inner
  one with the phase (``epoch 3/10`` in batches, ``embed`` in clips) and the running loss.
- Elsewhere (CI logs, ``| tee``, files): no bars and no cursor codes, one plain line per epoch
  and per finished trial.
- ``quiet``: nothing but failures and notes (finished trials a resume skips); ``verbose``:
  per-epoch lines on a terminal too.

The ETA counts epochs: from the first finished epoch on, the mean wall time per epoch so far
(extraction and scoring of earlier trials included) times the epochs still to train.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["RunProgress", "make_progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class RunProgress:
    """Reports trials, phases and epochs; the base class prints plain lines (no bars)."""

    def __init__(self, total_trials: int, finished: int, epochs_to_train: int, *, verbose: bool = False,
                 quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total_trials = total_trials
        self.finished = finished
        self.epochs_to_train = epochs_to_train
        self.epochs_done = 0
        self.verbose = verbose
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.label = ""
        self.phase = ""

    # -- what the runner calls ----------------------------------------------------------------

    def trial_started(self, label: str) -> None:
        self.label, self.phase = label, ""

    def update(self, phase: str, step: int, total: int, running_loss: Callable[[], float] | None = None) -> None:
        """One batch of a training epoch (``running_loss`` given) or of extraction (clips)."""
        self.phase = phase
        if running_loss is not None and step == total:
            self.epochs_done += 1
            self.epoch_done(phase, running_loss())

    def epoch_done(self, phase: str, loss: float) -> None:
        self.line(f"{self.label} {phase}: loss {loss:.4f}; {self.eta_text()}")

    def trial_done(self, text: str, failed: bool = False) -> None:
        self.finished += 1
        self.line(text, important=failed)

    def note(self, text: str) -> None:
        """What the run does besides training (e.g. skipping finished trials): shown even when quiet."""
        self.line(text, important=True)

    def close(self) -> None:
        """Nothing to clean up for plain lines."""

    # -- helpers ------------------------------------------------------------------------------

    def eta(self) -> float | None:
        if not self.epochs_done:
            return None
        per_epoch = (time.perf_counter() - self.started) / self.epochs_done
        return per_epoch * max(0, self.epochs_to_train - self.epochs_done)

    def eta_text(self) -> str:
        eta = self.eta()
        return "run ETA unknown" if eta is None else f"run ETA {format_duration(eta)}"

    def line(self, text: str, important: bool = False) -> None:
        """Print ``text`` unless quiet (failures are ``important``: always printed)."""
        if not self.quiet or important:
            print(text, file=self.stream, flush=True)


class BarProgress(RunProgress):
    """tqdm bars on a terminal; lines go above them (``tqdm.write``)."""

    REFRESH_S = 0.5  # the running loss costs a device sync: read it at most this often

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.outer = tqdm(total=self.total_trials, initial=self.finished, desc="trials", unit="trial",
                          file=self.stream, position=0)
        self.inner: Any = None
        self._shown_at = 0.0

    def trial_started(self, label: str) -> None:
        super().trial_started(label)
        if self.inner is not None:
            self.inner.close()
        self.inner = self._tqdm(desc=label, unit="batch", leave=False, file=self.stream, position=1)

    def update(self, phase: str, step: int, total: int, running_loss: Callable[[], float] | None = None) -> None:
        bar = self.inner
        if bar is not None and phase != self.phase:
            bar.reset(total=total)
            bar.unit = "batch" if running_loss is not None else "clip"
            bar.set_description(f"{self.label} {phase}")
        super().update(phase, step, total, running_loss)
        if bar is None:
            return
        now = time.perf_counter()
        if running_loss is not None and (now - self._shown_at >= self.REFRESH_S or step == total):
            self._shown_at = now
            bar.set_postfix_str(f"loss {running_loss():.4f}", refresh=False)
        bar.update(step - bar.n)

    def epoch_done(self, phase: str, loss: float) -> None:
        eta = self.eta()
        if eta is not None:
            self.outer.set_postfix_str(f"ETA {format_duration(eta)}")
        if self.verbose:
            super().epoch_done(phase, loss)

    def trial_done(self, text: str, failed: bool = False) -> None:
        self.outer.update(1)
        super().trial_done(text, failed)

    def line(self, text: str, important: bool = False) -> None:
        if not self.quiet or important:
            self._tqdm.write(text, file=self.stream)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
        self.outer.close()


def make_progress(total_trials: int, finished: int, epochs_to_train: int, *, quiet: bool = False,
                  verbose: bool = False, stream: TextIO | None = None) -> RunProgress:
    """Bars when ``stream`` (default stderr) is a terminal and not ``quiet``, plain lines otherwise."""
    stream = stream or sys.stderr
    terminal = hasattr(stream, "isatty") and stream.isatty()
    kind = BarProgress if terminal and not quiet else RunProgress
    return kind(total_trials, finished, epochs_to_train, verbose=verbose, quiet=quiet, stream=stream)
