"""Back-ends: anomaly scores from embeddings, fitted per machine type / section.

Every back-end here works on plain arrays, so several of them can score one set of embeddings
without retraining the network.
"""

from __future__ import annotations

from .base import GroupedBackend, NotFittedError, l2_normalize
from .gmm import GMMBackend
from .kmeans import KMeansBackend
from .knn import KNNBackend
from .knn_smote import KNNSMOTEBackend
from .local_density import LocalDensityKNNBackend
from .lof import LOFBackend
from .mahalanobis import MahalanobisBackend

__all__ = [
    "GMMBackend",
    "GroupedBackend",
    "KMeansBackend",
    "KNNBackend",
    "KNNSMOTEBackend",
    "LOFBackend",
    "LocalDensityKNNBackend",
    "MahalanobisBackend",
    "NotFittedError",
    "l2_normalize",
]
