"""Gaussian mixture back-end (scikit-learn's ``GaussianMixture``): negative log-likelihood.

Per group, one mixture is fitted (EM, k-means initialisation, seeded) on all L2-normalised
training embeddings of both domains; the anomaly score is ``-log p(x)``. Options and defaults are
scikit-learn's (``n_components=1``, ``covariance_type="full"``, ``reg_covar=1e-6``,
``max_iter=100``, ``n_init=1``); with one full-covariance component it is a Gaussian density
with a ridge-regularised covariance, the classic "Gaussian" ASD back-end. A group with fewer clips
than components uses one component per clip.

The fitted parameters are kept as plain arrays (weights, means, covariances, Cholesky factors of
the precisions), so a saved back-end needs no pickle.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from .base import GroupedBackend, check_int_option

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class GMMGroupModel:
    """One group's fitted mixture, as scikit-learn's fitted attributes."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


class GMMBackend(GroupedBackend):
    """Gaussian mixture on source + target embeddings (scikit-learn defaults), score -log p(x)."""

    model_type = GMMGroupModel

    def __init__(self, n_components: int = 1, covariance_type: str = "full", reg_covar: float = 1e-6,
                 max_iter: int = 100, n_init: int = 1, seed: int = 0, percentile: float = 90.0) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.seed = seed
        self.percentile = percentile

    def _validate_params(self) -> None:
        for option in ("n_components", "max_iter", "n_init"):
            check_int_option("gmm", option, getattr(self, option))
        check_int_option("gmm", "seed", self.seed, minimum=0)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ConfigError(f"gmm back-end option covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, "
                              f"got {self.covariance_type!r}")
        if isinstance(self.reg_covar, bool) or not isinstance(self.reg_covar, (int, float)) or not self.reg_covar >= 0:
            raise ConfigError(f"gmm back-end option reg_covar must be a non-negative number, got {self.reg_covar!r}")

    def _mixture(self, n_components: int) -> Any:
        from sklearn.mixture import (
            GaussianMixture,  # imported where used: describing must not load it
        )

        return GaussianMixture(n_components=n_components, covariance_type=self.covariance_type,
                               reg_covar=float(self.reg_covar), max_iter=int(self.max_iter),
                               n_init=int(self.n_init), random_state=int(self.seed))

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> GMMGroupModel:
        from sklearn.exceptions import ConvergenceWarning

        gmm = self._mixture(min(int(self.n_components), x.shape[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(x)
        return GMMGroupModel(gmm.weights_, gmm.means_, gmm.covariances_, gmm.precisions_cholesky_)

    def _score_group(self, model: GMMGroupModel, x: np.ndarray) -> np.ndarray:
        gmm = self._mixture(len(model.weights))
        gmm.weights_, gmm.means_ = model.weights, model.means
        gmm.covariances_, gmm.precisions_cholesky_ = model.covariances, model.precisions_cholesky
        return -gmm.score_samples(x)
