"""k-NN with local-density rescaling: the nearest-neighbour distance divided by that neighbour's
own typical distance to its neighbours.

Why: after a domain shift the ~10 target clips of a section lie far apart while the ~1000 source
clips are dense, so a plain nearest-neighbour distance is large for every target-domain test clip,
normal or not, and the decision threshold cannot serve both domains. Dividing by the local
density of the training data (as in Wilkinghoff et al., "Keeping the balance: anomaly score
calculation for domain generalization", ICASSP 2025, and ASDKit's local-density k-NN) puts both
domains on one scale without needing domain labels at test time.

Per group, on L2-normalised embeddings, with all training clips pooled (no domain split):

* ``rho(y)`` = mean cosine distance of training clip ``y`` to its ``density_k`` nearest *other*
  training clips;
* score of ``x`` = ``d(x, y*) / rho(y*)`` with ``y*`` the training clip nearest to ``x``.

Training scores (for the decision threshold) are leave-one-out: a training clip's ``y*`` is its
nearest other clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import GroupedBackend, check_int_option, cosine_distances

DENSITY_FLOOR = 1e-12  # duplicate clips have a zero neighbour distance


@dataclass(frozen=True)
class LocalDensityGroupModel:
    """One group's unit-norm training embeddings and each one's local density ``rho``."""

    memory: np.ndarray  # (n, D)
    density: np.ndarray  # (n,)


class LocalDensityKNNBackend(GroupedBackend):
    """Nearest-neighbour cosine distance divided by the neighbour's mean distance to its own k neighbours."""

    model_type = LocalDensityGroupModel

    def __init__(self, density_k: int = 5, percentile: float = 90.0) -> None:
        self.density_k = density_k
        self.percentile = percentile

    def _validate_params(self) -> None:
        check_int_option("knn-density", "density_k", self.density_k)

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> LocalDensityGroupModel:
        dist = cosine_distances(x, x)
        np.fill_diagonal(dist, np.inf)
        k = min(int(self.density_k), x.shape[0] - 1)
        if k < 1:  # a single training clip has no neighbour: unit density, plain distance
            return LocalDensityGroupModel(x.copy(), np.ones(1))
        nearest = np.partition(dist, k - 1, axis=1)[:, :k]
        return LocalDensityGroupModel(x.copy(), np.maximum(nearest.mean(axis=1), DENSITY_FLOOR))

    @staticmethod
    def _rescaled(model: LocalDensityGroupModel, dist: np.ndarray) -> np.ndarray:
        nearest = np.argmin(dist, axis=1)
        return dist[np.arange(dist.shape[0]), nearest] / model.density[nearest]

    def _score_group(self, model: LocalDensityGroupModel, x: np.ndarray) -> np.ndarray:
        return self._rescaled(model, cosine_distances(x, model.memory))

    def _training_scores(self, model: LocalDensityGroupModel, x: np.ndarray, domains: np.ndarray) -> np.ndarray:
        if x.shape[0] < 2:
            return np.zeros(x.shape[0])
        dist = cosine_distances(x, model.memory)
        np.fill_diagonal(dist, np.inf)
        return self._rescaled(model, dist)
