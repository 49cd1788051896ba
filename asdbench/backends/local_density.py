"""k-NN with local-density rescaling: the smallest ratio of the distance to a training clip and
that clip's own typical distance to its neighbours.

Why: after a domain shift the ~10 target clips of a section lie far apart while the ~1000 source
clips are dense, so a plain nearest-neighbour distance is large for every target-domain test clip,
normal or not, and the decision threshold cannot serve both domains. Dividing by the local
density of the training data puts both domains on one scale without needing domain labels at
test time (Wilkinghoff et al., "Keeping the balance: anomaly score calculation for domain
generalization", ICASSP 2025, and "Local density-based anomaly score normalization for domain
generalization", IEEE/ACM TASLP 2025 / arXiv 2509.10951; checked against the authors' code,
``merlresearch/anomaly-score-normalization``, ``norm_type: ratio``).

Per group, on L2-normalised embeddings, with all training clips as references (no domain split,
as in the authors' code):

* ``rho(y)`` = mean cosine distance of training clip ``y`` to its ``density_k`` (default 16, the
  authors' configuration) nearest *other* training clips;
* score of ``x`` = ``min_y d(x, y) / rho(y)`` over the training clips ``y`` (the minimum of the
  rescaled distances, not the rescaled distance of the raw nearest neighbour).

The authors' distance is ``(1 - cos) / 2``; the ratio does not depend on that factor. Training
scores (for the decision threshold, our addition) are leave-one-out: the minimum over the other
training clips.
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
    """Smallest cosine distance to a training clip divided by that clip's mean distance to its k neighbours."""

    model_type = LocalDensityGroupModel

    def __init__(self, density_k: int = 16, percentile: float = 90.0) -> None:
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
        return np.min(dist / model.density[None, :], axis=1)

    def _score_group(self, model: LocalDensityGroupModel, x: np.ndarray) -> np.ndarray:
        return self._rescaled(model, cosine_distances(x, model.memory))

    def _training_scores(self, model: LocalDensityGroupModel, x: np.ndarray, domains: np.ndarray) -> np.ndarray:
        if x.shape[0] < 2:
            return np.zeros(x.shape[0])
        dist = cosine_distances(x, model.memory)
        np.fill_diagonal(dist, np.inf)
        return self._rescaled(model, dist)
