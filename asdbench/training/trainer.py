"""The training loop of the reference system (reference-system.md §4), with per-epoch checkpoints.

One seeded run is bit-for-bit repeatable on CPU: model initialisation uses ``torch.manual_seed``,
the batch order of epoch ``e`` depends only on ``(seed, e)``, and every augmenter draws from one
``torch.Generator`` whose state is saved in the checkpoint, so a resumed run continues exactly.

Speed (docs/scaling.md): the next batch is read by a background thread while the current one
trains (the batch order is unchanged, so results are too); on CPU freed activations are kept for
the next step (:func:`host_memory_reuse`); on CUDA batches go through pinned memory with
non-blocking copies and the step has no host synchronisation. Options that change numbers stay
off by default: ``precision`` (bf16/fp16 autocast for the embedder; the loss heads always run in
float32) and ``compile`` (``torch.compile`` of the embedder's sub-networks).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..allocator import serving_allocator
from ..components import Embedder, SystemSpec
from ..errors import ConfigError
from ..plugins import resolve
from ..systems import build_augmenters, label_factor
from .pipeline import AugmenterPipeline, Labels

BatchSource = Callable[[np.ndarray], np.ndarray]
"""Reads waveforms for clip indices: ``read(indices) -> float32 array (len(indices), samples)``."""


@dataclass
class TrainConfig:
    """Everything that decides a training run besides the data and the system."""

    epochs: int = 10
    init_weights: str | None = None  # embedder weights loaded before training (see load_initial_weights)
    batch_size: int = 64
    lr: float = 1e-3
    adam_eps: float = 1e-7
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 (CPU/CUDA autocast) | fp16 (CUDA autocast + loss scaling) | auto
    embedder: str = "two-branch"
    embedder_options: dict[str, Any] = field(default_factory=dict)
    loss: str = "sub-cluster-adacos"
    loss_options: dict[str, Any] = field(default_factory=dict)
    channels_last: bool = False
    compile: bool = False  # torch.compile the sub-networks for training (see compile_embedder)
    prefetch: bool = True  # read the next batch in a background thread (changes no number)
    reuse_host_memory: bool = True  # keep freed host memory for the next step (see host_memory_reuse)


PRECISIONS = ("fp32", "bf16", "fp16", "auto")
AUTO_CPU_BF16 = True
"""Whether ``precision="auto"`` picks bf16 on CPUs with native bf16 instructions (docs/scaling.md
has the accuracy check behind this choice)."""


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available (use --device auto or cpu)")
    return torch.device(name)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16 in the CPU flags (Linux): bf16 matmuls at about 2x the fp32 rate.
    Elsewhere bf16 is emulated and slower than fp32, so ``auto`` keeps fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def resolve_precision(device: torch.device, precision: str) -> str:
    """The concrete precision (fp32, bf16 or fp16) of ``precision`` on ``device``.

    ``auto``: bf16 on CUDA devices that support it (no loss scaling needed), else fp16; on CPU
    bf16 when :data:`AUTO_CPU_BF16` and the CPU has native bf16, else fp32.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if AUTO_CPU_BF16 and device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("--precision fp16 needs a CUDA device (on CPU use bf16 or fp32)")
    return precision


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision where asked for (see :func:`resolve_precision` for 'auto')."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def compile_embedder(embedder: Embedder) -> Embedder:
    """``torch.compile`` the embedder's ``encode`` (the sub-networks: nearly all the work) in place.

    The front-end FFTs and the augmenters stay eager (the augmenters draw from a CPU generator).
    Parameter names and the state_dict are unchanged. Compiling takes about a minute on a 2-core
    CPU (again when switching to eval mode). On the 2-core development CPU the compiled training
    step was no faster than eager bf16 + channels-last (docs/scaling.md); on GPUs, where kernel
    launches and unfused element-wise passes weigh more, it is the usual win.
    """
    embedder.encode = torch.compile(embedder.encode, dynamic=False)  # type: ignore[method-assign]
    return embedder


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_MAX: 65536}
_reuse_depth = 0


