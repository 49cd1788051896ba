"""The factories of the built-in back-ends (they import scikit-learn / scipy; registered lazily
by :mod:`.backends`).

Every factory takes ``(**options)`` and accepts ``seed`` so the runner can pass the trial's seed
uniformly; k-means, k-NN + SMOTE and the Gaussian mixture use it (the others are deterministic). Unknown options and
invalid values are a :class:`ConfigError` naming the option before any training starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..backends import (
    GMMBackend,
    GroupedBackend,
    KMeansBackend,
    KNNBackend,
    KNNSMOTEBackend,
    LocalDensityKNNBackend,
    LOFBackend,
    MahalanobisBackend,
)
from ..errors import ConfigError


def _factory(name: str, cls: type[GroupedBackend], uses_seed: bool) -> Callable[..., GroupedBackend]:
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def make(**options: Any) -> GroupedBackend:
        if not uses_seed:
            options.pop("seed", None)
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(
                f"unknown option {unknown[0]!r} for back-end {name!r} (options: {', '.join(accepted + ([] if uses_seed else ['seed']))})"
            )
        return cls(**options).validate()

    make.__name__ = f"make_{name}_backend"
    make.__doc__ = cls.__doc__
    make.__wrapped__ = cls  # type: ignore[attr-defined]  # inspect.signature shows the real options
    return make


kmeans = _factory("kmeans", KMeansBackend, uses_seed=True)
knn = _factory("knn", KNNBackend, uses_seed=False)
mahalanobis = _factory("mahalanobis", MahalanobisBackend, uses_seed=False)
knn_smote = _factory("knn-smote", KNNSMOTEBackend, uses_seed=True)
knn_density = _factory("knn-density", LocalDensityKNNBackend, uses_seed=False)
gmm = _factory("gmm", GMMBackend, uses_seed=True)
lof = _factory("lof", LOFBackend, uses_seed=False)


