"""The paper's back-end: k-means centroids of the source domain plus every target sample.

Per group, on L2-normalised embeddings (reference-system.md section 5):

* k-means (k-means++, ``n_init`` restarts, ``max_iter`` iterations, seeded) on the *source*
  training embeddings; the centroids are kept as they are (means of unit vectors, so shorter
  than 1 -- the reference does not re-normalise them);
* every *target* training embedding is added as an extra centre (the target domain has only
  about 10 clips per section, too few to cluster);
* score = smallest ``1 - x.c`` over all centres, with ``x`` unit-norm.

A group with fewer source clips than ``n_clusters`` is clustered into ``min(n, n_clusters)``
clusters (each clip its own centre when n <= n_clusters). A group with no source clip at all
cannot be clustered and is an error naming the group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from .base import GroupedBackend, cosine_distances


@dataclass(frozen=True)
class KMeansGroupModel:
    """One group's centres: the k-means centroids and the target-domain embeddings."""

    centroids: np.ndarray  # (k, D), not unit-norm
    target: np.ndarray  # (n_target, D), unit-norm

    @property
    def centres(self) -> np.ndarray:
        return np.concatenate([self.centroids, self.target], axis=0)


class KMeansBackend(GroupedBackend):
    """k-means on source embeddings + target embeddings as centres, cosine distance (the paper).

    n_clusters: k-means clusters per machine type and section (16 in the reference)
    n_init: k-means++ restarts, the best inertia is kept
    max_iter: iterations per restart
    seed: seeds the k-means++ initialisations (the runner passes the trial's seed)
    percentile: decision threshold, percentile of the group's training scores
    """

    model_type = KMeansGroupModel

    def __init__(
        self,
        n_clusters: int = 16,
        n_init: int = 10,
        max_iter: int = 300,
        seed: int = 0,
        percentile: float = 90.0,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.seed = seed
        self.percentile = percentile

    def _validate_params(self) -> None:
        for option in ("n_clusters", "n_init", "max_iter"):
            value = getattr(self, option)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"kmeans back-end option {option} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"kmeans back-end option seed must be a non-negative integer, got {self.seed!r}")

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> KMeansGroupModel:
        # Imported here, not at the top: describing or listing back-ends must not pay for it.
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        source = x[domains == "source"]
        if source.shape[0] == 0:
            raise DataError(f"kmeans back-end: group {group!r} has no source-domain training embeddings to cluster")
        k = min(int(self.n_clusters), source.shape[0])
        km = KMeans(
            n_clusters=k,
            init="k-means++",
            n_init=int(self.n_init),
            max_iter=int(self.max_iter),
            random_state=int(self.seed),
        )
        with warnings.catch_warnings():
            # Duplicate embeddings (e.g. identical clips) give fewer distinct clusters; harmless here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            km.fit(source)
        return KMeansGroupModel(centroids=km.cluster_centers_.astype(np.float64), target=x[domains == "target"].copy())

    def _score_group(self, model: KMeansGroupModel, x: np.ndarray) -> np.ndarray:
        return cosine_distances(x, model.centres).min(axis=1)

    @property
    def cluster_centers_(self) -> dict[str, np.ndarray]:
        """Per group, the k-means centroids (without the target centres)."""
        self._check_fitted()
        return {g: m.centroids for g, m in self.models_.items()}

    @property
    def centres_(self) -> dict[str, np.ndarray]:
        """Per group, every centre a score is measured against: centroids, then target embeddings."""
        self._check_fitted()
        return {g: m.centres for g, m in self.models_.items()}
