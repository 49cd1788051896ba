"""An inference copy of the two-branch embedder with every batch norm that directly follows a
convolution or dense layer folded into that layer's weights and bias, and the stem's max-pool
computed without indices (:class:`SeparableMaxPool2d`).

Why: in eval mode such a batch norm is a fixed per-channel affine map, so ``BN(conv(x)) =
conv'(x) + b'`` with ``w' = w * scale`` and ``b' = beta - mean * scale``. Folding removes a full
memory pass over the layer's output (the stem's is the network's largest activation), about 5%
of extraction time on a 2-core CPU, and changes the embeddings by float rounding only
(tests/test_speed_paths.py). Batch norms that precede a ReLU-convolution (the units' ``pre_bn``,
the per-frequency input BN, the head BN) cannot be folded that way and stay. The training copy is
never touched: extraction works on a deep copy.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from .two_branch import TwoBranchEmbedder


class SeparableMaxPool2d(nn.Module):
    """Valid-padding max-pooling as a max over the kernel's rows, then over its columns, of
    strided views: the same values as ``F.max_pool2d`` (a maximum is exact), without the int64
    index tensor PyTorch's CPU kernel writes even when nothing needs it (about 25% faster on the
    stem's output). Inference only: ties would route gradients differently."""

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size, self.stride
        rows = (x.shape[-2] - k) // s * s + 1  # span of the first tap's rows
        cols = (x.shape[-1] - k) // s * s + 1
        out = x[..., 0:rows:s, :]
        for i in range(1, k):
            out = torch.maximum(out, x[..., i:i + rows:s, :])
        pooled = out[..., 0:cols:s]
        for j in range(1, k):
            pooled = torch.maximum(pooled, out[..., j:j + cols:s])
        return pooled


@torch.no_grad()
def fold_batch_norm_(layer: nn.Conv1d | nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> None:
    """Fold the eval-mode ``bn`` that follows ``layer`` into ``layer`` (in place)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    if layer.bias is not None:
        shift = shift + layer.bias * scale
    layer.weight.mul_(scale.reshape(-1, *([1] * (layer.weight.dim() - 1))))
    layer.bias = nn.Parameter(shift, requires_grad=False)


def folded_copy(embedder: TwoBranchEmbedder) -> TwoBranchEmbedder:
    """A deep copy in eval mode with the foldable batch norms folded away (see the module doc)."""
    folded = copy.deepcopy(embedder).eval()
    for p in folded.parameters():
        p.requires_grad_(False)
    net = folded.spectrogram
    fold_batch_norm_(net.stem_conv, net.stem_bn)
    net.stem_bn = nn.Identity()
    net.stem_pool = SeparableMaxPool2d(net.stem_pool.kernel_size, net.stem_pool.stride)
    for unit in net.units:
        if not unit.relu_before_bn and not unit.bn_reads_input:  # conv -> BN -> ReLU; otherwise BN follows no conv
            fold_batch_norm_(unit.conv1, unit.bn)
            unit.bn = nn.Identity()
    spectrum = folded.spectrum
    for i, (dense, bn) in enumerate(zip(spectrum.dense, spectrum.bn, strict=True)):
        fold_batch_norm_(dense, bn)
        spectrum.bn[i] = nn.Identity()
    return folded
