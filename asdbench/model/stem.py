"""The spectrogram stem's batch norm and max-pool as one autograd node that keeps less for backward.

Why: the stem's output (64 x 16 x 281 x 257 at the paper preset) is the network's largest
activation. Run as ``max_pool2d(batch_norm(c))``, autograd keeps three tensors of that size or
larger until the backward pass reaches the stem: the convolution output ``c`` (batch norm's
input), the batch-norm output (the max-pool's input) and the max-pool's int64 indices (as large
as a bf16 copy of the input, 4x the pooled output). Together that is ~440 MB of a ~1.7 GB
bf16 step (more in fp32), all alive at the step's memory peak, the start of the backward pass.

This node computes exactly the same kernels (``native_batch_norm``, ``max_pool2d_with_indices``
and their backward kernels) but keeps only ``c``, batch norm's saved statistics and the argmax
positions as int16 offsets from each window's top-left corner (:mod:`.compact_pool`; 516 at
most at the paper preset). The batch-norm output is freed as soon
as it is pooled; the max-pool's backward kernel reads only the indices and the incoming gradient,
so ``c`` stands in for its input (same shape and memory format). Nothing is recomputed: the
extra work is one subtraction and two casts over the pooled output. Saves ~260 MB at the paper
preset in bf16 (~400 MB in fp32); values and gradients are bit-identical to the plain modules
(tests/test_model_stem.py).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .compact_pool import compact_indices, max_pool_backward


class _BatchNormMaxPool(torch.autograd.Function):
    """``max_pool2d(batch_norm(x, training=True), kernel, stride)`` (valid padding)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, running_mean: torch.Tensor,
                running_var: torch.Tensor, momentum: float, eps: float, kernel: int, stride: int) -> torch.Tensor:
        normed, save_mean, save_invstd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, True, momentum, eps)
        pooled, indices = torch.ops.aten.max_pool2d_with_indices(normed, [kernel, kernel], [stride, stride])
        del normed
        offsets = compact_indices(indices, x.shape[-1], kernel, stride)
        del indices
        ctx.save_for_backward(x, weight, running_mean, running_var, save_mean, save_invstd, offsets)
        ctx.eps, ctx.kernel, ctx.stride = eps, kernel, stride
        return pooled

    @staticmethod
    def backward(ctx: Any, grad_pooled: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, running_mean, running_var, save_mean, save_invstd, offsets = ctx.saved_tensors
        # x stands in for the pool's input (the batch-norm output): same shape and memory format.
        grad_normed = max_pool_backward(grad_pooled, x, offsets, ctx.kernel, ctx.stride)
        del offsets
        grad_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad_normed, x, weight, running_mean, running_var, save_mean, save_invstd, True, ctx.eps,
            [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]])
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None


def _plain(module: nn.Module, kind: type) -> bool:
    """Exactly ``kind`` with no hooks: the fused path bypasses the modules' ``__call__``."""
    hooks = (module._forward_hooks, module._forward_pre_hooks, nn.modules.module._global_forward_hooks,
             nn.modules.module._global_forward_pre_hooks)
    return type(module) is kind and not any(hooks)


def batch_norm_max_pool(x: torch.Tensor, bn: nn.Module, pool: nn.Module) -> torch.Tensor:
    """``pool(bn(x))``; for a training-mode ``BatchNorm2d`` and a valid-padding ``MaxPool2d``
    (plain modules, no hooks) with gradients recorded, on CPU, through :class:`_BatchNormMaxPool` (same values, gradients and
    running-statistics updates, less memory kept for backward). Anything else (eval mode, the
    folded inference copy's modules) runs the modules as they are."""
    if not (_plain(bn, nn.BatchNorm2d) and _plain(pool, nn.MaxPool2d)) or x.device.type != "cpu":
        return pool(bn(x))  # subclasses and hooks keep their call; CUDA keeps cuDNN's batch norm
    kernel, stride = pool.kernel_size, pool.stride
    fusable = (bn.training and torch.is_grad_enabled() and bn.track_running_stats and bn.affine
               and isinstance(kernel, int) and isinstance(stride, int) and pool.padding == 0
               and pool.dilation == 1 and not pool.ceil_mode and not pool.return_indices
               and bn.momentum is not None and x.dim() == 4)
    if not fusable:
        return pool(bn(x))
    assert bn.num_batches_tracked is not None and bn.running_mean is not None and bn.running_var is not None
    bn.num_batches_tracked.add_(1)  # as nn.BatchNorm2d.forward does (the state_dict stays the same)
    return _BatchNormMaxPool.apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                   bn.momentum, bn.eps, kernel, stride)
