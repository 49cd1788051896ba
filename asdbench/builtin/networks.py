"""The factories of the built-in embedder and loss heads (they import torch).

Registered lazily by :mod:`.embedders` and :mod:`.losses` (``LazyFactory``), so that listing
components does not import torch; this module is imported when one is built or described.
"""

from __future__ import annotations

from typing import Any

from ..losses.adacos import AdaCos, SubClusterAdaCos
from ..losses.adaproj import AdaProj
from ..losses.arcface import ArcFace
from ..losses.softmax import SoftmaxCrossEntropy
from ..model.two_branch import TwoBranchEmbedder
from .options import check_options


def two_branch(clip_samples: int, **options: Any):
    """Two-branch |FFT| Conv1D + |STFT| ResNet embedder with SE blocks (reference system, 256-d)."""
    check_options("embedder", "two-branch", TwoBranchEmbedder, options, positional=1)
    return TwoBranchEmbedder(clip_samples, **options)


# inspect.signature(two_branch) shows the real options (``asdbench describe`` lists them).
two_branch.__wrapped__ = TwoBranchEmbedder  # type: ignore[attr-defined]


def sub_cluster_adacos(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Sub-cluster AdaCos (16 sub-clusters per class, adaptive scale, reference quirk by default)."""
    check_options("loss", "sub-cluster-adacos", SubClusterAdaCos, options, positional=3)
    return SubClusterAdaCos(embedding_dim, n_classes, trainable, **options)


def adacos(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Plain AdaCos: one centre per class, adaptive scale."""
    check_options("loss", "adacos", AdaCos, options, positional=3)
    return AdaCos(embedding_dim, n_classes, trainable, **options)


def adaproj(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """AdaProj: cosine to the projection onto a learned subspace per class (dim 32), adaptive scale."""
    check_options("loss", "adaproj", AdaProj, options, positional=3)
    return AdaProj(embedding_dim, n_classes, trainable, **options)


def arcface(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """ArcFace: additive angular margin (m 0.5) on the labelled class, fixed scale (s 64)."""
    check_options("loss", "arcface", ArcFace, options, positional=3)
    return ArcFace(embedding_dim, n_classes, trainable, **options)


def softmax(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Softmax cross-entropy with a bias-free linear classifier."""
    check_options("loss", "softmax", SoftmaxCrossEntropy, options, positional=3)
    return SoftmaxCrossEntropy(embedding_dim, n_classes, trainable, **options)


# inspect.signature(factory) shows the real options (``asdbench describe`` lists them).
sub_cluster_adacos.__wrapped__ = SubClusterAdaCos  # type: ignore[attr-defined]
adacos.__wrapped__ = AdaCos  # type: ignore[attr-defined]
adaproj.__wrapped__ = AdaProj  # type: ignore[attr-defined]
arcface.__wrapped__ = ArcFace  # type: ignore[attr-defined]
softmax.__wrapped__ = SoftmaxCrossEntropy  # type: ignore[attr-defined]
