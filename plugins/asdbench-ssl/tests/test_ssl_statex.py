"""StatEx against a direct numpy computation, for every axis option."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asdbench import ConfigError, PluginError

from asdbench_ssl import StatEx


def np_exchange(x: np.ndarray, partner: np.ndarray, axis: int) -> np.ndarray:
    """(X_i - mu_i) / (sigma_i + 1e-16) * sigma_p + mu_p, population std, written out in numpy."""
    mu = x.mean(axis=axis, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=axis, keepdims=True))
    return (x - mu) / (sigma + 1e-16) * sigma[partner] + mu[partner]


def spectrogram(batch: int = 6, frames: int = 21, bins: int = 33, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.1, 10, size=(batch, 1, 1))
    return torch.tensor(np.abs(rng.normal(size=(batch, frames, bins))) * level, dtype=dtype)


@pytest.mark.parametrize(("axis", "np_axis"), [("frequency", 2), ("time", 1)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_exchange_matches_numpy(axis, np_axis, dtype):
    x = spectrogram(dtype=dtype)
    other = torch.randn(6, 5)
    labels = torch.softmax(torch.randn(6, 4, generator=torch.Generator().manual_seed(5)), dim=1).to(dtype)
    out, y = StatEx(p=1.0, axis=axis)({"spectrogram": x, "spectrum": other}, labels, torch.Generator().manual_seed(0))
    expected = np_exchange(x.double().numpy(), np.arange(5, -1, -1), np_axis)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    np.testing.assert_allclose(out["spectrogram"].double().numpy(), expected, rtol=tol, atol=tol * np.abs(expected).max())
    assert out["spectrogram"].dtype == dtype and out["spectrogram"].shape == (6, 21, 33)
    assert out["spectrum"] is other  # other keys pass through untouched
    np.testing.assert_allclose(y.numpy(), np.concatenate([np.zeros((6, 4)), 0.5 * labels, 0.5 * labels.flip(0)], axis=1), atol=1e-7)


def test_exchanged_frames_carry_the_partners_statistics():
    x = spectrogram(batch=4)
    out, _ = StatEx(p=1.0)({"spectrogram": x}, torch.eye(4), torch.Generator().manual_seed(0))
    z = out["spectrogram"]
    torch.testing.assert_close(z.mean(dim=2), x.flip(0).mean(dim=2))
    torch.testing.assert_close(z.std(dim=2, correction=0), x.flip(0).std(dim=2, correction=0))


def test_kept_samples_are_bit_identical_and_labels_are_padded():
    x = spectrogram(batch=64, frames=8, bins=9, dtype=torch.float32)
    labels = torch.eye(5)[torch.arange(64) % 5]
    out, y = StatEx()({"spectrogram": x}, labels, torch.Generator().manual_seed(3))
    exchanged = y[:, :5].sum(dim=1) == 0
    assert 15 < exchanged.sum() < 49
    assert torch.equal(out["spectrogram"][~exchanged], x[~exchanged])
    assert not torch.isclose(out["spectrogram"][exchanged], x[exchanged]).all()
    assert torch.equal(y[~exchanged], torch.cat([labels, torch.zeros(64, 10)], dim=1)[~exchanged])
    torch.testing.assert_close(y.sum(dim=1), torch.ones(64))


def test_both_axes_uses_one_axis_per_exchanged_sample():
    x = spectrogram(batch=40, frames=12, bins=10)
    out, _ = StatEx(p=1.0, axis="both")({"spectrogram": x}, torch.eye(40), torch.Generator().manual_seed(1))
    partner = np.arange(39, -1, -1)
    by_freq = np_exchange(x.numpy(), partner, 2)
    by_time = np_exchange(x.numpy(), partner, 1)
    z = out["spectrogram"].numpy()
    used_freq = np.array([np.allclose(z[i], by_freq[i], rtol=1e-12, atol=1e-12) for i in range(40)])
    used_time = np.array([np.allclose(z[i], by_time[i], rtol=1e-12, atol=1e-12) for i in range(40)])
    assert np.all(used_freq ^ used_time)
    assert 8 <= used_time.sum() <= 32  # a fair coin per sample


def test_options_and_shape_errors():
    with pytest.raises(ConfigError, match="option axis must be one of frequency, time, both"):
        StatEx(axis="temporal")
    with pytest.raises(ConfigError, match="option p must be a probability"):
        StatEx(p=1.5)
    with pytest.raises(ConfigError, match="unknown option 'prob' for augmenter 'statex'"):
        StatEx(prob=0.5)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(PluginError, match=r"needs features\['spectrogram'\]; the embedder provides: mel"):
        StatEx()({"mel": torch.ones(2, 3, 4)}, torch.eye(2), gen)
    with pytest.raises(PluginError, match="batch x time x frequency"):
        StatEx()({"spectrogram": torch.ones(2, 3)}, torch.eye(2), gen)
    with pytest.raises(PluginError, match="labels of shape"):
        StatEx()({"spectrogram": torch.ones(2, 3, 4)}, torch.eye(3), gen)
    assert StatEx(axis="time", key="stft").options() == {"p": 0.5, "axis": "time", "key": "stft", "partner": "reversed"}
