"""Front-end magnitudes against a direct numpy computation."""

from __future__ import annotations

import numpy as np
import torch

from asdbench.model.frontend import MagnitudeSTFT, magnitude_spectrum, stft_frames


def _numpy_stft(x: np.ndarray) -> np.ndarray:
    n = np.arange(1024)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 1024)  # periodic Hann
    frames = 1 + (x.shape[-1] - 1024) // 512
    out = np.empty((x.shape[0], frames, 513))
    for t in range(frames):
        out[:, t] = np.abs(np.fft.rfft(x[:, t * 512 : t * 512 + 1024] * window, axis=-1))
    return out


def test_stft_frame_counts() -> None:
    assert stft_frames(288000) == 561
    assert stft_frames(160000) == 311
    assert stft_frames(32000) == 61
    assert stft_frames(1024) == 1
    assert stft_frames(1023) == 0


def test_magnitude_stft_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 32000)).astype(np.float32)
    ours = MagnitudeSTFT()(torch.from_numpy(x)).numpy()
    ref = _numpy_stft(x.astype(np.float64))
    assert ours.shape == (2, 61, 513)
    assert np.max(np.abs(ours - ref)) <= 1e-4 * np.max(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4 * ref.max())


def test_magnitude_spectrum_matches_numpy_dc_kept_nyquist_dropped() -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 288000)) + 0.25).astype(np.float32)  # non-zero DC
    ours = magnitude_spectrum(torch.from_numpy(x)).numpy()
    ref = np.abs(np.fft.fft(x.astype(np.float64), axis=-1))[:, :144000]
    assert ours.shape == (2, 144000)
    assert np.max(np.abs(ours - ref)) <= 1e-4 * np.max(ref)
    np.testing.assert_allclose(ours[:, 0], np.abs(x.astype(np.float64).sum(axis=1)), rtol=1e-4)


def test_chunked_front_end_equals_one_call_and_keeps_gradients(monkeypatch) -> None:
    from asdbench.model import frontend

    wave = torch.randn(11, 5000)
    stft = MagnitudeSTFT()
    whole = magnitude_spectrum(wave), stft(wave)
    monkeypatch.setattr(frontend, "SPECTRUM_CHUNK_CLIPS", 3)
    monkeypatch.setattr(frontend, "STFT_CHUNK_CLIPS", 4)
    chunked = magnitude_spectrum(wave), stft(wave)
    for a, b in zip(whole, chunked, strict=True):
        assert b.shape == a.shape and b.is_contiguous() and torch.equal(a, b)
    # a differentiable input takes the single call, so gradients still reach it
    wave.requires_grad_()
    (magnitude_spectrum(wave).sum() + stft(wave).sum()).backward()
    assert wave.grad is not None and wave.grad.abs().sum() > 0
