"""One trial = one system trained with one seed, then scored by every back-end.

The files it writes are listed in :mod:`asdbench.results.layout`; ``trial.json``
(:class:`~asdbench.results.records.TrialRecord`) is written last, so status ``done`` means the
trial is complete.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..allocator import serving_allocator
from ..atomic import atomic_save_npz, atomic_torch_save, atomic_write_text, remove_temporaries
from ..components import Clip
from ..results import layout
from ..results.records import TrialRecord
from ..systems import build_training_model, describe_system, resolve_system
from ..training.device import pick_device
from ..training.inference import extract_embeddings
from ..training.trainer import TrainConfig, Trainer
from .config import RunConfig
from .data import PreparedData, prepare
from .history import TrainingHistory
from .provenance import trial_runtime
from .scoring_step import score_backends
from .tensorboard_log import TensorBoardLog

INDEX_COLUMNS = ("matrix", "row", "file", "path", "machine", "section", "split", "subset", "domain", "label", "attribute")


@dataclass(frozen=True)
class Trial:
    system: str  # the spec string, i.e. the leaderboard row name
    seed: int

    @property
    def key(self) -> str:
        return f"{self.system}/seed-{self.seed}"


def trial_dir(run_dir: Path, trial: Trial) -> Path:
    return layout.trial_dir(run_dir, trial.system, trial.seed)


def read_trial_record(run_dir: Path, trial: Trial) -> TrialRecord | None:
    """The trial's ``trial.json``; None before it was written (or when it is unreadable)."""
    return TrialRecord.read(trial_dir(run_dir, trial) / layout.TRIAL_FILE)


def trial_finished(run_dir: Path, trial: Trial) -> bool:
    record = read_trial_record(run_dir, trial)
    return record is not None and record.done


def embedding_index(train: list[Clip], test: list[Clip]) -> pd.DataFrame:
    """What each row of ``embeddings.npz`` is: ``matrix`` (``train`` / ``test``) and ``row`` name the
    row, then the clip's fields (domain / label empty where unknown)."""
    rows = [
        {"matrix": matrix, "row": i, "file": c.file, "path": str(c.path), "machine": c.machine,
         "section": c.section, "split": c.split, "subset": c.subset, "domain": c.domain, "label": c.label,
         "attribute": c.attribute}
        for matrix, clips in (("train", train), ("test", test)) for i, c in enumerate(clips)
    ]
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def train_config(config: RunConfig, seed: int) -> TrainConfig:
    return TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=seed, device=config.device,
        precision=config.precision, channels_last=config.channels_last, reuse_host_memory=not config.low_memory,
    )


def build_model(config: RunConfig, system: Any, seed: int, clip_samples: int, n_classes: int) -> tuple[Any, Any]:
    """The run's embedder, loss and initial weights for ``system`` (see :func:`build_training_model`)."""
    return build_training_model(system, clip_samples, n_classes, seed=seed, embedder=config.embedder,
                                embedder_options=dict(config.embedder_options), loss=config.loss,
                                loss_options=dict(config.loss_options), init_weights=config.init_weights)


TrialProgress = Callable[..., None]
"""``progress(phase, step, total[, running_loss])``: ``running_loss`` (a callable) comes with the
training phases only."""


def run_trial(config: RunConfig, trial: Trial, run_dir: Path, data: PreparedData | None = None,
              progress: TrialProgress | None = None,
              context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, embed, score with ``config.threads`` intra-op threads; returns the trial record as
    JSON (also written to ``trial.json``, with ``context``, e.g. the Ray worker that ran it).
    Never raises for a failure inside the trial: the record then has status ``failed`` and the
    error."""
    out = trial_dir(run_dir, trial)
    out.mkdir(parents=True, exist_ok=True)
    remove_temporaries(out)  # only one process works on a trial at a time: any there now are stale
    # The allocator of the process that trains (a --workers process, a Ray worker): speed and memory only.
    record = TrialRecord(trial.system, trial.seed, allocator=serving_allocator(), extra=dict(context or {}))
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    try:
        set_threads(config.threads)
        record.runtime = trial_runtime(config.device)
        t0 = time.perf_counter()
        data = data if data is not None else prepare(config)
        record.timings["data_s"] = round(time.perf_counter() - t0, 3)
        system = resolve_system(trial.system)
        record.resolved = describe_system(trial.system, system)
        _train_and_score(config, trial, system, data, run_dir, record, progress)
        record.status = "done"
    except Exception as exc:  # recorded, the sweep goes on
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}"
        record.traceback = traceback.format_exc()
    finally:
        set_threads(previous_threads)
    record.timings["total_s"] = round(time.perf_counter() - started, 3)
    record.save(out / layout.TRIAL_FILE)
    return record.to_json()


def _train_and_score(config: RunConfig, trial: Trial, system: Any, data: PreparedData, run_dir: Path,
                     record: TrialRecord, progress: TrialProgress | None) -> None:
    out = trial_dir(run_dir, trial)
    cfg = train_config(config, trial.seed)
    n_train = len(data.train)

    def on_batch(epoch: int, step: int, total: int, running_loss: Callable[[], float]) -> None:
        if progress is not None:
            progress(f"epoch {epoch + 1}/{cfg.epochs}", step, total, running_loss)

    board = TensorBoardLog(layout.tensorboard_dir(run_dir, trial.system, trial.seed)) if config.tensorboard else None
    history = TrainingHistory(out / layout.HISTORY_FILE, tensorboard=board)
    trainer = Trainer(cfg, checkpoint=out / layout.CHECKPOINT_FILE, progress=on_batch, on_epoch=history.add)
    classes, class_ids = data.training_classes(system.training_classes)
    record.classes = len(classes)
    model, pipeline = build_model(config, system, trial.seed, int(data.cache.samples), len(classes))
    try:
        model = trainer.fit(model, pipeline, data.read_train, class_ids, len(classes))
    finally:
        if board is not None:
            board.close()
    record.timings["train_s"] = round(trainer.timings["train_s"], 3)
    record.history = {"file": layout.HISTORY_FILE, **history.summary()}
    record.train_clips_per_s = round(n_train * cfg.epochs / max(trainer.timings["train_s"], 1e-9), 2)
    atomic_torch_save(model.embedder.state_dict(), out / layout.WEIGHTS_FILE)

    t0 = time.perf_counter()
    n_all = n_train + len(data.test)
    embeddings = extract_embeddings(
        model.embedder, data.read_all, n_all, batch_size=cfg.batch_size, device=pick_device(cfg.device),
        precision=cfg.precision, reuse_host_memory=cfg.reuse_host_memory,
        progress=(lambda done, total: progress("embed", done, total)) if progress else None,
    )
    record.timings["extract_s"] = round(time.perf_counter() - t0, 3)
    train_emb, test_emb = embeddings[:n_train], embeddings[n_train:]
    atomic_write_text(out / layout.EMBEDDINGS_INDEX,
                      embedding_index(data.train, data.test).to_csv(index=False, lineterminator="\n"))
    atomic_save_npz(out / layout.EMBEDDINGS_FILE, train=train_emb, test=test_emb)

    record.backends = score_backends(config, trial.seed, data.train, data.test, train_emb, test_emb,
                                     lambda name: layout.backend_dir(run_dir, trial.system, trial.seed, name),
                                     data.scoring_edition)
    (out / layout.CHECKPOINT_FILE).unlink(missing_ok=True)


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
