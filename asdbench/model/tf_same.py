"""TensorFlow/Keras ``padding="same"`` for convolutions and max-pooling.

Keras pads ``total = max((ceil(n/s) - 1) * s + k - n, 0)`` elements along every spatial axis and,
when ``total`` is odd, puts the extra element at the *end*. PyTorch's built-in padding is
symmetric, so the odd element is added with one extra ``F.pad``. Max-pooling pads with ``-inf``
(TensorFlow ignores padded positions, which is the same thing for a max).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .compact_pool import max_pool2d
from .framed_conv import framed_conv1d
from .space_to_depth import space_to_depth_conv2d


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis of length ``size`` in TensorFlow's 'same' mode."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pads(sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> list[tuple[int, int]]:
    return [same_padding(n, k, s) for n, k, s in zip(sizes, kernel, stride, strict=True)]


def _extra_end_pad(pads: list[tuple[int, int]]) -> list[int]:
    """F.pad argument adding the odd element at the end of each axis (last axis first)."""
    flat: list[int] = []
    for before, after in reversed(pads):
        flat += [0, after - before]
    return flat


class Conv1dSame(nn.Conv1d):
    """``nn.Conv1d`` with Keras 'same' padding (computed from the input length at call time).

    ``framed``: compute it as one matmul over frames of ``stride`` samples (see
    :mod:`.framed_conv`; several times faster for long strided kernels on CPU); the output is
    then a ``(B, O, L)`` tensor with channels-last memory (except for one input channel without
    gradients, where ``conv1d`` is faster). The same numbers up to float rounding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = False,
                 framed: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, bias=bias)
        self.framed = framed and not bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _pads(x.shape[-1:], self.kernel_size, self.stride)
        # One input channel: the matmul form wins in training (oneDNN's weight gradient of that
        # shape is slow), conv1d wins in inference.
        if self.framed and (self.in_channels > 1 or torch.is_grad_enabled()):
            out_length = math.ceil(x.shape[-1] / self.stride[0])
            return framed_conv1d(x, self.weight, self.stride[0], pads[0][0], out_length)
        if pads[0][1] != pads[0][0]:
            x = F.pad(x, _extra_end_pad(pads))
        return F.conv1d(x, self.weight, self.bias, self.stride, pads[0][0])


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with Keras 'same' padding; symmetric parts use the convolution's own padding.

    ``space_to_depth``: while gradients are recorded, compute a strided convolution of one input
    channel as a stride-1 convolution of the input's phases (faster forward and backward on CPU,
    see :mod:`.space_to_depth`); inference keeps ``conv2d``, which is faster there. The same
    numbers up to float rounding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = False,
                 space_to_depth: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, bias=bias)
        self.space_to_depth = space_to_depth and in_channels == 1 and stride > 1 and not bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _pads(x.shape[-2:], self.kernel_size, self.stride)
        if self.space_to_depth and self.bias is None and torch.is_grad_enabled():
            return space_to_depth_conv2d(x, self.weight, self.stride[0], (pads[0], pads[1]))
        if any(after != before for before, after in pads):
            x = F.pad(x, _extra_end_pad(pads))
        return F.conv2d(x, self.weight, self.bias, self.stride, (pads[0][0], pads[1][0]))


class MaxPool2dSame(nn.Module):
    """Keras ``MaxPooling2D(pool, strides, padding="same")``: pads with -inf, extra element at the end."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        stride = self.kernel_size if stride is None else stride
        self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _pads(x.shape[-2:], self.kernel_size, self.stride)
        if any(p for pair in pads for p in pair):
            x = F.pad(x, [pads[1][0], pads[1][1], pads[0][0], pads[0][1]], value=-math.inf)
        (k, k_w), (s, s_w) = self.kernel_size, self.stride
        if k == k_w and s == s_w:  # square: keeps compact argmax offsets for backward
            return max_pool2d(x, k, s)
        return F.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=same"
