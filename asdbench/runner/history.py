"""A trial's training curves: ``history.csv``, one row per epoch, rewritten atomically after each.

Columns: ``epoch`` (1-based), ``loss`` (mean total loss of the epoch's clips: heads + L2 term),
``loss_<head>`` per loss head (``regular``, ``ssl``), ``l2`` (the weight penalty),
``scale_<head>`` (the adaptive AdaCos scale at the epoch's end, for heads that have one), ``lr``,
``seconds`` (wall time of the epoch) and ``clips_per_s``. A resumed trial keeps the rows of the
epochs its checkpoint holds and continues after them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_write_text
from ..training.trainer import EpochStats


class TrainingHistory:
    """Collects :class:`EpochStats` and keeps ``path`` up to date (pass :meth:`add` as ``on_epoch``)."""

    def __init__(self, path: Path, tensorboard: Any | None = None) -> None:
        self.path = path
        self.tensorboard = tensorboard
        self.rows: dict[int, dict[str, float]] = {}
        if path.is_file():  # resumed: the rows written before the interruption
            previous = pd.read_csv(path)
            self.rows = {int(r["epoch"]): r for r in previous.to_dict("records")}

    def add(self, stats: EpochStats) -> None:
        # epochs after this one were computed by a run that died before checkpointing them
        self.rows = {e: r for e, r in self.rows.items() if e < stats.epoch}
        self.rows[stats.epoch] = stats.row()
        frame = pd.DataFrame([self.rows[e] for e in sorted(self.rows)])
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        atomic_write_text(self.path, buffer.getvalue())
        if self.tensorboard is not None:
            self.tensorboard.add_epoch(stats)

    def summary(self) -> dict[str, Any]:
        """Epochs and the last epoch's loss, for trial.json."""
        if not self.rows:
            return {"epochs": 0}
        last = self.rows[max(self.rows)]
        return {"epochs": len(self.rows), "final_loss": round(float(last["loss"]), 6)}
