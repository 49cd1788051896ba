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


def channel_means(x: torch.Tensor) -> torch.Tensor:
    """Mean over every position of each channel: ``(B, C, ...) -> (B, C)``.

    float32: ``x.mean``. bf16/fp16 (autocast): a matmul with a constant ``1/n`` vector, over the
    tensor's own memory layout (channels-last or not, no copy). On CPU, PyTorch's reduced-precision
    reductions first copy the tensor to float32 and run 3-7x slower than this matmul, which
    accumulates in float32 too; the result is rounded to the input dtype once, like ``mean``'s.
    """
    spatial = tuple(range(2, x.dim()))
    if x.dtype == torch.float32 or x.dim() < 3:
        return x.mean(dim=spatial)
    b, c = x.shape[:2]
    n = x[0, 0].numel()
    rows = x.movedim(1, -1)
    if not x.is_contiguous() and rows.is_contiguous():  # channels-last memory: (B, positions, C)
        weights = torch.full((1, 1, n), 1.0 / n, dtype=x.dtype, device=x.device)
        return torch.matmul(weights, rows.reshape(b, n, c)).reshape(b, c)
    weights = torch.full((n, 1), 1.0 / n, dtype=x.dtype, device=x.device)
    return torch.matmul(x.reshape(b, c, n), weights).reshape(b, c)


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

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel weights, shaped to broadcast over ``x``: (B, C, 1[, 1])."""
        squeezed = channel_means(x)
        gate = torch.sigmoid(self.expand(F.relu(self.reduce(squeezed))))
        return gate.reshape(gate.shape + (1,) * (x.dim() - 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def add_to(self, shortcut: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``shortcut + se(x)``, for residual branches: ``addcmul`` (one pass) in float32; in
        bf16/fp16 a multiply and an in-place add, because CPU ``addcmul`` with a broadcast
        operand has no vectorised reduced-precision kernel (4x slower than the two passes)."""
        if x.dtype == torch.float32:
            return torch.addcmul(shortcut, x, self.gate(x))
        return (x * self.gate(x)).add_(shortcut)
