"""Mixup: the formula, its probability (alone vs composed), label handling."""

from __future__ import annotations

import pytest
import torch
from asdbench import ConfigError, PluginError

from asdbench_ssl import FeatEx, Mixup, StatEx


def test_mixes_waveforms_and_labels_with_one_lambda_per_sample():
    g = torch.Generator().manual_seed(0)
    wave = torch.randn(8, 1000, generator=g)
    labels = torch.softmax(torch.randn(8, 7, generator=g), dim=1)
    out, y = Mixup(p=1.0)(wave, labels, torch.Generator().manual_seed(11))
    replay = torch.Generator().manual_seed(11)
    lam = torch.rand(8, generator=replay)  # draw order: lambda, then coin flips (reversed partner: no draw)
    for i in range(8):
        j = 7 - i
        torch.testing.assert_close(out[i], lam[i] * wave[i] + (1 - lam[i]) * wave[j])
        torch.testing.assert_close(y[i], lam[i] * labels[i] + (1 - lam[i]) * labels[j])
    assert y.shape == labels.shape
    torch.testing.assert_close(y.sum(dim=1), torch.ones(8))


def test_p_is_1_alone_and_half_when_composed_unless_given():
    alone = Mixup()
    alone.bind([alone])
    assert alone.p == 1.0
    for other in (StatEx(), FeatEx()):
        composed = Mixup()
        composed.bind([composed, other])
        assert composed.p == 0.5
        assert composed.options() == {"p": 0.5, "partner": "reversed"}
    explicit = Mixup(p=0.8)
    explicit.bind([explicit, StatEx()])
    assert explicit.p == 0.8
    assert Mixup().probability == 1.0  # unbound: the baseline's value


def test_unmixed_rows_are_bit_identical():
    wave = torch.randn(64, 50)
    labels = torch.eye(64)
    out, y = Mixup(p=0.5)(wave, labels, torch.Generator().manual_seed(2))
    kept = (y == labels).all(dim=1)
    assert 15 < kept.sum() < 49
    assert torch.equal(out[kept], wave[kept])
    assert not torch.equal(out[~kept], wave[~kept])


def test_errors():
    with pytest.raises(ConfigError, match="option p must be a probability"):
        Mixup(p=-0.1)
    with pytest.raises(ConfigError, match="unknown option 'alpha' for augmenter 'mixup'"):
        Mixup(alpha=1.0)
    with pytest.raises(PluginError, match="labels of shape"):
        Mixup()(torch.randn(4, 10), torch.eye(5), torch.Generator())
    with pytest.raises(PluginError, match="batched tensor"):
        Mixup()(torch.randn(10), torch.eye(10), torch.Generator())
