"""A strided convolution of one input channel, computed as a stride-1 convolution of its
space-to-depth rearrangement: the spectrogram stem (1 -> 16 channels, 7x7, stride 2) is the layer
this is for.

Why: with one input channel oneDNN runs the stem, the network's largest layer by output size
(64 x 16 x 281 x 257 at the paper preset), far from the matmul rate in all three directions
(forward, weight gradient, input gradient; the input gradient trains the per-frequency input
batch norm). Split the zero-padded input into its ``s x s`` phases (``pixel_unshuffle``): the
same convolution is then a stride-1 ``ceil(k/s) x ceil(k/s)`` convolution over ``s*s`` input
channels with the kernel's phases (zero-padded to a multiple of ``s``), which oneDNN runs 1.5-3x
faster in each direction on 2 CPU cores. Autograd differentiates the rearrangement, so both
gradients come for free. Equal to ``conv2d`` up to float rounding (the zero taps add nothing;
tests/test_speed_paths.py compares values and gradients in float64).

The phases are built in one copy from the padded input, already in channels-last order (phase
is the fastest-varying index) and, under autocast, already in the autocast dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def phase_kernel(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``(O, 1, k, k)`` -> ``(O, s*s, D, D)``, ``D = ceil(k/s)``: channel ``a*s + b`` holds the taps
    ``weight[..., s*i + a, s*j + b]`` (zero beyond the kernel)."""
    k = weight.shape[-1]
    extra = math.ceil(k / stride) * stride - k
    return F.pixel_unshuffle(F.pad(weight, (0, extra, 0, extra)), stride)


def space_to_depth_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: int,
                          padding: tuple[tuple[int, int], tuple[int, int]]) -> torch.Tensor:
    """``conv2d`` of the ``(B, 1, H, W)`` input zero-padded by ``padding`` = ``((top, bottom),
    (left, right))`` with the square ``(O, 1, k, k)`` ``weight`` and ``stride``; output in
    channels-last memory."""
    if torch.is_autocast_enabled(x.device.type):
        dtype = torch.get_autocast_dtype(x.device.type)
        weight = weight.to(dtype)
    else:
        dtype = x.dtype
    batch, _, height, width = x.shape
    k = weight.shape[-1]
    d = math.ceil(k / stride)
    (top, bottom), (left, right) = padding
    out_h = (top + height + bottom - k) // stride + 1
    out_w = (left + width + right - k) // stride + 1
    rows, cols = out_h + d - 1, out_w + d - 1  # the phase image's size
    padded = F.pad(x[:, 0], (left, cols * stride - left - width, top, rows * stride - top - height))
    phases = torch.empty((batch, rows, cols, stride, stride), dtype=dtype, device=x.device)
    phases.copy_(padded.view(batch, rows, stride, cols, stride).permute(0, 1, 3, 2, 4))  # one pass: reorder + cast
    phases = phases.view(batch, rows, cols, stride * stride).permute(0, 3, 1, 2)  # (B, s*s, rows, cols), NHWC
    return F.conv2d(phases, phase_kernel(weight, stride))
