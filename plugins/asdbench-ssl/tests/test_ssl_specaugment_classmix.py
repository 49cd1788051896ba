"""SpecAugment and class-mixup pseudo anomalies against numpy re-computations from the same draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asdbench import ConfigError, PluginError
from asdbench.testing import tiny_batch, tiny_features

from asdbench_ssl import ClassMix, SpecAugment


def _np_bands(u: np.ndarray, max_width: int, size: int) -> np.ndarray:
    """SpecAugment's masks, written out per clip and mask: width U{0..W}, start U{0..size-width}."""
    mask = np.zeros((u.shape[0], size), dtype=bool)
    for b in range(u.shape[0]):
        for m in range(u.shape[1]):
            width = int(u[b, m, 0] * (max_width + 1))
            start = int(u[b, m, 1] * (size - width + 1))
            mask[b, start:start + width] = True
    return mask


@pytest.mark.parametrize("fill, p", [("mean", 1.0), ("zero", 0.5)])
def test_specaugment_masks_bands_drawn_from_the_generator(fill, p):
    feats, labels = tiny_features(batch_size=6, samples=16000, seed=1)
    x = feats["spectrogram"]  # 6 x 30 x 513
    aug = SpecAugment(freq_masks=2, freq_width=40, time_masks=3, time_width=100, max_time_ratio=0.2, p=p, fill=fill)
    out, y = aug(feats, labels, torch.Generator().manual_seed(5))
    replay = torch.Generator().manual_seed(5)
    freq_u = torch.rand(6, 2, 2, generator=replay).double().numpy()
    time_u = torch.rand(6, 3, 2, generator=replay).double().numpy()
    applied = (torch.rand(6, generator=replay) < p).numpy()
    frames, bins = x.shape[1], x.shape[2]
    mask = _np_bands(time_u, int(0.2 * frames), frames)[:, :, None] | _np_bands(freq_u, 40, bins)[:, None, :]
    mask &= applied[:, None, None]
    xn = x.double().numpy()
    value = xn.mean(axis=(1, 2), keepdims=True) if fill == "mean" else np.zeros((6, 1, 1))
    expected = np.where(mask, np.broadcast_to(value, xn.shape), xn)
    np.testing.assert_allclose(out["spectrogram"].double().numpy(), expected, rtol=1e-6)
    assert mask.any() and (~mask).any()
    assert out["spectrum"] is feats["spectrum"] and y is labels  # other keys and the labels pass through
    # no time band is wider than max_time_ratio * T, no frequency band wider than freq_width
    assert int(0.2 * frames) < 10


def test_specaugment_zero_widths_is_identity_and_options_are_checked():
    feats, labels = tiny_features(batch_size=4, samples=8000)
    out, _ = SpecAugment(freq_width=0, time_width=0)(feats, labels, torch.Generator().manual_seed(0))
    assert torch.equal(out["spectrogram"], feats["spectrogram"])
    with pytest.raises(ConfigError, match="'specaugment' option freq_masks must be a non-negative integer"):
        SpecAugment(freq_masks=-1)
    with pytest.raises(ConfigError, match="option fill must be one of mean, zero"):
        SpecAugment(fill="noise")
    with pytest.raises(ConfigError, match="unknown option 'width'"):
        SpecAugment(width=3)
    with pytest.raises(PluginError, match="needs features\\['mel'\\]"):
        SpecAugment(key="mel")(feats, labels, torch.Generator())


def test_classmix_mixes_only_clips_of_different_classes_into_the_second_block():
    wave, labels = tiny_batch(batch_size=8, samples=2000, n_classes=3, seed=2)
    labels = 0.9 * labels + 0.1 * labels.roll(1, dims=0)  # soft labels, as after mixup
    out, y = ClassMix(p=0.7)(wave, labels, torch.Generator().manual_seed(9))
    replay = torch.Generator().manual_seed(9)
    scores = torch.rand(8, 8, generator=replay).numpy()
    lam = torch.rand(8, generator=replay).numpy()
    coins = (torch.rand(8, generator=replay) < 0.7).numpy()
    w, lab = wave.double().numpy(), labels.double().numpy()
    classes = lab.argmax(axis=1)
    mixed_any = False
    for i in range(8):
        others = [j for j in range(8) if classes[j] != classes[i]]
        if coins[i] and others:
            j = max(others, key=lambda k: scores[i, k])  # uniform among the other-class clips
            mixed_any = True
            np.testing.assert_allclose(out[i].double().numpy(), lam[i] * w[i] + (1 - lam[i]) * w[j], rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(y[i].double().numpy(), np.concatenate([np.zeros(3), lam[i] * lab[i] + (1 - lam[i]) * lab[j]]),
                                       rtol=1e-6)
        else:
            assert torch.equal(out[i], wave[i])
            np.testing.assert_allclose(y[i].double().numpy(), np.concatenate([lab[i], np.zeros(3)]))
    assert mixed_any and y.shape == (8, 6)
    torch.testing.assert_close(y.sum(dim=1), torch.ones(8))


def test_classmix_leaves_a_single_class_batch_alone_and_needs_class_labels():
    wave = torch.randn(4, 100)
    one_class = torch.eye(3)[[1, 1, 1, 1]]
    out, y = ClassMix(p=1.0)(wave, one_class, torch.Generator().manual_seed(0))
    assert torch.equal(out, wave) and torch.equal(y, torch.cat([one_class, torch.zeros(4, 3)], dim=1))
    with pytest.raises(PluginError, match="needs class labels"):
        ClassMix()(wave, torch.ones(4, 1), torch.Generator())
    with pytest.raises(ConfigError, match="option p must be a probability"):
        ClassMix(p=2)


def test_classmix_and_specaugment_compose_into_systems():
    from asdbench import resolve_system
    from asdbench.systems import build_training_model

    model, pipeline = build_training_model(resolve_system("regular+specaugment+classmix+featex"), 8000, 5)
    assert model.heads["ssl"].n_classes == 2 * 3 * 5 and model.heads["regular"].n_classes == 5
    assert [a.name for a in pipeline.by_stage["features"]] == ["specaugment"]
    assert resolve_system("specaugment").heads == ("regular",)  # factor 1: a plain augmentation
