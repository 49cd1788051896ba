"""Mahalanobis back-end: one mean per domain, one shared covariance per group.

Per group, on L2-normalised embeddings: a mean for the source and for the target training clips,
and one covariance estimated from both domains after subtracting each clip's own domain mean
(pooled within-domain covariance). Sharing it is deliberate: the ~10 target clips cannot support
a 256 x 256 covariance of their own, but domain shifts mostly move the mean. The covariance is
Ledoit-Wolf shrunk by default (well-conditioned even when clips < dimensions); ``"empirical"``
uses the plain maximum-likelihood estimate and its pseudo-inverse.

Score = the smaller of the Mahalanobis distances ``sqrt((x - mu_d)^T P (x - mu_d))`` to the
domain means, ``P`` the precision (inverse covariance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .base import DOMAINS, GroupedBackend

COVARIANCES = ("ledoit_wolf", "empirical")


@dataclass(frozen=True)
class MahalanobisGroupModel:
    """One group's domain means (only domains with training clips) and shared precision."""

    means: dict[str, np.ndarray]
    precision: np.ndarray


class MahalanobisBackend(GroupedBackend):
    """Mahalanobis distance to the source / target mean (shared covariance), minimum of the two.

    covariance: ledoit_wolf (shrunk, default) or empirical (maximum likelihood, pseudo-inverse)
    percentile: decision threshold, percentile of the group's training scores
    """

    model_type = MahalanobisGroupModel

    def __init__(self, covariance: str = "ledoit_wolf", percentile: float = 90.0) -> None:
        self.covariance = covariance
        self.percentile = percentile

    def _validate_params(self) -> None:
        if self.covariance not in COVARIANCES:
            raise ConfigError(
                f"mahalanobis back-end option covariance must be one of {', '.join(COVARIANCES)}, got {self.covariance!r}"
            )

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> MahalanobisGroupModel:
        # Imported here, not at the top: describing or listing back-ends must not pay for it.
        from scipy.linalg import pinvh
        from sklearn.covariance import LedoitWolf, empirical_covariance

        means = {d: x[domains == d].mean(axis=0) for d in DOMAINS if np.any(domains == d)}
        centred = x.copy()
        for d, mu in means.items():
            centred[domains == d] -= mu
        if self.covariance == "ledoit_wolf":
            precision = LedoitWolf(assume_centered=True).fit(centred).precision_
        else:
            precision = pinvh(empirical_covariance(centred, assume_centered=True))
        return MahalanobisGroupModel(means=means, precision=precision)

    def _score_group(self, model: MahalanobisGroupModel, x: np.ndarray) -> np.ndarray:
        best = np.full(x.shape[0], np.inf)
        for mu in model.means.values():
            diff = x - mu
            sq = np.sum((diff @ model.precision) * diff, axis=1)
            best = np.minimum(best, np.sqrt(np.maximum(sq, 0.0)))
        return best

    @property
    def means_(self) -> dict[str, dict[str, np.ndarray]]:
        """Per group, the mean of each domain's normalised training embeddings."""
        self._check_fitted()
        return {g: dict(m.means) for g, m in self.models_.items()}

    @property
    def precisions_(self) -> dict[str, np.ndarray]:
        """Per group, the shared precision matrix (inverse covariance)."""
        self._check_fitted()
        return {g: m.precision for g, m in self.models_.items()}
