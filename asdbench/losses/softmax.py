"""Softmax cross-entropy head: a bias-free linear classifier on the embedding, Keras CE."""

from __future__ import annotations

import torch
from torch import nn

from ..components import LossHead
from ..errors import ConfigError
from .crossentropy import check_labels, keras_categorical_crossentropy


class SoftmaxCrossEntropy(LossHead):
    """Linear classifier (no bias, Glorot-uniform) + softmax + categorical cross-entropy.

    With ``trainable=False`` the classifier is a fixed random projection (a buffer).
    """

    weight: torch.Tensor

    def __init__(self, embedding_dim: int, n_classes: int, trainable: bool) -> None:
        super().__init__()
        if n_classes < 1:
            raise ConfigError(f"loss softmax: n_classes must be positive, got {n_classes}")
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.trainable = bool(trainable)
        weight = torch.empty(self.n_classes, self.embedding_dim)
        nn.init.xavier_uniform_(weight)
        if self.trainable:
            self.weight = nn.Parameter(weight)
        else:
            self.register_buffer("weight", weight)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        return torch.softmax(embeddings.float() @ self.weight.float().t(), dim=1)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_labels(labels, self.n_classes, type(self).__name__)
        return keras_categorical_crossentropy(self.probabilities(embeddings), labels.float())
