"""Keras' ``categorical_crossentropy`` on probabilities, reproduced exactly.

Keras (``from_logits=False``) first renormalises the predicted probabilities to sum to one,
clips them to ``[1e-7, 1 - 1e-7]``, then takes ``-sum(y * log(p))``; the loss is the batch mean.
"""

from __future__ import annotations

import torch

KERAS_EPSILON = 1e-7


def keras_categorical_crossentropy(probabilities: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum(y * log(clip(p / sum(p))))`` (soft labels allowed)."""
    p = probabilities / probabilities.sum(dim=-1, keepdim=True)
    p = p.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    return -(labels * torch.log(p)).sum(dim=-1).mean()


def check_labels(labels: torch.Tensor, n_classes: int, head: str) -> None:
    """A clear error when a head gets labels of the wrong width (a wiring mistake)."""
    if labels.dim() != 2 or labels.shape[1] != n_classes:
        raise ValueError(f"loss {head}: expected labels of shape (batch, {n_classes}), got {tuple(labels.shape)}")


def soft_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum(y * log_softmax(z))``: unclipped, for heads with large logits."""
    return -(labels * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
