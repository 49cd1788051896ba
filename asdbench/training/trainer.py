"""The training loop of the reference system (reference-system.md §4), with per-epoch checkpoints.

It takes built objects (a :class:`TrainingModel` and its :class:`AugmenterPipeline`, assembled
from a system spec by :func:`asdbench.systems.build_training_model`), so it never looks anything
up in the plugin registry and can be driven with any model in tests.

One seeded run is bit-for-bit repeatable on CPU: model initialisation uses ``torch.manual_seed``,
the batch order of epoch ``e`` depends only on ``(seed, e)``, and every augmenter draws from one
``torch.Generator`` whose state is saved in the checkpoint, so a resumed run continues exactly.

Speed (docs/scaling.md): the next batch is read by a background thread while the current one
trains (:mod:`.inference`; the batch order is unchanged, so results are too); on CPU freed
activations are kept for the next step (:func:`asdbench.allocator.host_memory_reuse`); on CUDA
batches go through pinned memory with non-blocking copies and the step has no host
synchronisation. Options that change numbers stay off by default: ``precision`` and ``compile``
(:mod:`.device`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..allocator import host_memory_reuse
from ..atomic import atomic_torch_save
from ..components import Embedder
from ..errors import ConfigError
from ..results.layout import CORRUPT_SUFFIX
from .device import autocast_context, compile_embedder, pick_device, resolve_precision
from .inference import BatchSource, host_batch, prefetched, to_device
from .pipeline import AugmenterPipeline, Labels


@dataclass
class TrainConfig:
    """How the loop trains (the model and its losses are built beforehand, from the system)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    adam_eps: float = 1e-7
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 (CPU/CUDA autocast) | fp16 (CUDA autocast + loss scaling) | auto
    channels_last: bool = False
    compile: bool = False  # torch.compile the sub-networks for training (see compile_embedder)
    prefetch: bool = True  # read the next batch in a background thread (changes no number)
    reuse_host_memory: bool = True  # keep freed host memory for the next step (see host_memory_reuse)


class TrainingModel(nn.Module):
    """The embedder plus its loss heads: the unit that is trained and checkpointed.

    ``ssl_class_labels``: whether the SSL head's labels are the class labels times the
    augmenters' pseudo-classes (the paper) or the pseudo-classes alone."""

    def __init__(self, embedder: Embedder, heads: dict[str, nn.Module], ssl_class_labels: bool = True):
        super().__init__()
        self.embedder = embedder
        self.heads = nn.ModuleDict(heads)
        self.ssl_class_labels = ssl_class_labels


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled clip order of one epoch; depends only on (seed, epoch)."""
    return np.random.default_rng([seed, epoch, 0x5EED]).permutation(n)


def batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive batches of ``order``; a final batch of one clip is dropped (batch norm needs two)."""
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        if len(chunk) >= 2:
            yield chunk


@dataclass
class EpochStats:
    """What one training epoch measured: one row of a trial's ``history.csv``.

    Losses are means over the epoch's clips; ``head_losses`` has one entry per loss head
    (``regular``, ``ssl``), ``l2`` is the embedder's weight penalty (part of ``loss``),
    ``scales`` the adaptive scale of every head that has one (AdaCos), read at the epoch's end."""

    epoch: int  # 1-based
    loss: float
    head_losses: dict[str, float]
    l2: float
    scales: dict[str, float]
    lr: float
    seconds: float
    clips_per_s: float

    def row(self) -> dict[str, float]:
        return {
            "epoch": self.epoch, "loss": self.loss,
            **{f"loss_{name}": value for name, value in self.head_losses.items()},
            "l2": self.l2, **{f"scale_{name}": value for name, value in self.scales.items()},
            "lr": self.lr, "seconds": self.seconds, "clips_per_s": self.clips_per_s,
        }


Progress = Callable[[int, int, int, Callable[[], float]], None]
"""``progress(epoch, step, n_batches, running_loss)``; ``running_loss()`` syncs with the device,
so call it only when the value is shown."""


