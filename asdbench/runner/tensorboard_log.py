"""``--tensorboard``: the training curves of ``history.csv`` also as a TensorBoard event log.

One log directory per trial, ``<run>/tensorboard/<system>/seed-<k>``, so that
``tensorboard --logdir <run>/tensorboard`` shows every system and seed side by side. Scalars are
named ``train/<history column>`` with the epoch as the step.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..training.trainer import EpochStats
from .config import TENSORBOARD_MISSING, tensorboard_installed


def check_tensorboard() -> None:
    """Fail before any work when TensorBoard is asked for but not installed."""
    if not tensorboard_installed():
        raise ConfigError(TENSORBOARD_MISSING)


class TensorBoardLog:
    """Writes every epoch's :class:`EpochStats` to one trial's event file."""

    def __init__(self, log_dir: Path) -> None:
        check_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def add_epoch(self, stats: EpochStats) -> None:
        for name, value in stats.row().items():
            if name != "epoch":
                self.writer.add_scalar(f"train/{name}", value, stats.epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
