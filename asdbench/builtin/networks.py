"""The factories of the built-in embedder and loss heads (they import torch).

Registered lazily by :mod:`.embedders` and :mod:`.losses` (``LazyFactory``), so that listing
components does not import torch; this module is imported when one is built or described.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..losses.adacos import AdaCos, SubClusterAdaCos
from ..losses.adaproj import AdaProj
from ..losses.arcface import ArcFace
from ..losses.softmax import SoftmaxCrossEntropy
from ..model.two_branch import TwoBranchEmbedder
from .losses import LOSSES, factory_name
from .options import check_options


def two_branch(clip_samples: int, **options: Any):
    """Two-branch |FFT| Conv1D + |STFT| ResNet embedder with SE blocks (reference system, 256-d)."""
    check_options("embedder", "two-branch", TwoBranchEmbedder, options, positional=1)
    return TwoBranchEmbedder(clip_samples, **options)


# inspect.signature(two_branch) shows the real options (``asdbench describe`` lists them).
two_branch.__wrapped__ = TwoBranchEmbedder  # type: ignore[attr-defined]


def _loss_factory(name: str, cls: type) -> Callable[..., Any]:
    """``factory(embedding_dim, n_classes, trainable, **options)`` for a loss-head class of
    :data:`.losses.LOSSES`: unknown options are one-line errors, and ``inspect.signature`` shows
    the class's real options (``asdbench describe`` lists them)."""
    def factory(embedding_dim: int, n_classes: int, trainable: bool, **options: Any):
        check_options("loss", name, cls, options, positional=3)
        return cls(embedding_dim, n_classes, trainable, **options)

    factory.__name__ = factory.__qualname__ = factory_name(name)
    factory.__doc__ = LOSSES[name][1]
    factory.__wrapped__ = cls  # type: ignore[attr-defined]
    return factory


sub_cluster_adacos = _loss_factory("sub-cluster-adacos", SubClusterAdaCos)
adacos = _loss_factory("adacos", AdaCos)
adaproj = _loss_factory("adaproj", AdaProj)
arcface = _loss_factory("arcface", ArcFace)
softmax = _loss_factory("softmax", SoftmaxCrossEntropy)
