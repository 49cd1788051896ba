"""Feeding clips to the network: background prefetch of the next batch, pinned host memory for
GPUs, and embedding extraction (no augmentation, eval mode).

The prefetch thread changes no number (the batch order is the caller's); on CUDA the copies are
non-blocking and embeddings stay on the device until the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from ..allocator import host_memory_reuse
from ..components import Embedder
from .device import autocast_context

BatchSource = Callable[[np.ndarray], np.ndarray]
"""Reads waveforms for clip indices: ``read(indices) -> float32 array (len(indices), samples)``."""


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
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


def host_batch(read: Callable[[np.ndarray], np.ndarray], pin: bool) -> Callable[[np.ndarray], torch.Tensor]:
    """Reads one batch as a float32 tensor, pinned when it will be copied to a GPU."""
    def load(idx: np.ndarray) -> torch.Tensor:
        wave = torch.from_numpy(np.ascontiguousarray(read(idx), dtype=np.float32))
        return wave.pin_memory() if pin else wave
    return load


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
    load = host_batch(read, pin=device.type == "cuda")
    order = (np.arange(start, min(n, start + batch_size)) for start in range(0, n, batch_size))
    chunks = []
    with host_memory_reuse(reuse_host_memory and device.type == "cpu"):
        for idx, wave in prefetched(load, order, prefetch):
            wave = to_device(wave, device)
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
