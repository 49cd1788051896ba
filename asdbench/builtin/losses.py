"""Built-in loss heads: sub-cluster AdaCos, plain AdaCos, softmax cross-entropy."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from ..losses.adacos import AdaCos, SubClusterAdaCos
from ..losses.softmax import SoftmaxCrossEntropy
from .embedders import check_options


def sub_cluster_adacos(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Sub-cluster AdaCos (16 sub-clusters per class, adaptive scale, reference quirk by default)."""
    check_options("loss", "sub-cluster-adacos", SubClusterAdaCos, options, positional=3)
    return SubClusterAdaCos(embedding_dim, n_classes, trainable, **options)


def adacos(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Plain AdaCos: one centre per class, adaptive scale."""
    check_options("loss", "adacos", AdaCos, options, positional=3)
    return AdaCos(embedding_dim, n_classes, trainable, **options)


def softmax(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
    """Softmax cross-entropy with a bias-free linear classifier."""
    check_options("loss", "softmax", SoftmaxCrossEntropy, options, positional=3)
    return SoftmaxCrossEntropy(embedding_dim, n_classes, trainable, **options)


# inspect.signature(factory) shows the real options (``asdbench describe`` lists them).
sub_cluster_adacos.__wrapped__ = SubClusterAdaCos  # type: ignore[attr-defined]
adacos.__wrapped__ = AdaCos  # type: ignore[attr-defined]
softmax.__wrapped__ = SoftmaxCrossEntropy  # type: ignore[attr-defined]


@hookimpl
def register_losses(register):
    register("sub-cluster-adacos", sub_cluster_adacos)
    register("adacos", adacos)
    register("softmax", softmax)
