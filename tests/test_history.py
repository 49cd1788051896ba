"""Training curves: every epoch's losses, AdaCos scales, lr and speed, in history.csv."""

from __future__ import annotations

import pandas as pd
import pytest
from test_trainer import SAMPLES, C, _data

from asdbench.runner.history import TrainingHistory
from asdbench.systems import build_training_model, resolve_system
from asdbench.training.trainer import TrainConfig, Trainer


def _fit(epochs: int, history: TrainingHistory, checkpoint=None, progress=None):
    read, ids = _data()
    config = TrainConfig(epochs=epochs, batch_size=8, seed=1, device="cpu")
    model, pipeline = build_training_model(resolve_system("combined"), SAMPLES, C, seed=config.seed)
    trainer = Trainer(config, checkpoint=checkpoint, progress=progress, on_epoch=history.add)
    return trainer, trainer.fit(model, pipeline, read, ids, C)


def test_history_has_one_row_per_epoch_with_every_part_of_the_loss(tmp_path):
    path = tmp_path / "history.csv"
    shown = []
    trainer, model = _fit(2, TrainingHistory(path), progress=lambda e, s, n, loss: shown.append((e, s, n, loss())))
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["epoch", "loss", "loss_regular", "loss_ssl", "l2", "scale_regular",
                                   "scale_ssl", "lr", "seconds", "clips_per_s"]
    assert list(frame.epoch) == [1, 2]
    # the total is the heads plus the L2 term, all means over the epoch's clips
    parts = frame.loss_regular + frame.loss_ssl + frame.l2
    assert frame.loss.to_numpy() == pytest.approx(parts.to_numpy(), rel=1e-5)
    assert (frame.l2 > 0).all() and (frame.loss_ssl > 0).all()
    assert frame.scale_ssl.iloc[-1] == pytest.approx(float(model.heads["ssl"].scale))
    assert (frame.lr == 1e-3).all() and (frame.seconds > 0).all()
    assert frame.clips_per_s.to_numpy() == pytest.approx((24 / frame.seconds).to_numpy(), rel=1e-6)
    assert frame.loss.iloc[-1] == pytest.approx(trainer.last_epoch_loss)
    # the progress callback saw the running loss; at an epoch's last batch it is the epoch's mean
    last_of_epoch = [loss for e, s, n, loss in shown if s == n]
    assert last_of_epoch == pytest.approx(list(frame.loss), rel=1e-6)


def test_history_continues_after_a_resume(tmp_path):
    path, checkpoint = tmp_path / "history.csv", tmp_path / "checkpoint.pt"
    _fit(1, TrainingHistory(path), checkpoint=checkpoint)
    first = pd.read_csv(path)
    stale = pd.concat([first, first.assign(epoch=2, loss=99.0)])  # a row of a run killed before its checkpoint
    stale.to_csv(path, index=False)
    _fit(2, TrainingHistory(path), checkpoint=checkpoint)
    resumed = pd.read_csv(path)
    assert list(resumed.epoch) == [1, 2] and resumed.loss.iloc[1] != 99.0
    assert resumed.loss.iloc[0] == first.loss.iloc[0]


def test_tensorboard_log_holds_the_same_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from asdbench.runner.tensorboard_log import TensorBoardLog

    board = TensorBoardLog(tmp_path / "tb")
    _fit(2, TrainingHistory(tmp_path / "history.csv", tensorboard=board))
    board.close()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    frame = pd.read_csv(tmp_path / "history.csv")
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == [1, 2]
    assert [e.value for e in losses] == pytest.approx(list(frame.loss), rel=1e-6)
    assert "train/scale_ssl" in events.Tags()["scalars"]


def test_tensorboard_without_the_package_fails_before_any_work(monkeypatch):
    import importlib.util

    from asdbench.errors import ConfigError
    from asdbench.runner.config import make_config

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ConfigError, match="--tensorboard needs the tensorboard package"):
        make_config(None, {"tensorboard": True})
