"""Built-in back-ends, registered through the same hook a third-party plugin uses (factories in
:mod:`.backend_factories`, imported when one is first built)."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_backends(register: Callable[..., None]) -> None:
    register(
        "kmeans",
        lazy("asdbench.builtin.backend_factories:kmeans"),
        "k-means (16) on source + target clips as centres, cosine distance (the paper's back-end)",
    )
    register(
        "knn",
        lazy("asdbench.builtin.backend_factories:knn"),
        "cosine k-NN, separate source / target memories, minimum over domains",
    )
    register(
        "mahalanobis",
        lazy("asdbench.builtin.backend_factories:mahalanobis"),
        "Mahalanobis distance to source / target means, shared Ledoit-Wolf covariance",
    )
    register(
        "knn-smote",
        lazy("asdbench.builtin.backend_factories:knn_smote"),
        "cosine k-NN, target memory oversampled by SMOTE (5 neighbours) to the source size",
    )
    register(
        "knn-density",
        lazy("asdbench.builtin.backend_factories:knn_density"),
        "smallest cosine distance to a training clip over its local density (16 neighbours), domains pooled",
    )
    register(
        "gmm",
        lazy("asdbench.builtin.backend_factories:gmm"),
        "Gaussian mixture (scikit-learn defaults: 1 full-covariance component), -log-likelihood",
    )
    register(
        "lof",
        lazy("asdbench.builtin.backend_factories:lof"),
        "local outlier factor (scikit-learn, 20 neighbours, cosine distance) per section",
    )
