"""Keras-equivalent building blocks: batch norm with Keras defaults, Glorot init, SE block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Keras BatchNormalization(momentum=0.99, epsilon=1e-3); PyTorch's momentum is 1 - Keras'.
BN_MOMENTUM = 0.01
BN_EPS = 1e-3


def batch_norm_1d(features: int) -> nn.BatchNorm1d:
    """Batch norm over (B, C) or (B, C, L) with Keras defaults."""
    return nn.BatchNorm1d(features, eps=BN_EPS, momentum=BN_MOMENTUM)


def batch_norm_2d(channels: int) -> nn.BatchNorm2d:
    """Batch norm over (B, C, H, W) with Keras defaults."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def glorot_uniform_(module: nn.Module) -> None:
    """Keras' default kernel init (PyTorch's default is Kaiming-uniform) for every conv/dense kernel.

    ``xavier_uniform_`` uses fan_in = in_channels * receptive field and fan_out = out_channels *
    receptive field, exactly Keras' ``glorot_uniform`` for conv and dense kernels.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: global average pool -> Dense(C/r, ReLU) -> Dense(C, sigmoid) -> scale.

    Both dense layers have no bias (as in the reference) and are not L2-penalised. Works on
    (B, C, L) and (B, C, H, W) inputs.
    """

    def __init__(self, channels: int, ratio: int = 16) -> None:
        super().__init__()
        hidden = max(channels // ratio, 1)
        self.reduce = nn.Linear(channels, hidden, bias=False)
        self.expand = nn.Linear(hidden, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean(dim=tuple(range(2, x.dim())))
        gate = torch.sigmoid(self.expand(F.relu(self.reduce(squeezed))))
        return x * gate.reshape(gate.shape + (1,) * (x.dim() - 2))
