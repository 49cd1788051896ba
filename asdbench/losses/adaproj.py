"""AdaProj (Wilkinghoff, "AdaProj: Adaptively scaled angular margin subspace projections for
anomalous sound detection with auxiliary classification tasks", DCASE 2024 Workshop / arXiv
2403.14179): every class owns a learned subspace instead of a centre.

What is implemented (the paper is not on disk; ``docs/losses.md`` lists what could not be checked):

* Class ``c`` has ``R = subspace_dim`` (default 32) vectors ``w_c1 .. w_cR`` in the embedding
  space (Glorot-uniform, one ``D x C*R`` matrix, column ``c*R + k``), each normalised to unit
  length when used.
* The projection of the normalised embedding ``x`` onto class ``c`` is
  ``P_c(x) = sum_k <x, w_ck> w_ck``, and the class logit is the cosine between ``x`` and
  ``P_c(x)``: with ``a_k = <x, w_ck>`` and the Gram matrix ``G_c = (<w_ck, w_cl>)``,
  ``cos_c = (sum_k a_k^2) / sqrt(a^T G_c a)``. For orthonormal ``w_c`` this is ``||a||``, the
  cosine of the angle between ``x`` and the subspace; it is 1 when ``x`` lies in the span.
* The scale is AdaCos' adaptive scale, updated without gradient on every training batch before
  use, exactly as for :class:`~asdbench.losses.adacos.AdaCos` (one logit per class). Default
  ``faithful_scale=False``: AdaCos' own rule (median angle of the labelled class); ``True`` uses
  the sub-cluster AdaCos reference code's label-count quirk.
* Softmax over the class logits and Keras' categorical cross-entropy, soft labels allowed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..components import LossHead
from ..errors import ConfigError
from .adacos import SubClusterAdaCos, initial_scale, register_centres

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


class AdaProj(SubClusterAdaCos):
    """AdaProj: cosine to the projection onto a learned class subspace (dim 32), adaptive scale."""

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool, subspace_dim: int = 32,
                 faithful_scale: bool = False) -> None:
        LossHead.__init__(self)
        if n_classes < 1:
            raise ConfigError(f"loss adaproj: n_classes must be positive, got {n_classes}")
        if isinstance(subspace_dim, bool) or not isinstance(subspace_dim, int) or not 1 <= subspace_dim <= embedding_dim:
            raise ConfigError(
                f"loss adaproj: option subspace_dim must be an integer in [1, {embedding_dim}] (the embedding size), "
                f"got {subspace_dim!r}"
            )
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.subspace_dim = int(subspace_dim)
        self.sub_clusters = 1  # one logit per class for the inherited scale update and probabilities
        self.trainable = bool(trainable)
        self.faithful_scale = bool(faithful_scale)
        register_centres(self, "centres", self.embedding_dim, self.n_classes * self.subspace_dim, self.trainable)
        self.register_buffer("scale", torch.tensor(initial_scale(self.n_classes)))

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Cosine of every embedding to its projection onto each class subspace: (B, C), float32."""
        x = F.normalize(embeddings.float(), dim=1, eps=1e-12)
        bases = F.normalize(self.centres.float(), dim=0, eps=1e-12)
        return subspace_cosine(x, bases, self.n_classes, self.subspace_dim)

    def extra_repr(self) -> str:
        return (f"embedding_dim={self.embedding_dim}, n_classes={self.n_classes}, subspace_dim={self.subspace_dim}, "
                f"trainable={self.trainable}, faithful_scale={self.faithful_scale}")
