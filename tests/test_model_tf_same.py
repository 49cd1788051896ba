"""TensorFlow 'same' padding: amounts, convolution and max-pool equivalence."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from equivalence import run_both_with_gradients

from asdbench.model.tf_same import Conv1dSame, Conv2dSame, MaxPool2dSame, same_padding


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (561, 7, 2, (3, 3)),  # stem, time
        (513, 7, 2, (3, 3)),  # stem, frequency
        (140, 3, 2, (0, 1)),  # stage 3: odd total, extra element at the end
        (35, 3, 2, (1, 1)),  # stage 5, time
        (32, 3, 2, (0, 1)),  # stage 5, frequency
        (140, 3, 1, (1, 1)),
        (35, 2, 2, (0, 1)),  # shortcut max-pool
        (70, 2, 2, (0, 0)),
        (144000, 256, 64, (96, 96)),  # spectrum conv 1
        (2250, 64, 32, (27, 27)),  # spectrum conv 2
        (71, 16, 4, (6, 7)),  # spectrum conv 3
        (1, 256, 64, (127, 128)),
        (10, 1, 1, (0, 0)),
    ],
)
def test_same_padding_amounts(size: int, kernel: int, stride: int, expected: tuple[int, int]) -> None:
    assert same_padding(size, kernel, stride) == expected
    before, after = expected
    assert (size + before + after - kernel) // stride + 1 == math.ceil(size / stride)


def test_conv2d_same_matches_manual_padding() -> None:
    torch.manual_seed(0)
    conv = Conv2dSame(3, 5, 3, stride=2)
    x = torch.randn(2, 3, 140, 35)
    # time: (0, 1) padding, frequency: (1, 1)
    expected = F.conv2d(F.pad(x, (1, 1, 0, 1)), conv.weight, None, 2)
    out = conv(x)
    assert out.shape == (2, 5, 70, 18)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    assert conv.bias is None


def test_conv1d_same_matches_manual_padding() -> None:
    torch.manual_seed(0)
    conv = Conv1dSame(2, 4, 16, stride=4)
    x = torch.randn(3, 2, 71)
    expected = F.conv1d(F.pad(x, (6, 7)), conv.weight, None, 4)
    out = conv(x)
    assert out.shape == (3, 4, 18)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_maxpool_same_pads_with_minus_infinity() -> None:
    x = -torch.arange(1.0, 36.0).reshape(1, 1, 35, 1).expand(1, 1, 35, 3).contiguous()  # all negative
    out = MaxPool2dSame(2)(x)
    assert out.shape == (1, 1, 18, 2)
    # the last time window holds only the last row (-35): zero padding would give 0 instead
    assert out[0, 0, -1, 0].item() == -35.0
    assert out[0, 0, 0, 0].item() == -1.0
    # the last frequency window holds only column 2
    assert torch.equal(out[0, 0, :, 1], out[0, 0, :, 0])


@pytest.mark.parametrize(("in_ch", "out_ch", "kernel", "stride", "length"), [
    (1, 8, 256, 64, 1000),  # the spectrum branch's first layer (kernel = 4 frames), padded at both ends
    (6, 5, 64, 32, 71),  # kernel = 2 frames
    (3, 4, 16, 4, 71),
    (2, 3, 7, 3, 20),  # kernel not a multiple of the stride
    (2, 3, 3, 4, 21),  # kernel shorter than the stride: input samples are skipped
])
def test_framed_conv1d_equals_conv1d_values_and_gradients(in_ch, out_ch, kernel, stride, length) -> None:
    torch.manual_seed(0)
    plain = Conv1dSame(in_ch, out_ch, kernel, stride).double()
    framed = Conv1dSame(in_ch, out_ch, kernel, stride, framed=True).double()
    x = torch.randn(3, in_ch, length, dtype=torch.float64)
    _, out = run_both_with_gradients(plain, framed, x)
    assert out.shape == (3, out_ch, -(-length // stride))
    assert out.transpose(1, 2).is_contiguous()  # channels-last memory, as documented


def test_framed_conv1d_takes_channels_last_input_without_changing_values() -> None:
    torch.manual_seed(1)
    conv = Conv1dSame(4, 3, 16, 4, framed=True)
    x = torch.randn(2, 4, 40)
    channels_last = x.transpose(1, 2).contiguous().transpose(1, 2)
    assert torch.equal(conv(x), conv(channels_last))
