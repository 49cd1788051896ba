"""Max-pooling that keeps its argmax positions compactly for the backward pass.

Why: PyTorch's ``max_pool2d`` keeps its whole input and an int64 index per output until the
backward pass, although its backward kernel reads only the indices (and the input's shape and
memory format). In the spectrogram network the shortcut max-pools of stages 3-5 keep ~110 MB
that way at the paper preset in bf16, ~180 MB in fp32. Here the position of each maximum is
kept as its offset from the window's top-left corner, an int16 while ``(k - 1) * (W + 1) <
2**15`` for planes ``W`` columns wide (int32 beyond), and expanded to the kernel's int64 indices in
backward. The same kernels run, so values and gradients are bit-identical
(tests/test_model_stem.py).
"""

from __future__ import annotations

from typing import Any

import torch


def _window_origins(out_h: int, out_w: int, width: int, stride: int, device: torch.device) -> torch.Tensor:
    """Flat index ``stride*i*width + stride*j`` of each pooling window's top-left input position."""
    rows = torch.arange(out_h, device=device).mul_(stride * width)
    cols = torch.arange(out_w, device=device).mul_(stride)
    return rows[:, None] + cols[None, :]


def compact_indices(indices: torch.Tensor, width: int, kernel: int, stride: int) -> torch.Tensor:
    """``max_pool2d``'s flat int64 argmax indices (over planes of ``width`` columns) as offsets
    from each window's origin, in the smallest integer type that holds them."""
    origins = _window_origins(indices.shape[-2], indices.shape[-1], width, stride, indices.device)
    dtype = torch.int16 if (kernel - 1) * width + kernel - 1 < 2**15 else torch.int32
    offsets = torch.empty_like(indices, dtype=dtype)
    return torch.sub(indices, origins, out=offsets)


def expand_indices(offsets: torch.Tensor, width: int, stride: int) -> torch.Tensor:
    """The inverse of :func:`compact_indices`: int64 indices for the max-pool backward kernel."""
    origins = _window_origins(offsets.shape[-2], offsets.shape[-1], width, stride, offsets.device)
    indices = torch.empty_like(offsets, dtype=torch.int64)
    return torch.add(offsets, origins, out=indices)


def memory_format_of(x: torch.Tensor) -> torch.memory_format:
    """channels-last for NHWC tensors, else contiguous (what the pool kernels produce for ``x``)."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def max_pool_backward(grad: torch.Tensor, like: torch.Tensor, offsets: torch.Tensor, kernel: int,
                      stride: int) -> torch.Tensor:
    """The gradient of a valid-padding max-pool whose input had ``like``'s shape and memory
    format (``like``'s values are not read)."""
    indices = expand_indices(offsets, like.shape[-1], stride)
    return torch.ops.aten.max_pool2d_with_indices_backward(
        grad.contiguous(memory_format=memory_format_of(like)), like, [kernel, kernel], [stride, stride],
        [0, 0], [1, 1], False, indices)


class _CompactMaxPool2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        pooled, indices = torch.ops.aten.max_pool2d_with_indices(x, [kernel, kernel], [stride, stride])
        ctx.save_for_backward(compact_indices(indices, x.shape[-1], kernel, stride))
        ctx.shape, ctx.dtype, ctx.format = x.shape, x.dtype, memory_format_of(x)
        ctx.kernel, ctx.stride = kernel, stride
        return pooled

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (offsets,) = ctx.saved_tensors
        like = torch.empty(ctx.shape, dtype=ctx.dtype, device=grad.device, memory_format=ctx.format)
        return max_pool_backward(grad, like, offsets, ctx.kernel, ctx.stride), None, None


def max_pool2d(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """``F.max_pool2d(x, kernel, stride)`` (valid padding) that keeps only compact argmax offsets
    for backward when gradients are recorded."""
    if not (torch.is_grad_enabled() and x.requires_grad and x.dim() == 4):
        return torch.nn.functional.max_pool2d(x, kernel, stride)
    return _CompactMaxPool2d.apply(x, kernel, stride)
