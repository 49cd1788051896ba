"""PyTorch access to a clip cache: batches come straight from the on-disk array.

The sampler hands the dataset a whole batch of positions at once (``batch_size=None`` in the
``DataLoader``), so one batch is one :meth:`ClipCache.read` call: rows are read in ascending
order and converted to float32 per batch, never the whole set. The batch keeps the sampler's
(shuffled) order. The order of epoch ``e`` depends only on ``(seed, e)``, so a resumed run sees
the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from torch.utils.data import Dataset as TorchDataset

from .cache import ClipCache


def epoch_seed(seed: int, epoch: int) -> int:
    """The torch seed of one epoch's shuffle, derived from ``(seed, epoch)`` only."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)


class ClipDataset(TorchDataset):
    """Clips of a cache (all, or the given row ``indices``) as float32 waveforms.

    ``ds[i]`` -> ``(wave[samples], row)``; ``ds[[i, j, ...]]`` -> ``(waves[B, samples], rows[B])``,
    where ``row`` is the clip's row in the cache (to look up its label).
    """

    def __init__(self, cache: ClipCache, indices: Sequence[int] | np.ndarray | None = None) -> None:
        self.cache = cache
        self.rows = np.arange(len(cache), dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.rows.size and (self.rows.min() < 0 or self.rows.max() >= len(cache)):
            raise IndexError(f"clip index out of range 0..{len(cache) - 1}")

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, item: int | Sequence[int] | np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(item, (int, np.integer)):
            row = self.rows[int(item)]
            return torch.from_numpy(self.cache.read([row])[0]), torch.tensor(row)
        rows = self.rows[np.asarray(item, dtype=np.int64)]
        return torch.from_numpy(self.cache.read(rows)), torch.from_numpy(rows)


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of positions ``0..n-1``; shuffled per epoch with a ``torch.Generator`` seeded by
    ``(seed, epoch)``. Each new iteration is the next epoch; :meth:`set_epoch` jumps (resume)."""

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.n, self.batch_size, self.shuffle, self.seed, self.drop_last = n, batch_size, shuffle, seed, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        return torch.randperm(self.n, generator=generator)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order(self.epoch).tolist()
        self.epoch += 1
        stop = self.n - self.n % self.batch_size if self.drop_last else self.n
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)


def make_loader(cache: ClipCache, indices: Sequence[int] | np.ndarray | None, batch_size: int, shuffle: bool,
                seed: int, num_workers: int = 0, drop_last: bool = False, pin_memory: bool = False) -> DataLoader:
    """A ``DataLoader`` yielding ``(waves float32 [B, samples], rows int64 [B])`` from ``cache``."""
    dataset = ClipDataset(cache, indices)
    sampler = EpochBatchSampler(len(dataset), batch_size, shuffle, seed, drop_last)
    return DataLoader(
        dataset,
        sampler=sampler,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
