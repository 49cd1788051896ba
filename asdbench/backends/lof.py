"""Local outlier factor back-end (Breunig et al., SIGMOD 2000; scikit-learn's ``LocalOutlierFactor``).

Per group, on all L2-normalised training embeddings of both domains (``novelty=True``): the score
of a clip is its LOF, the mean local reachability density of its ``n_neighbors`` nearest training
clips divided by its own (about 1 inside the data, larger in sparse regions). Defaults:
``n_neighbors=20`` (scikit-learn's, within the paper's 10-20) and the cosine distance, like the
other back-ends here. A group with ``n_neighbors`` or fewer clips uses all other clips.

Training scores are the training clips' own LOFs, computed without themselves as neighbours.
Only the training embeddings are kept; the neighbour structure is rebuilt when scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from .base import GroupedBackend, check_int_option

METRICS = ("cosine", "euclidean")


@dataclass(frozen=True)
class LOFGroupModel:
    """One group's unit-norm training embeddings."""

    memory: np.ndarray


class LOFBackend(GroupedBackend):
    """Local outlier factor (n_neighbors 20, cosine distance) of each clip against its section."""

    model_type = LOFGroupModel

    def __init__(self, n_neighbors: int = 20, metric: str = "cosine", percentile: float = 90.0) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.percentile = percentile

    def _validate_params(self) -> None:
        check_int_option("lof", "n_neighbors", self.n_neighbors)
        if self.metric not in METRICS:
            raise ConfigError(f"lof back-end option metric must be one of {', '.join(METRICS)}, got {self.metric!r}")

    def _lof(self, memory: np.ndarray) -> Any:
        from sklearn.neighbors import (
            LocalOutlierFactor,  # imported where used: describing must not load it
        )

        k = max(1, min(int(self.n_neighbors), memory.shape[0] - 1))
        return LocalOutlierFactor(n_neighbors=k, metric=self.metric, novelty=True).fit(memory)

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> LOFGroupModel:
        if x.shape[0] < 2:
            raise DataError(f"lof back-end: group {group!r} has {x.shape[0]} training embedding; LOF needs at least 2")
        return LOFGroupModel(x.copy())

    def _score_group(self, model: LOFGroupModel, x: np.ndarray) -> np.ndarray:
        return -self._lof(model.memory).score_samples(x)

    def _training_scores(self, model: LOFGroupModel, x: np.ndarray, domains: np.ndarray) -> np.ndarray:
        return -self._lof(model.memory).negative_outlier_factor_