@functools.cache
def _glibc() -> Any:
    """glibc's ``mallopt``/``malloc_trim``, or None on other C libraries and platforms."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@contextlib.contextmanager
def host_memory_reuse(enabled: bool = True) -> Iterator[bool]:
    """While inside, glibc serves large allocations from its heap and keeps freed memory.

    Why: glibc gives every allocation above 32 MB its own ``mmap`` and unmaps it when freed, so
    each training step maps and zero-fills all its activations again: about 10^6 page faults and
    ~1 s of kernel CPU time per paper-preset step on CPU. Kept on the heap, a step reuses the pages
    of the previous one (RSS stays at the step's peak instead of dropping between steps). On exit
    the defaults return and free memory is handed back (``malloc_trim``). No numbers change; a
    no-op where glibc is not the C library or another allocator is loaded (jemalloc or tcmalloc,
    see :mod:`asdbench.allocator`, reuse freed blocks by themselves, with less fragmentation). Yields
    whether it is active.
    """
    global _reuse_depth
    libc = _glibc() if enabled and serving_allocator() == "system" else None
    if libc is None:
        yield False
        return
    _reuse_depth += 1
    if _reuse_depth == 1:
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    try:
        yield True
    finally:
        _reuse_depth -= 1
        if _reuse_depth == 0:
            for option, value in _GLIBC_DEFAULTS.items():
                libc.mallopt(option, value)
            libc.malloc_trim(0)


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host -> device without a host synchronisation (the tensor is pinned by the reader)."""
    return tensor if device.type == "cpu" else tensor.to(device, non_blocking=True)


def prefetched(load: Callable[[np.ndarray], Any], batches_: Iterable[np.ndarray], enabled: bool = True) -> Iterator[tuple[np.ndarray, Any]]:
    """``(idx, load(idx))`` for every batch, loading batch k+1 in a background thread while the
    caller works on batch k (file reads and int16 -> float32 conversion release the GIL)."""
    if not enabled:
        for idx in batches_:
            yield idx, load(idx)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asdbench-prefetch") as pool:
        iterator = iter(batches_)
        idx = next(iterator, None)
        future = pool.submit(load, idx) if idx is not None else None
        while idx is not None and future is not None:
            following = next(iterator, None)
            result = future.result()
            future = pool.submit(load, following) if following is not None else None
            yield idx, result
            idx = following


def _host_batch(read: Callable[[np.ndarray], np.ndarray], pin: bool) -> Callable[[np.ndarray], torch.Tensor]:
    """Reads one batch as a float32 tensor, pinned when it will be copied to a GPU."""
    def load(idx: np.ndarray) -> torch.Tensor:
        wave = torch.from_numpy(np.ascontiguousarray(read(idx), dtype=np.float32))
        return wave.pin_memory() if pin else wave
    return load


class TrainingModel(nn.Module):
    """The embedder plus its loss heads: the unit that is trained and checkpointed."""

    def __init__(self, embedder: Embedder, heads: dict[str, nn.Module]):
        super().__init__()
        self.embedder = embedder
        self.heads = nn.ModuleDict(heads)


def build_embedder(name: str, options: dict[str, Any], system: SystemSpec, clip_samples: int) -> Embedder:
    """The embedder a system trains: the run's options, overridden by the system's ``embedder.*``
    options (also what ``asdbench score`` rebuilds before loading ``weights.pt``)."""
    return resolve("embedder", name).factory(clip_samples, **{**options, **system.options.get("embedder", {})})


def build_model(config: TrainConfig, system: SystemSpec, clip_samples: int, n_classes: int) -> tuple[TrainingModel, AugmenterPipeline]:
    """Embedder + heads for a system: regular head C classes with frozen centres, SSL head with
    ``C * prod(factors)`` classes (or only the pseudo-classes without class labels)."""
    torch.manual_seed(config.seed)
    embedder = build_embedder(config.embedder, config.embedder_options, system, clip_samples)
    augmenters = build_augmenters(system)
    heads: dict[str, nn.Module] = {}
    if "regular" in system.heads:
        heads["regular"] = build_head(config, system, "regular", embedder.embedding_dim, n_classes, False)
    if "ssl" in system.heads:
        base = n_classes if system.ssl_class_labels else 1
        heads["ssl"] = build_head(config, system, "ssl", embedder.embedding_dim, base * label_factor(augmenters),
                                  system.ssl_trainable_centres)
    return TrainingModel(embedder, heads), AugmenterPipeline(augmenters)


def load_initial_weights(embedder: Embedder, path: Path) -> None:
    """Start from given embedder weights: a ``.npz`` in the Keras key scheme of the author's code
    (:mod:`asdbench.model.keras_import`) or a ``.pt`` state_dict (e.g. a trial's ``weights.pt``).
    A file that does not fit the embedder is a ``ConfigError`` naming it."""
    if path.suffix == ".npz":
        from ..model.keras_import import load_keras_weights
        from ..model.two_branch import TwoBranchEmbedder

        if not isinstance(embedder, TwoBranchEmbedder):
            raise ConfigError(f"--init-weights {path}: Keras weights fit the two-branch embedder only")
        load_keras_weights(embedder, path)
        return
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        embedder.load_state_dict(state)
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--init-weights {path}: not an embedder state_dict of this system ({first})") from None


def build_head(config: TrainConfig, system: SystemSpec, head: str, embedding_dim: int, n_classes: int,
               trainable: bool) -> nn.Module:
    """The loss head ``head``: the system's loss for it (``loss=adaproj`` in the spec) or the run's.

    Options, later ones winning: the run's ``loss_options`` (only when the head uses the run's
    loss), the spec's ``loss.<option>`` (every head) and ``<loss name>.<option>`` (that loss only).
    """
    name = system.losses.get(head, config.loss)
    options = {**(config.loss_options if name == config.loss else {}), **system.options.get("loss", {}),
               **system.options.get(name, {})}
    return resolve("loss", name).factory(embedding_dim, n_classes, trainable, **options)


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

    def __init__(self, config: TrainConfig, system: SystemSpec, checkpoint: Path | None = None,
                 progress: Progress | None = None, on_epoch: Callable[[EpochStats], None] | None = None):
        self.config = config
        self.system = system
        self.checkpoint = checkpoint
        self.progress = progress
        self.on_epoch = on_epoch
        self.device = pick_device(config.device)
        self.precision = resolve_precision(self.device, config.precision)
        # fp16 needs loss scaling against gradient underflow; disabled it passes everything through.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.timings: dict[str, float] = {}

    def fit(self, read: BatchSource, class_ids: np.ndarray, n_classes: int, clip_samples: int) -> TrainingModel:
        """Train on clips ``0..len(class_ids)-1`` of ``read``; returns the trained model (eval mode)."""
        cfg = self.config
        model, pipeline = build_model(cfg, self.system, clip_samples, n_classes)
        if cfg.init_weights is not None:
            load_initial_weights(model.embedder, Path(cfg.init_weights))
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
        load_wave = _host_batch(read, pin)

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
                loss, parts = self._step(model, pipeline, optimizer, generator, _to_device(wave, self.device),
                                         _to_device(y, self.device))
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
        system = self.system
        labels = Labels(y, y if system.ssl_class_labels else torch.ones(len(y), 1, device=y.device))
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
            aside = self.checkpoint.with_name(self.checkpoint.name + ".corrupt")
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


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write with ``torch.save`` to a temporary name (unique per process), then rename: never a
    half-written file; the temporary file is removed when saving fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def compiled_inference(embedder: Embedder) -> Callable[[torch.Tensor], torch.Tensor]:
    """The embedder's forward pass compiled for inference with frozen weights (constants folded,
    batch norm fused into the convolutions, weights pre-packed): about 1.4x faster extraction on a
    2-core CPU after ~30 s of compilation. Only valid while the weights do not change."""
    return torch.compile(embedder, dynamic=False, options={"freezing": True})


@torch.inference_mode()
def extract_embeddings(embedder: Embedder, read: BatchSource, n: int, batch_size: int = 64,
                       device: torch.device | None = None, precision: str = "fp32",
                       progress: Callable[[int, int], None] | None = None, prefetch: bool = True,
                       reuse_host_memory: bool = True, compile: bool = False) -> np.ndarray:
    """Embeddings (n x D, float32) of clips ``0..n-1`` of ``read``, in order, without augmentation.

    The next batch is read while the current one is embedded; on CUDA the embeddings stay on the
    device until the end (one copy back, no synchronisation per batch). ``compile`` uses
    :func:`compiled_inference`; the last, shorter batch is then padded to ``batch_size`` (rows are
    independent in eval mode) so that one compiled graph serves every batch."""
    embedder.eval()
    device = device or next(embedder.parameters()).device
    inference = embedder.for_inference()
    forward = compiled_inference(inference) if compile else inference
    load = _host_batch(read, pin=device.type == "cuda")
    order = (np.arange(start, min(n, start + batch_size)) for start in range(0, n, batch_size))
    chunks = []
    with host_memory_reuse(reuse_host_memory and device.type == "cpu"):
        for idx, wave in prefetched(load, order, prefetch):
            wave = _to_device(wave, device)
            if compile and len(idx) < batch_size:
                wave = torch.cat([wave, wave.new_zeros(batch_size - len(idx), wave.shape[1])])
            with autocast_context(device, precision):
                emb = forward(wave)[: len(idx)]
            chunks.append(emb.float())
            if progress is not None:
                progress(int(idx[-1]) + 1, n)
    if not chunks:
        raise ValueError("extract_embeddings: no clips to embed")
    return torch.cat(chunks).cpu().numpy()
