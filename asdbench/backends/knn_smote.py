"""k-NN with SMOTE oversampling of the target domain (as in ASDKit's k-NN + SMOTE back-end).

Per group, before the memories of :class:`~asdbench.backends.knn.KNNBackend` are built, the ~10
target-domain training embeddings are oversampled with SMOTE (Chawla et al., JAIR 2002, through
imbalanced-learn): each synthetic clip is ``x_i + u * (x_nn - x_i)``, ``x_nn`` one of the
``smote_neighbors`` nearest target clips of a random target clip ``x_i``, ``u ~ U[0, 1)``; by
default until the target memory is as large as the source memory (imbalanced-learn's ``"auto"``),
or to ``target_size`` clips. Synthetic embeddings are re-normalised to unit length, since every
distance here is a cosine distance. Scoring is the k-NN's: mean cosine distance to the ``k``
nearest members of each memory, minimum over the domains. A target domain with fewer than two
clips (nothing to interpolate) or already as large as asked is used as it is.

Training scores stay leave-one-out for the real clips (the synthetic ones follow them in the
target memory, so a real target clip may still find its own interpolations among its neighbours).
"""

from __future__ import annotations

import numpy as np

from .base import check_int_option, l2_normalize
from .knn import KNNBackend, KNNGroupModel


def smote_target(x: np.ndarray, domains: np.ndarray, neighbors: int, size: int | None, seed: int) -> np.ndarray:
    """The synthetic target embeddings SMOTE adds to a group (0 rows when there is nothing to do)."""
    n_target = int(np.sum(domains == "target"))
    wanted = int(np.sum(domains == "source")) if size is None else int(size)
    if n_target < 2 or wanted <= n_target:
        return np.empty((0, x.shape[1]))
    from imblearn.over_sampling import SMOTE  # imported when used: listing plugins need not load it

    smote = SMOTE(sampling_strategy={"target": wanted}, k_neighbors=min(int(neighbors), n_target - 1),
                  random_state=int(seed))
    # One fictitious source row when the group has none: imbalanced-learn needs two classes.
    labels = domains if np.any(domains == "source") else np.append(domains, "source")
    rows = x if np.any(domains == "source") else np.vstack([x, np.zeros((1, x.shape[1]))])
    resampled, _ = smote.fit_resample(rows, labels)
    return l2_normalize(resampled[len(rows):])  # imbalanced-learn appends the synthetic rows


class KNNSMOTEBackend(KNNBackend):
    """Cosine k-NN, source / target memories, the target memory oversampled by SMOTE (seeded)."""

    def __init__(self, k: int = 1, smote_neighbors: int = 5, target_size: int | None = None, seed: int = 0,
                 percentile: float = 90.0) -> None:
        super().__init__(k=k, percentile=percentile)
        self.smote_neighbors = smote_neighbors
        self.target_size = target_size
        self.seed = seed

    def _validate_params(self) -> None:
        super()._validate_params()
        check_int_option("knn-smote", "smote_neighbors", self.smote_neighbors)
        if self.target_size is not None:
            check_int_option("knn-smote", "target_size", self.target_size)
        check_int_option("knn-smote", "seed", self.seed, minimum=0)

    def _fit_group(self, group: str, x: np.ndarray, domains: np.ndarray) -> KNNGroupModel:
        model = super()._fit_group(group, x, domains)
        synthetic = smote_target(x, domains, self.smote_neighbors, self.target_size, self.seed)
        memories = dict(model.memories)
        memories["target"] = np.concatenate([memories["target"], synthetic], axis=0)
        return KNNGroupModel(memories)