class Trainer:
    """Trains one system on one set of training clips."""

    def __init__(self, config: TrainConfig, checkpoint: Path | None = None,
                 progress: Progress | None = None, on_epoch: Callable[[EpochStats], None] | None = None):
        self.config = config
        self.checkpoint = checkpoint
        self.progress = progress
        self.on_epoch = on_epoch
        self.device = pick_device(config.device)
        self.precision = resolve_precision(self.device, config.precision)
        # fp16 needs loss scaling against gradient underflow; disabled it passes everything through.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.timings: dict[str, float] = {}

    def fit(self, model: TrainingModel, pipeline: AugmenterPipeline, read: BatchSource, class_ids: np.ndarray,
            n_classes: int) -> TrainingModel:
        """Train ``model`` on clips ``0..len(class_ids)-1`` of ``read`` (class ``class_ids[i]`` of
        ``n_classes``); returns it trained, in eval mode, on the trainer's device."""
        cfg = self.config
        model.to(self.device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
        if cfg.compile:
            compile_embedder(model.embedder)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=cfg.lr, betas=(0.9, 0.999), eps=cfg.adam_eps)
        generator = torch.Generator().manual_seed(cfg.seed)
        start_epoch = self._resume(model, optimizer, generator)
        eye = torch.eye(n_classes)
        ids = torch.as_tensor(class_ids, dtype=torch.long)
        pin = self.device.type == "cuda"
        load_wave = host_batch(read, pin)

        def load(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            y = eye[ids[torch.from_numpy(idx)]]
            return load_wave(idx), (y.pin_memory() if pin else y)

        n_batches = sum(1 for _ in batches(np.arange(len(class_ids)), cfg.batch_size))
        started = time.perf_counter()
        with host_memory_reuse(cfg.reuse_host_memory and self.device.type == "cpu"):
            self._epochs(model, pipeline, optimizer, generator, load, start_epoch, len(class_ids), n_batches)
        self.timings["train_s"] = time.perf_counter() - started
        model.eval()
        return model

    def _epochs(self, model: TrainingModel, pipeline: AugmenterPipeline, optimizer: torch.optim.Optimizer,
                generator: torch.Generator, load: Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]],
                start_epoch: int, n_clips: int, n_batches: int) -> None:
        cfg = self.config
        for epoch in range(start_epoch, cfg.epochs):
            model.train()
            started = time.perf_counter()
            sums: dict[str, torch.Tensor] = {}
            seen = 0
            order = batches(epoch_order(n_clips, cfg.seed, epoch), cfg.batch_size)
            for step, (idx, (wave, y)) in enumerate(prefetched(load, order, cfg.prefetch)):
                loss, parts = self._step(model, pipeline, optimizer, generator, to_device(wave, self.device),
                                         to_device(y, self.device))
                for name, value in {"loss": loss, **parts}.items():  # summed on the device: no sync
                    sums[name] = sums.get(name, 0) + value * len(idx)
                seen += len(idx)
                if self.progress is not None:
                    self.progress(epoch, step + 1, n_batches,
                                  lambda total=sums["loss"], n=seen: float(total) / n)
            means = {name: float(value) / max(seen, 1) for name, value in sums.items()}  # one sync per epoch
            self.last_epoch_loss = means.get("loss", float("nan"))
            if self.on_epoch is not None:  # before the checkpoint: a resumed epoch replaces its row
                seconds = time.perf_counter() - started
                self.on_epoch(EpochStats(
                    epoch=epoch + 1, loss=self.last_epoch_loss,
                    head_losses={h: means[h] for h in model.heads if h in means}, l2=means.get("l2", 0.0),
                    scales=_head_scales(model), lr=float(optimizer.param_groups[0]["lr"]),
                    seconds=seconds, clips_per_s=seen / max(seconds, 1e-9)))
            self._save_checkpoint(model, optimizer, generator, epoch)

    def _step(self, model: TrainingModel, pipeline: AugmenterPipeline, optimizer: torch.optim.Optimizer,
              generator: torch.Generator, wave: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One optimisation step: :meth:`_loss`, then backward and the optimiser update. Returns the
        detached loss and its parts (see :meth:`_loss`)."""
        loss, parts = self._loss(model, pipeline, generator, wave, y)
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
        return loss.detach(), parts

    def _loss(self, model: TrainingModel, pipeline: AugmenterPipeline, generator: torch.Generator,
              wave: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The step's loss and its detached parts: ``l2`` (the weight penalty) and one per head. The embedder runs under autocast (when asked for); the loss heads and
        the weight penalty always run in float32 (cosines in bf16 would carry ~3 digits).

        A function of its own so that its intermediates (the augmented waveforms, the front-end's
        features: ~0.3 GB at the paper preset) are freed before the backward pass, whose start
        is the step's memory peak; autograd keeps only what the gradients need."""
        labels = Labels(y, y if model.ssl_class_labels else torch.ones(len(y), 1, device=y.device))
        with autocast_context(self.device, self.precision):
            wave, labels = pipeline.apply("waveform", wave, labels, generator)
            features = model.embedder.features(wave)
            del wave
            features, labels = pipeline.apply("features", features, labels, generator)
            sub = model.embedder.encode(features)
            del features
            regular_embedding = model.embedder.combine(sub)
            sub, labels = pipeline.apply("embedding", sub, labels, generator)
            ssl_embedding = model.embedder.combine(sub) if "ssl" in model.heads else None
        loss = model.embedder.regularization()
        parts = {"l2": loss.detach()}
        if "regular" in model.heads:
            head_loss = model.heads["regular"](regular_embedding.float(), labels.regular)
            parts["regular"] = head_loss.detach()
            loss = loss + head_loss
        if ssl_embedding is not None:
            head_loss = model.heads["ssl"](ssl_embedding.float(), labels.ssl)
            parts["ssl"] = head_loss.detach()
            loss = loss + head_loss
        return loss, parts

    # -- checkpoints --------------------------------------------------------------------------

    def _resume(self, model: TrainingModel, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        if self.checkpoint is None or not self.checkpoint.exists():
            return 0
        try:
            state = torch.load(self.checkpoint, map_location=self.device, weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            generator.set_state(state["generator"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            return int(state["epoch"]) + 1
        except Exception as exc:  # truncated, from another model, not a checkpoint at all
            aside = self.checkpoint.with_name(self.checkpoint.name + CORRUPT_SUFFIX)
            os.replace(self.checkpoint, aside)
            raise CorruptCheckpoint(
                f"{self.checkpoint}: corrupt checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                f"moved to {aside.name}, --resume retrains this trial from scratch") from exc

    def _save_checkpoint(self, model: TrainingModel, optimizer: torch.optim.Optimizer,
                         generator: torch.Generator, epoch: int) -> None:
        if self.checkpoint is None:
            return
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(), "epoch": epoch}
        if self.scaler.is_enabled():
            state["scaler"] = self.scaler.state_dict()
        atomic_torch_save(state, self.checkpoint)


def _head_scales(model: TrainingModel) -> dict[str, float]:
    """The adaptive scale of every head that keeps one as a ``scale`` buffer (AdaCos)."""
    scales = {}
    for name, head in model.heads.items():
        scale = getattr(head, "scale", None)
        if isinstance(scale, torch.Tensor) and scale.numel() == 1:
            scales[name] = float(scale)
    return scales


class CorruptCheckpoint(ConfigError):
    """A checkpoint that cannot be loaded; the message names the file and what happens next."""
