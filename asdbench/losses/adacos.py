"""Sub-cluster AdaCos (reference-system.md §4.1) and plain AdaCos (one sub-cluster per class).

Centres ``W`` (embedding_dim x C*S, Glorot-uniform, column ``c*S + k`` is sub-cluster ``k`` of class
``c``) are a trainable parameter or, when frozen, a buffer, so no optimizer can ever touch them.
The scale ``s`` is a buffer, never trained by gradient: it starts at ``sqrt(2) * ln(C*S - 1)``
and, in training mode, is updated without gradient on every batch *before* it is used.

``faithful_scale=True`` (default) computes the update exactly as the reference code does:
the label-weighted angle is ``sum_j y_rep_j * theta_j * count_nonzero(y)`` where ``y_rep`` is the
label repeated over the S sub-clusters, so it sums S angles (x2 under mixup) and nearly always
exceeds pi/4. The ``min(pi/4, theta_med)`` then makes the rule
``s = sqrt(2) * (M + log(mean_b sum_j exp(s*cos_bj - M))) + 1e-7``. That quirk is not hard-coded:
it emerges from the literal computation. ``faithful_scale=False`` is the rule as intended (our
reading of it): the angle of a sample to a class is its angle to the *nearest* sub-cluster of that
class, weighted by the (soft) label, so ``theta_med`` is a real angle and
``cos(min(pi/4, theta_med))`` matters; with S = 1 and one-hot labels this is AdaCos' own median
angle (the M / B_avg part is the reference's, over all logits, in both modes).
The median is TensorFlow-Probability's default ``percentile(q=50)`` ('nearest': the sorted value at
index ``round_half_even((B-1)/2)``, the upper median for even B).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..components import LossHead
from ..errors import ConfigError
from .crossentropy import KERAS_EPSILON, check_labels, keras_categorical_crossentropy


def initial_scale(n_logits: int) -> float:
    """AdaCos' fixed starting scale ``sqrt(2) * ln(n - 1)`` (n = number of logits, C*S)."""
    if n_logits < 2:
        raise ConfigError(f"AdaCos needs at least 2 logits (classes x sub-clusters), got {n_logits}")
    return math.sqrt(2.0) * math.log(n_logits - 1)


def register_centres(module: nn.Module, name: str, rows: int, columns: int, trainable: bool) -> None:
    """A Glorot-uniform ``rows x columns`` matrix on ``module``: a parameter when trainable, else a
    buffer (so no optimizer can ever touch frozen centres). Keras' glorot_uniform: fan_in = rows,
    fan_out = columns."""
    centres = torch.empty(rows, columns)
    nn.init.xavier_uniform_(centres)
    if trainable:
        setattr(module, name, nn.Parameter(centres))
    else:
        module.register_buffer(name, centres)


def cosine_to_centres(embeddings: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``normalize(x) @ normalize(W)`` in float32: rows of ``x`` against the columns of ``W``."""
    x = F.normalize(embeddings.float(), dim=1, eps=1e-12)
    return x @ F.normalize(centres.float(), dim=0, eps=1e-12)


def tfp_median(values: torch.Tensor) -> torch.Tensor:
    """``tfp.stats.percentile(values, 50)`` with its default 'nearest' interpolation."""
    ordered = torch.sort(values).values
    index = round((values.numel() - 1) * 0.5)  # Python's round is half-to-even, as tf.round
    return ordered[index]


class SubClusterAdaCos(LossHead):
    """Sub-cluster AdaCos loss: cosine logits to S centres per class, adaptive scale, Keras CE."""

    centres: torch.Tensor
    scale: torch.Tensor

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool, sub_clusters: int = 16,
                 faithful_scale: bool = True) -> None:
        super().__init__()
        if n_classes < 1:
            raise ConfigError(f"loss sub-cluster-adacos: n_classes must be positive, got {n_classes}")
        if sub_clusters < 1:
            raise ConfigError(f"loss sub-cluster-adacos: sub_clusters must be positive, got {sub_clusters}")
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.sub_clusters = int(sub_clusters)
        self.trainable = bool(trainable)
        self.faithful_scale = bool(faithful_scale)
        register_centres(self, "centres", self.embedding_dim, self.n_classes * self.sub_clusters, self.trainable)
        self.register_buffer("scale", torch.tensor(initial_scale(self.n_classes * self.sub_clusters)))

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``normalize(x) @ normalize(W)`` in float32: (B, C*S)."""
        return cosine_to_centres(embeddings, self.centres)

    @torch.no_grad()
    def update_scale(self, cos: torch.Tensor, labels: torch.Tensor) -> None:
        """One adaptive-scale step from the batch's cosines and (soft) labels."""
        s = self.scale
        logits = s * cos
        m = logits.max()
        b_avg = torch.exp(logits - m).sum(dim=1).mean()
        theta = torch.acos(cos.clamp(-1.0 + KERAS_EPSILON, 1.0 - KERAS_EPSILON))
        y = labels.float()
        if self.faithful_scale:
            y_rep = y.repeat_interleave(self.sub_clusters, dim=1)
            theta_class = (y_rep * theta).sum(dim=1) * (labels != 0).sum(dim=1).float()
            new = (m + torch.log(b_avg)) / torch.cos(torch.clamp(tfp_median(theta_class), max=math.pi / 4)) + KERAS_EPSILON
        else:
            nearest = theta.reshape(-1, self.n_classes, self.sub_clusters).amin(dim=2)  # (B, C)
            theta_class = (y * nearest).sum(dim=1)
            new = (m + torch.log(b_avg)) / torch.cos(torch.clamp(tfp_median(theta_class), max=math.pi / 4))
        self.scale.copy_(new)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Class probabilities (B, C) with the current scale: softmax over C*S, summed per class."""
        return self._class_probabilities(self.cosine(embeddings), self.scale.clone())

    def _class_probabilities(self, cos: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(scale * cos, dim=1)
        return p.reshape(-1, self.n_classes, self.sub_clusters).sum(dim=2)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_labels(labels, self.n_classes, type(self).__name__)
        cos = self.cosine(embeddings)
        if self.training:
            self.update_scale(cos.detach(), labels)
        # A copy of the scale: the next batch's in-place update must not invalidate this graph.
        return keras_categorical_crossentropy(self._class_probabilities(cos, self.scale.clone()), labels.float())

    def extra_repr(self) -> str:
        return (f"embedding_dim={self.embedding_dim}, n_classes={self.n_classes}, sub_clusters={self.sub_clusters}, "
                f"trainable={self.trainable}, faithful_scale={self.faithful_scale}")


class AdaCos(SubClusterAdaCos):
    """Plain AdaCos: one centre per class (sub-cluster AdaCos with S = 1)."""

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool, faithful_scale: bool = True) -> None:
        super().__init__(embedding_dim, n_classes, trainable, sub_clusters=1, faithful_scale=faithful_scale)
