"""AdaProj (Wilkinghoff, "AdaProj: Adaptively scaled angular margin subspace projections for
anomalous sound detection with auxiliary classification tasks", DCASE 2024 Workshop / arXiv
2403.14179): every class owns a subspace instead of a centre.

What is implemented, checked against the author's own implementations (his DCASE 2024 Keras
system, ``wilkinghoff/dcase2024_task2``; MERL's ``anomaly-score-normalization``; ASDKit), since
only the paper's abstract was available to us; ``docs/components.md`` says where each item comes
from:

* Class ``c`` has ``R = subspace_dim`` (default 32) vectors ``w_c1 .. w_cR`` in the embedding
  space (Glorot-uniform, one ``D x C*R`` matrix, column ``c*R + k``), each normalised to unit
  length when used, never orthonormalised. They are *frozen* in every head by default, as in all
  three author implementations; ``trainable_subspaces=True`` makes them trainable where a head's
  centres are (the SSL head unless ``ssl_trainable_centres=false``).
* ``P_c(x) = sum_k <x, w_ck> w_ck`` for the normalised embedding ``x``; the class logit is the
  cosine between ``x`` and ``P_c(x)``: with ``a_k = <x, w_ck>`` and the Gram matrix
  ``G_c = (<w_ck, w_cl>)``, ``cos_c = (sum_k a_k^2) / sqrt(a^T G_c a)`` (computed through the
  R x R Gram matrices). For orthonormal ``w_c`` this is ``||a||``, 1 when ``x`` is in the span.
* The scale follows the author's AdaProj update, without gradient, on every training batch before
  use: ``M = max(s cos)``, ``B = mean_b sum_j e_bj`` with ``e_bj = exp(s cos_bj - M)`` where
  ``y_bj < 1`` and ``exp(-M)`` where ``y_bj = 1`` (the labelled class of a clip that is not mixed
  counts as ``exp(0)``), ``theta_b = sum_j y_bj theta_bj``, and
  ``s = (M + log B) / cos(min(pi/4, median theta)) + 1e-7``; it starts at ``sqrt(2) ln(C - 1)``.
  No sub-clusters.
* Softmax over the class logits and Keras' categorical cross-entropy, soft labels allowed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..components import LossHead
from ..errors import ConfigError
from .adacos import SubClusterAdaCos, initial_scale, register_centres, tfp_median
from .crossentropy import KERAS_EPSILON

GRAM_EPSILON = 1e-12


def subspace_cosine(x: torch.Tensor, bases: torch.Tensor, n_classes: int, subspace_dim: int) -> torch.Tensor:
    """Cosine between every unit row of ``x`` (B x D) and its projection onto each class subspace.

    ``bases``: D x (C*R), column ``c*R + k`` = basis vector ``k`` of class ``c``, unit length.
    Computed through the R x R Gram matrices, never materialising the B x C x D projections.
    """
    a = (x @ bases).reshape(x.shape[0], n_classes, subspace_dim)  # <x, w_ck>
    w = bases.reshape(bases.shape[0], n_classes, subspace_dim)
    gram = torch.einsum("dcr,dcs->crs", w, w)
    along = (a * a).sum(dim=2)  # <x, P_c(x)>
    norm_sq = torch.einsum("bcr,crs,bcs->bc", a, gram, a)  # ||P_c(x)||^2
    return along / torch.sqrt(norm_sq.clamp_min(GRAM_EPSILON))


def adaproj_scale(scale: torch.Tensor, cos: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The author's AdaProj scale update from one batch's cosines (B, C) and (soft) labels."""
    logits = scale * cos
    m = logits.max()
    terms = torch.where(labels < 1, torch.exp(logits - m), torch.exp(-m))
    b_avg = terms.sum(dim=1).mean()
    theta = torch.acos(cos.clamp(-1.0 + KERAS_EPSILON, 1.0 - KERAS_EPSILON))
    theta_class = (labels * theta).sum(dim=1)
    median = torch.clamp(tfp_median(theta_class), max=math.pi / 4)
    return (m + torch.log(b_avg)) / torch.cos(median) + KERAS_EPSILON


class AdaProj(SubClusterAdaCos):
    """AdaProj: cosine to the projection onto a class subspace (dim 32, frozen), adaptive scale."""

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool, subspace_dim: int = 32,
                 trainable_subspaces: bool = False) -> None:
        LossHead.__init__(self)
        if n_classes < 1:
            raise ConfigError(f"loss adaproj: n_classes must be positive, got {n_classes}")
        if isinstance(subspace_dim, bool) or not isinstance(subspace_dim, int) or not 1 <= subspace_dim <= embedding_dim:
            raise ConfigError(
                f"loss adaproj: option subspace_dim must be an integer in [1, {embedding_dim}] (the embedding size), "
                f"got {subspace_dim!r}"
            )
        if not isinstance(trainable_subspaces, bool):
            raise ConfigError(f"loss adaproj: option trainable_subspaces must be true or false, got {trainable_subspaces!r}")
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.subspace_dim = int(subspace_dim)
        self.sub_clusters = 1  # one logit per class for the inherited probabilities
        self.trainable_subspaces = trainable_subspaces
        self.trainable = bool(trainable) and trainable_subspaces
        register_centres(self, "centres", self.embedding_dim, self.n_classes * self.subspace_dim, self.trainable)
        self.register_buffer("scale", torch.tensor(initial_scale(self.n_classes)))

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Cosine of every embedding to its projection onto each class subspace: (B, C), float32."""
        x = F.normalize(embeddings.float(), dim=1, eps=1e-12)
        bases = F.normalize(self.centres.float(), dim=0, eps=1e-12)
        return subspace_cosine(x, bases, self.n_classes, self.subspace_dim)

    @torch.no_grad()
    def update_scale(self, cos: torch.Tensor, labels: torch.Tensor) -> None:
        """One step of the author's AdaProj scale rule (see the module docstring)."""
        self.scale.copy_(adaproj_scale(self.scale, cos, labels.float()))

    def extra_repr(self) -> str:
        return (f"embedding_dim={self.embedding_dim}, n_classes={self.n_classes}, subspace_dim={self.subspace_dim}, "
                f"trainable={self.trainable}, trainable_subspaces={self.trainable_subspaces}")
