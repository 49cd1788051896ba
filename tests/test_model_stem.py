"""The stem's fused batch norm + max-pool (asdbench/model/stem.py): the same numbers as the plain
modules, bit for bit, with less kept for the backward pass."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from asdbench.model.layers import batch_norm_2d
from asdbench.model.stem import batch_norm_max_pool


def _pair(channels: int = 16) -> tuple[nn.BatchNorm2d, nn.BatchNorm2d]:
    torch.manual_seed(0)
    bn = batch_norm_2d(channels)
    nn.init.uniform_(bn.weight, -1.0, 1.0)  # negative scales too: the max then picks other inputs
    nn.init.uniform_(bn.bias, -1.0, 1.0)
    return bn, copy.deepcopy(bn)


def _run(bn: nn.BatchNorm2d, x0: torch.Tensor, fused: bool, bf16: bool, grad_seed: int = 1):
    pool = nn.MaxPool2d(3, 2)
    x = x0.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        xi = x.to(torch.bfloat16) if bf16 else x
        y = batch_norm_max_pool(xi, bn, pool) if fused else pool(bn(xi))
    grad = torch.randn(y.shape, generator=torch.Generator().manual_seed(grad_seed)).to(y.dtype)
    y.backward(grad)
    return y, x.grad, bn.weight.grad, bn.bias.grad


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size", [(57, 61), (8, 9), (3, 3)])
def test_fused_stem_is_bit_identical_to_the_modules(bf16, channels_last, size):
    plain_bn, fused_bn = _pair()
    x0 = torch.randn(4, 16, *size)
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    plain = _run(plain_bn, x0, fused=False, bf16=bf16)
    fused = _run(fused_bn, x0, fused=True, bf16=bf16)
    for a, b in zip(plain, fused, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
    if fused[0][0, 0].numel() > 1:  # a 1 x 1 plane is contiguous in both formats
        assert fused[0].is_contiguous(memory_format=torch.channels_last) == channels_last
    assert torch.equal(fused_bn.running_mean, plain_bn.running_mean)
    assert torch.equal(fused_bn.running_var, plain_bn.running_var)
    assert int(fused_bn.num_batches_tracked) == int(plain_bn.num_batches_tracked) == 1
    assert fused_bn.state_dict().keys() == plain_bn.state_dict().keys()


def test_fused_stem_on_planes_too_wide_for_int16_offsets():
    plain_bn, fused_bn = _pair(channels=2)
    x0 = torch.randn(2, 2, 5, 16500)  # (k-1) * W + k - 1 >= 2**15: int32 offsets
    for a, b in zip(_run(plain_bn, x0, False, False), _run(fused_bn, x0, True, False), strict=True):
        assert torch.equal(a, b)


def _saved_bytes(fn) -> int:
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def test_fused_stem_keeps_the_input_and_int16_offsets_only():
    plain_bn, fused_bn = _pair()
    x = torch.randn(4, 16, 57, 61, requires_grad=True)
    pool = nn.MaxPool2d(3, 2)
    plain = _saved_bytes(lambda: pool(plain_bn(x)))
    fused = _saved_bytes(lambda: batch_norm_max_pool(x, fused_bn, pool))
    pooled = 4 * 16 * 28 * 30
    assert plain >= 2 * x.numel() * 4 + pooled * 8  # input, BN output, int64 indices
    assert fused <= x.numel() * 4 + pooled * 2 + 4096  # input, int16 offsets, per-channel stats


def test_eval_mode_and_folded_modules_take_the_plain_path():
    bn, _ = _pair()
    bn.eval()
    x = torch.randn(2, 16, 9, 9)
    pool = nn.MaxPool2d(3, 2)
    assert torch.equal(batch_norm_max_pool(x, bn, pool), pool(bn(x)))
    assert int(bn.num_batches_tracked) == 0
    assert torch.equal(batch_norm_max_pool(x, nn.Identity(), pool), pool(x))
    with torch.no_grad():
        bn.train()
        assert torch.equal(batch_norm_max_pool(x, bn, pool), pool(copy.deepcopy(bn)(x)))


# -- the shortcut max-pools (asdbench/model/compact_pool.py) -----------------------------------

@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("size", [(140, 128), (35, 33), (1, 1)])  # even, odd ('same' pads with -inf), tiny
def test_same_max_pool_keeps_compact_offsets_and_equal_gradients(bf16, size):
    from asdbench.model.tf_same import MaxPool2dSame

    torch.manual_seed(0)
    dtype = torch.bfloat16 if bf16 else torch.float32
    x0 = torch.randn(3, 8, *size).to(dtype).contiguous(memory_format=torch.channels_last)
    pool = MaxPool2dSame(2)
    results = []
    for compact in (False, True):
        x = x0.clone().requires_grad_()
        if compact:
            y = pool(x)
        else:
            padded = torch.nn.functional.pad(x, pool_padding(pool, x), value=-float("inf"))
            y = torch.nn.functional.max_pool2d(padded, 2, 2)
        grad = torch.randn(y.shape, generator=torch.Generator().manual_seed(1)).to(dtype)
        y.backward(grad)
        results.append((y, x.grad))
    (y_plain, g_plain), (y_fast, g_fast) = results
    assert torch.equal(y_fast, y_plain) and torch.equal(g_fast, g_plain)
    assert g_fast.is_contiguous(memory_format=torch.channels_last) or size == (1, 1)


def pool_padding(pool, x) -> list[int]:
    from asdbench.model.tf_same import _pads

    (top, bottom), (left, right) = _pads(x.shape[-2:], pool.kernel_size, pool.stride)
    return [left, right, top, bottom]


def test_compact_max_pool_keeps_only_int16_offsets():
    from asdbench.model.compact_pool import max_pool2d

    x = torch.randn(4, 16, 70, 64, requires_grad=True)
    plain = _saved_bytes(lambda: torch.nn.functional.max_pool2d(x, 2, 2))
    fast = _saved_bytes(lambda: max_pool2d(x, 2, 2))
    assert plain >= x.numel() * 4 + x.numel() // 4 * 8  # the input and int64 indices
    assert fast == x.numel() // 4 * 2  # int16 offsets only


def test_first_unit_skips_the_redundant_relu_exactly():
    """The stem ends in a ReLU, so the first unit's leading ReLU is the identity: the network
    with the skip computes what the literal one does, values and gradients."""
    from asdbench.model.two_branch import SpectrogramNet

    torch.manual_seed(0)
    fast = SpectrogramNet(40, 513)
    literal = copy.deepcopy(fast)
    assert fast.units[0].input_is_nonnegative and not any(u.input_is_nonnegative for u in fast.units[1:])
    literal.units[0].input_is_nonnegative = False
    x = torch.randn(4, 40, 513).abs()
    outs = []
    for net in (literal, fast):
        xi = x.clone().requires_grad_()
        y = net(xi)
        y.backward(torch.ones_like(y))
        outs.append((y, xi.grad, net.stem_conv.weight.grad))
    for a, b in zip(*outs, strict=True):
        assert torch.equal(a, b)


def test_hooked_or_subclassed_modules_keep_their_call():
    bn, _ = _pair()
    pool = nn.MaxPool2d(3, 2)
    calls = []
    bn.register_forward_hook(lambda module, args, out: calls.append("bn"))
    x = torch.randn(2, 16, 9, 9, requires_grad=True)
    batch_norm_max_pool(x, bn, pool).sum().backward()
    assert calls == ["bn"]

    class MyNorm(nn.BatchNorm2d):
        def forward(self, inp):
            calls.append("sub")
            return super().forward(inp)

    batch_norm_max_pool(x, MyNorm(16), pool)
    assert calls == ["bn", "sub"]
