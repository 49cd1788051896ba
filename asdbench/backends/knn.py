"""Cosine k-nearest-neighbour back-end with one memory per domain.

Per group, the L2-normalised training embeddings are kept as two memories, source and target.
The score of a clip is, for each non-empty memory, the mean cosine distance to its ``k`` nearest
members (``min(k, memory size)``, so the ~10 target clips never run out), and then the smaller
of the two. Keeping the domains apart stops the 99:1 source majority from hiding the target
domain, the same reason the paper's k-means back-end adds the target clips as centres.

Training scores (for the decision threshold) are leave-one-out: a training clip is not its own
neighbour, otherwise every training score would be 0 for ``k = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .base import DOMAINS, GroupedBackend, cosine_distances


@dataclass(frozen=True)
class KNNGroupModel:
    """One group's memories: unit-norm training embeddings per domain (empty arrays allowed)."""

    memories: dict[str, np.ndarray]


def _mean_knn_distance(distances: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` smallest entries of every row."""
    if k >= distances.shape[1]:
        return distances.mean(axis=1)
    nearest = np.partition(distances, k - 1, axis=1)[:, :k]
    return nearest.mean(axis=1)


class KNNBackend(GroupedBackend):
    """Mean cosine distance to the k nearest training clips, minimum over the two domains.

    k: nearest neighbours averaged per domain
    percentile: decision threshold, percentile of the group's (leave-one-out) training scores
    """

    model_type = KNNGroupModel

    def __init__(self, k: int = 1, percentile: float = 90.0) -> None:
        self.k = k
        self.percentile = percentile

    def _validate_params(self) -> None:
        if not isinstance(self.k, (int, np.integer)) or isinstance(self.k, bool) or self.k < 1:
            raise ConfigError(f"knn back-end option k must be a positive integer, got {self.k!r}")

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> KNNGroupModel:
        return KNNGroupModel({d: x[domains == d].copy() for d in DOMAINS})

    def _score_group(self, model: KNNGroupModel, x: np.ndarray) -> np.ndarray:
        best = np.full(x.shape[0], np.inf)
        for memory in model.memories.values():
            if memory.shape[0]:
                k = min(int(self.k), memory.shape[0])
                best = np.minimum(best, _mean_knn_distance(cosine_distances(x, memory), k))
        return best

    def _training_scores(self, model: KNNGroupModel, x: np.ndarray, domains: np.ndarray) -> np.ndarray:
        best = np.full(x.shape[0], np.inf)
        for domain, memory in model.memories.items():
            if not memory.shape[0]:
                continue
            dist = cosine_distances(x, memory)
            own = np.flatnonzero(domains == domain)  # row i of `own` is member i of this memory
            dist[own, np.arange(own.size)] = np.inf
            for rows, available in ((domains != domain, memory.shape[0]), (domains == domain, memory.shape[0] - 1)):
                if available < 1 or not rows.any():
                    continue
                k = min(int(self.k), available)
                part = dist[rows]
                if k < part.shape[1]:
                    part = np.partition(part, k - 1, axis=1)
                best[rows] = np.minimum(best[rows], part[:, :k].mean(axis=1))
        if np.isinf(best).any():
            # A group with a single training clip has no leave-one-out neighbour: score it 0.
            best[np.isinf(best)] = 0.0
        return best
