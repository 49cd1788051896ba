"""ArcFace (Deng et al., "ArcFace: Additive angular margin loss for deep face recognition", CVPR 2019).

Logits ``s * cos(theta_j + m)`` for the labelled class and ``s * cos(theta_j)`` for the others,
``theta_j`` the angle between the embedding and the centre of class ``j``; softmax and Keras'
cross-entropy. Defaults are the paper's: ``scale = 64``, ``margin = 0.5``.

The cross-entropy is computed from the logits (``log_softmax``), not with Keras' clipped
probabilities as the AdaCos heads are: at a fixed scale of 64 a freshly initialised network
gives the labelled class probabilities far below Keras' 1e-7 clip, where the clipped loss has
no gradient at all and training would never start.

Soft labels (mixup, the exchange strategies' ``y/2`` blocks) interpolate the margin per class:
``logit_j = s * (y_j * cos(theta_j + m) + (1 - y_j) * cos(theta_j))``, exactly the one-hot
formula when the labels are one-hot. Where ``theta_j + m`` would pass pi, ``cos(theta + m)`` stops
decreasing; like the paper's released code the target logit then continues linearly as
``cos(theta) - m * sin(m)`` (its ``easy_margin=False`` branch), so the penalty stays monotonic.
"""

from __future__ import annotations

import math

import torch

from ..components import LossHead
from ..errors import ConfigError
from .adacos import cosine_to_centres, register_centres
from .crossentropy import KERAS_EPSILON, check_labels, soft_cross_entropy


def arcface_logits(cos: torch.Tensor, labels: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """``s * (y * phi(theta) + (1 - y) * cos(theta))`` with ``phi`` the monotonic margin cosine."""
    cos = cos.clamp(-1.0 + KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    sin = torch.sqrt(1.0 - cos * cos)
    with_margin = cos * math.cos(margin) - sin * math.sin(margin)  # cos(theta + m)
    beyond_pi = cos <= math.cos(math.pi - margin)  # theta + m >= pi
    with_margin = torch.where(beyond_pi, cos - margin * math.sin(margin), with_margin)
    y = labels.to(cos.dtype)
    return scale * (y * with_margin + (1.0 - y) * cos)


class ArcFace(LossHead):
    """ArcFace: additive angular margin m on the labelled class, fixed scale s (64, 0.5)."""

    centres: torch.Tensor

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool, scale: float = 64.0,
                 margin: float = 0.5) -> None:
        super().__init__()
        if n_classes < 1:
            raise ConfigError(f"loss arcface: n_classes must be positive, got {n_classes}")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ConfigError(f"loss arcface: option scale must be a positive number, got {scale!r}")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < math.pi / 2:
            raise ConfigError(f"loss arcface: option margin must be a number in [0, pi/2), got {margin!r}")
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.trainable = bool(trainable)
        self.scale = float(scale)
        self.margin = float(margin)
        register_centres(self, "centres", self.embedding_dim, self.n_classes, self.trainable)

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``normalize(x) @ normalize(W)`` in float32: (B, C)."""
        return cosine_to_centres(embeddings, self.centres)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Class probabilities without the margin (the margin needs labels): ``softmax(s * cos)``."""
        return torch.softmax(self.scale * self.cosine(embeddings), dim=1)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_labels(labels, self.n_classes, type(self).__name__)
        logits = arcface_logits(self.cosine(embeddings), labels.float(), self.scale, self.margin)
        return soft_cross_entropy(logits, labels.float())

    def extra_repr(self) -> str:
        return (f"embedding_dim={self.embedding_dim}, n_classes={self.n_classes}, scale={self.scale}, "
                f"margin={self.margin}, trainable={self.trainable}")
