"""The training loop of the reference system (reference-system.md §4), with per-epoch checkpoints.

One seeded run is bit-for-bit repeatable on CPU: model initialisation uses ``torch.manual_seed``,
the batch order of epoch ``e`` depends only on ``(seed, e)``, and every augmenter draws from one
``torch.Generator`` whose state is saved in the checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..components import Embedder, SystemSpec
from ..plugins import resolve
from ..systems import build_augmenters, label_factor
from .pipeline import AugmenterPipeline, Labels

BatchSource = Callable[[np.ndarray], np.ndarray]
"""Reads waveforms for clip indices: ``read(indices) -> float32 array (len(indices), samples)``."""


@dataclass
class TrainConfig:
    """Everything that decides a training run besides the data and the system."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    adam_eps: float = 1e-7
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 (CPU autocast) | fp16 (CUDA autocast) | auto
    embedder: str = "two-branch"
    embedder_options: dict[str, Any] = field(default_factory=dict)
    loss: str = "sub-cluster-adacos"
    loss_options: dict[str, Any] = field(default_factory=dict)
    channels_last: bool = False


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from ..errors import ConfigError

        raise ConfigError("--device cuda: no CUDA device is available (use --device auto or cpu)")
    return torch.device(name)


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision where asked for; 'auto' means fp16 on CUDA and fp32 on CPU."""
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


class TrainingModel(nn.Module):
    """The embedder plus its loss heads: the unit that is trained and checkpointed."""

    def __init__(self, embedder: Embedder, heads: dict[str, nn.Module]):
        super().__init__()
        self.embedder = embedder
        self.heads = nn.ModuleDict(heads)


def build_model(config: TrainConfig, system: SystemSpec, clip_samples: int, n_classes: int) -> tuple[TrainingModel, AugmenterPipeline]:
    """Embedder + heads for a system: regular head C classes with frozen centres, SSL head with
    ``C * prod(factors)`` classes (or only the pseudo-classes without class labels)."""
    torch.manual_seed(config.seed)
    embedder_options = {**config.embedder_options, **system.options.get("embedder", {})}
    embedder = resolve("embedder", config.embedder).factory(clip_samples, **embedder_options)
    augmenters = build_augmenters(system)
    loss_factory = resolve("loss", config.loss).factory
    loss_options = {**config.loss_options, **system.options.get("loss", {})}
    heads: dict[str, nn.Module] = {}
    if "regular" in system.heads:
        heads["regular"] = loss_factory(embedder.embedding_dim, n_classes, False, **loss_options)
    if "ssl" in system.heads:
        base = n_classes if system.ssl_class_labels else 1
        heads["ssl"] = loss_factory(embedder.embedding_dim, base * label_factor(augmenters),
                                    system.ssl_trainable_centres, **loss_options)
    return TrainingModel(embedder, heads), AugmenterPipeline(augmenters)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled clip order of one epoch; depends only on (seed, epoch)."""
    return np.random.default_rng([seed, epoch, 0x5EED]).permutation(n)


def batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive batches of ``order``; a final batch of one clip is dropped (batch norm needs two)."""
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        if len(chunk) >= 2:
            yield chunk


class Trainer:
    """Trains one system on one set of training clips."""

    def __init__(self, config: TrainConfig, system: SystemSpec, checkpoint: Path | None = None,
                 progress: Callable[[int, int, float], None] | None = None):
        self.config = config
        self.system = system
        self.checkpoint = checkpoint
        self.progress = progress
        self.device = pick_device(config.device)
        self.timings: dict[str, float] = {}

    def fit(self, read: BatchSource, class_ids: np.ndarray, n_classes: int, clip_samples: int) -> TrainingModel:
        """Train on clips ``0..len(class_ids)-1`` of ``read``; returns the trained model (eval mode)."""
        cfg = self.config
        model, pipeline = build_model(cfg, self.system, clip_samples, n_classes)
        model.to(self.device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=cfg.lr, betas=(0.9, 0.999), eps=cfg.adam_eps)
        generator = torch.Generator().manual_seed(cfg.seed)
        start_epoch = self._resume(model, optimizer, generator)
        eye = torch.eye(n_classes, device=self.device)
        ids = torch.as_tensor(class_ids, dtype=torch.long)
        n_batches = sum(1 for _ in batches(np.arange(len(class_ids)), cfg.batch_size))
        started = time.perf_counter()
        for epoch in range(start_epoch, cfg.epochs):
            model.train()
            total, seen = 0.0, 0
            for step, idx in enumerate(batches(epoch_order(len(class_ids), cfg.seed, epoch), cfg.batch_size)):
                wave = torch.from_numpy(read(idx)).to(self.device, non_blocking=True)
                y = eye[ids[idx].to(self.device)]
                loss = self._step(model, pipeline, optimizer, generator, wave, y)
                total += loss.detach() * len(idx)
                seen += len(idx)
                if self.progress is not None:
                    self.progress(epoch, step + 1, n_batches)
            self.last_epoch_loss = float(total / max(seen, 1))
            self._save_checkpoint(model, optimizer, generator, epoch)
        self.timings["train_s"] = time.perf_counter() - started
        model.eval()
        return model

    def _step(self, model: TrainingModel, pipeline: AugmenterPipeline, optimizer: torch.optim.Optimizer,
              generator: torch.Generator, wave: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        system = self.system
        labels = Labels(y, y if system.ssl_class_labels else torch.ones(len(y), 1, device=y.device))
        with autocast_context(self.device, self.config.precision):
            wave, labels = pipeline.apply("waveform", wave, labels, generator)
            features = model.embedder.features(wave)
            features, labels = pipeline.apply("features", features, labels, generator)
            sub = model.embedder.encode(features)
            regular_embedding = model.embedder.combine(sub)
            sub, labels = pipeline.apply("embedding", sub, labels, generator)
            loss = model.embedder.regularization()
            if "regular" in model.heads:
                loss = loss + model.heads["regular"](regular_embedding.float(), labels.regular)
            if "ssl" in model.heads:
                loss = loss + model.heads["ssl"](model.embedder.combine(sub).float(), labels.ssl)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    # -- checkpoints --------------------------------------------------------------------------

    def _resume(self, model: TrainingModel, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        if self.checkpoint is None or not self.checkpoint.exists():
            return 0
        state = torch.load(self.checkpoint, map_location=self.device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        return int(state["epoch"]) + 1

    def _save_checkpoint(self, model: TrainingModel, optimizer: torch.optim.Optimizer,
                         generator: torch.Generator, epoch: int) -> None:
        if self.checkpoint is None:
            return
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(), "epoch": epoch}
        atomic_torch_save(state, self.checkpoint)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write with ``torch.save`` to a temporary name, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.inference_mode()
def extract_embeddings(embedder: Embedder, read: BatchSource, n: int, batch_size: int = 64,
                       device: torch.device | None = None, precision: str = "fp32",
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Embeddings (n x D, float32) of clips ``0..n-1`` of ``read``, in order, without augmentation."""
    embedder.eval()
    device = device or next(embedder.parameters()).device
    chunks = []
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(n, start + batch_size))
        wave = torch.from_numpy(read(idx)).to(device, non_blocking=True)
        with autocast_context(device, precision):
            emb = embedder(wave)
        chunks.append(emb.float().cpu().numpy())
        if progress is not None:
            progress(min(n, start + batch_size), n)
    if not chunks:
        raise ValueError("extract_embeddings: no clips to embed")
    return np.concatenate(chunks, axis=0)
