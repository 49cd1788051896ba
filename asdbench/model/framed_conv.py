"""A strided 1-D convolution computed as one matrix product over non-overlapping frames.

Why: the spectrum branch's Conv1D layers have long kernels and large strides (256/64, 64/32,
16/4). oneDNN runs them as 2-D convolutions of height 1 at a fraction of the matmul rate (on 2
cores, the first two took about 12% of an extraction step). Cut the padded input into frames of
``s`` samples (a free reshape of a ``(B, L, C)`` tensor) and a kernel of ``k <= D*s`` taps covers
exactly ``D = ceil(k/s)`` consecutive frames, so

    out[t] = sum_j frames[t + j] @ W_j        (j = 0 .. D-1, W_j = the kernel's j-th frame)

is a single ``(B*Lf, s*C) @ (s*C, D*O)`` matmul followed by ``D - 1`` shifted additions: no
im2col copy, and autograd derives both gradients from the matmul. With one input channel that
matmul would have only ``s`` columns to reduce over and ``D`` times the output to write, so the
first layer instead multiplies its ``k``-sample windows (one im2col copy, ``K = k``). Same numbers
as ``conv1d`` up to float rounding (the sum over ``j`` is taken in a different order;
tests/test_model_tf_same.py compares them in float64).

Layout: the input and the output are ``(B, C, L)`` tensors whose *memory* is channels-last
(``(B, L, C)``, i.e. ``x.transpose(1, 2)`` is contiguous). That is what the matmul produces and
what the next framed convolution, the SE block and the Keras-order flatten of the spectrum
branch want, so the branch never transposes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def framed_kernel(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``(O, C, k)`` -> ``(s*C, D*O)``: entry ``[r*C + c, j*O + o] = weight[o, c, j*s + r]``."""
    out_ch, in_ch, k = weight.shape
    d = math.ceil(k / stride)
    padded = F.pad(weight, (0, d * stride - k))  # zero taps beyond the kernel
    return padded.reshape(out_ch, in_ch, d, stride).permute(3, 1, 2, 0).reshape(stride * in_ch, d * out_ch)


def framed_conv1d(x: torch.Tensor, weight: torch.Tensor, stride: int, pad_before: int, out_length: int) -> torch.Tensor:
    """``conv1d`` of the ``(B, C, L)`` input, zero-padded by ``pad_before`` (and at the end as
    needed), with ``weight`` ``(O, C, k)`` and ``stride``; ``out_length`` outputs ``(B, O, Lo)``
    in channels-last memory."""
    batch, in_ch, length = x.shape
    out_ch, _, k = weight.shape
    if in_ch == 1:  # frames of s samples would make a K = s matmul: windows (im2col) are faster
        windows = F.pad(x[:, 0], (pad_before, (out_length - 1) * stride + k - pad_before - length))
        windows = windows.unfold(-1, k, stride)  # (B, Lo, k) view; the matmul copies it once
        return torch.matmul(windows, weight[:, 0].t()).transpose(1, 2)
    d = math.ceil(k / stride)
    n_frames = out_length + d - 1
    rows = x.transpose(1, 2)  # (B, L, C): free when x is channels-last, one copy otherwise
    rows = F.pad(rows, (0, 0, pad_before, n_frames * stride - pad_before - length))
    frames = rows.reshape(batch, n_frames, stride * in_ch)
    y = torch.matmul(frames, framed_kernel(weight, stride)).view(batch, n_frames, d, out_ch)
    out = y[:, :out_length, 0]
    for j in range(1, d):
        out = out + y[:, j:j + out_length, j]
    return out.transpose(1, 2)
