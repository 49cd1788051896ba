"""A strided single-input-channel convolution whose input gradient is computed as a polyphase
convolution: the spectrogram stem (1 -> 16 channels, 7x7, stride 2) is the layer this is for.

Why: the stem's input gradient is needed (it trains the per-frequency input batch norm), and
oneDNN computes it as a transposed convolution with one output channel, its slowest case: about
0.42 s per paper-preset batch in bf16 on 2 cores, a fifth of a training step. Split by the
stride's phases, the same gradient is an ordinary stride-1 convolution of the output gradient
with ``s*s`` small kernels (16 -> 4 channels, 4x4), followed by ``pixel_shuffle``: about 2x faster,
and equal up to float rounding (tests/test_speed_paths.py checks it against autograd's).

For output gradient ``g`` of ``y[t] = sum_k w[k] * x_pad[s*t + k]``, the gradient of the padded
input at ``r = s*q + a`` is ``sum_d g[q - d] * w[s*d + a]`` (``w`` zero-padded to a multiple of
``s``): per phase ``a``, a correlation of ``g`` (padded by ``D - 1``, ``D = ceil(K / s)``) with the
flipped kernel ``w[s*d + a]``. In 2-D the ``s*s`` phases become the channels ``a*s + b`` that
``pixel_shuffle`` interleaves.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def polyphase_kernels(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``(O, 1, K, K)`` -> ``(s*s, O, D, D)``: the flipped phase kernels of the input gradient."""
    k = weight.shape[-1]
    d = math.ceil(k / stride)
    padded = F.pad(weight[:, 0], (0, d * stride - k, 0, d * stride - k))  # (O, sD, sD)
    phases = [padded[:, a::stride, b::stride].flip(1, 2) for a in range(stride) for b in range(stride)]
    return torch.stack(phases, 0)


def polyphase_input_grad(grad: torch.Tensor, weight: torch.Tensor, stride: int, padding: tuple[int, int],
                         size: tuple[int, int]) -> torch.Tensor:
    """Gradient w.r.t. the ``(B, 1, H, W)`` input of ``conv2d(x, weight, stride, padding)``."""
    kernels = polyphase_kernels(weight, stride).to(grad.dtype)
    if grad.is_contiguous(memory_format=torch.channels_last):
        kernels = kernels.contiguous(memory_format=torch.channels_last)
    d = kernels.shape[-1]
    phases = F.conv2d(F.pad(grad, (d - 1, d - 1, d - 1, d - 1)), kernels)  # (B, s*s, To+D-1, Wo+D-1)
    full = F.pixel_shuffle(phases, stride)  # gradient of the zero-padded input, from index 0
    (h, w), (ph, pw) = size, padding
    return full[..., ph:ph + h, pw:pw + w]


class _PolyphaseConv(torch.autograd.Function):
    """``conv2d`` forward; backward with the weight gradient from oneDNN and the input gradient
    from :func:`polyphase_input_grad`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: int, padding: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return F.conv2d(x, weight, None, stride, padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        stride, padding = ctx.stride, ctx.padding
        grad_x = grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = torch.ops.aten.convolution_backward(
                grad, x, weight, None, (stride, stride), padding, (1, 1), False, (0, 0), 1, (False, True, False))[1]
        if ctx.needs_input_grad[0]:
            grad_x = polyphase_input_grad(grad, weight, stride, padding, tuple(x.shape[-2:])).to(x.dtype)
        return grad_x, grad_w, None, None


def polyphase_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: tuple[int, int]) -> torch.Tensor:
    """``F.conv2d(x, weight, None, stride, padding)`` for one input channel, with the faster input
    gradient. Under autocast the inputs are cast as ``conv2d`` would cast them."""
    if x.shape[1] != 1 or weight.shape[1] != 1 or weight.shape[-1] != weight.shape[-2]:
        return F.conv2d(x, weight, None, stride, padding)
    if torch.is_autocast_enabled(x.device.type):
        dtype = torch.get_autocast_dtype(x.device.type)
        x, weight = x.to(dtype), weight.to(dtype)
    return _PolyphaseConv.apply(x, weight, stride, padding)
