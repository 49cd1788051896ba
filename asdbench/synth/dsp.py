"""Vectorised signal primitives the sound models are built from.

Everything here works on whole clips at once (no per-sample Python loops): oscillators are
wavetable look-ups driven by a phase array, noise is shaped in the frequency domain, impact
trains are impulse trains convolved with resonant kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import oaconvolve

TWO_PI = 2.0 * np.pi
TABLE_SIZE = 4096


def times(n: int, sr: int) -> np.ndarray:
    """Sample times in seconds."""
    return np.arange(n, dtype=np.float64) / sr


def unit_rms(x: np.ndarray) -> np.ndarray:
    """Scale to RMS 1 (silence stays silence)."""
    rms = float(np.sqrt(np.mean(x * x)))
    return x / rms if rms > 0 else x


def smooth_noise(rng: np.random.Generator, n: int, rate_hz: float, sr: int) -> np.ndarray:
    """Zero-mean, unit-variance random curve that changes about ``rate_hz`` times per second.

    Linear interpolation between Gaussian control points: cheap slow wander for speed drift,
    load fluctuation or amplitude flutter.
    """
    n_points = max(2, int(np.ceil(n / sr * rate_hz)) + 2)
    knots = rng.standard_normal(n_points)
    pos = np.linspace(0.0, n_points - 1.0, n, endpoint=False) + rng.uniform(0.0, 1.0)
    return np.interp(pos, np.arange(n_points), knots)


def phase_from_freq(freq: np.ndarray | float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Running phase (radians) of an oscillator whose instantaneous frequency is ``freq`` (Hz)."""
    if np.ndim(freq) == 0:
        return phase0 + TWO_PI * float(freq) * times(n, sr)
    return phase0 + TWO_PI * np.cumsum(freq) / sr


def harmonic_amps(
    f0: float,
    sr: int,
    *,
    slope_db: float = -3.0,
    peaks: Sequence[tuple[float, float, float]] = (),
    max_harmonics: int = 200,
    odd_even_db: float = 0.0,
) -> np.ndarray:
    """Amplitudes of harmonics 1..K of ``f0`` (K keeps the highest below 0.47 * sr).

    ``slope_db`` per harmonic number doubling, ``peaks`` as (centre Hz, bandwidth Hz, gain dB)
    resonances of the housing, ``odd_even_db`` extra gain of the odd harmonics.
    """
    k = np.arange(1, max_harmonics + 1, dtype=np.float64)
    f = k * f0
    db = slope_db * np.log2(k)
    for centre, bw, gain in peaks:
        db = db + gain * np.exp(-0.5 * ((f - centre) / bw) ** 2)
    db = db + np.where(k % 2 == 1, odd_even_db, 0.0)
    amps = 10.0 ** (db / 20.0)
    amps[f >= 0.47 * sr] = 0.0
    return amps


def wavetable(amps: np.ndarray, phases: np.ndarray | None = None) -> np.ndarray:
    """One period of ``sum_k amps[k-1] * cos(k * x + phases[k-1])``, sampled on TABLE_SIZE points,
    scaled so that the oscillator has RMS 1."""
    k_max = len(amps)
    if k_max >= TABLE_SIZE // 2:
        raise ValueError("too many harmonics for the wavetable")
    spec = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    ph = np.zeros(k_max) if phases is None else phases
    spec[1 : k_max + 1] = amps * np.exp(1j * ph)
    table = np.fft.irfft(spec, n=TABLE_SIZE)
    table = unit_rms(table)
    return np.append(table, table[0])  # guard point for interpolation


def osc(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Wavetable oscillator: linear interpolation of ``table`` at ``phase`` (radians)."""
    pos = phase * (TABLE_SIZE / TWO_PI)
    whole = np.floor(pos)
    frac = pos - whole
    idx = whole.astype(np.int64) & (TABLE_SIZE - 1)  # TABLE_SIZE is a power of two
    lo = np.take(table, idx)
    return lo + frac * (np.take(table, idx + 1) - lo)


def harmonic_osc(
    rng: np.random.Generator, phase: np.ndarray, amps: np.ndarray, jitter_db: float = 0.5
) -> np.ndarray:
    """Harmonic tone with random harmonic phases and a little random level per harmonic."""
    a = amps * 10.0 ** (jitter_db * rng.standard_normal(len(amps)) / 20.0)
    table = wavetable(a, rng.uniform(0.0, TWO_PI, len(amps)))
    return osc(table, phase)


def rfft_freqs(n: int, sr: int) -> np.ndarray:
    return np.fft.rfftfreq(n, 1.0 / sr)


def shaped_noise(rng: np.random.Generator, n: int, gain: np.ndarray) -> np.ndarray:
    """Gaussian noise with the magnitude response ``gain`` (on ``rfft_freqs(n)``), RMS 1."""
    spec = np.fft.rfft(rng.standard_normal(n)) * gain
    return unit_rms(np.fft.irfft(spec, n=n))


def fft_filter(x: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Zero-phase filtering with the magnitude response ``gain`` on ``rfft_freqs(len(x))``."""
    return np.fft.irfft(np.fft.rfft(x) * gain, n=len(x))


def band(f: np.ndarray, lo: float, hi: float, order: float = 2.0) -> np.ndarray:
    """Smooth band-pass magnitude response (Butterworth-like, lo/hi in Hz; 0 disables an edge)."""
    g = np.ones_like(f)
    if lo > 0:
        g = g / np.sqrt(1.0 + (lo / np.maximum(f, 1e-3)) ** (2 * order))
    if hi > 0:
        g = g / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return g


def tilt(f: np.ndarray, db_per_octave: float, ref_hz: float = 1000.0) -> np.ndarray:
    """Spectral tilt around ``ref_hz`` (pink noise is -3 dB per octave)."""
    return (np.maximum(f, 20.0) / ref_hz) ** (db_per_octave / (20.0 * np.log10(2.0)))


def peaks_gain(f: np.ndarray, peaks: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Sum of Gaussian resonance bumps (centre Hz, bandwidth Hz, gain dB) on a flat response."""
    db = np.zeros_like(f)
    for centre, bw, gain in peaks:
        db = db + gain * np.exp(-0.5 * ((f - centre) / bw) ** 2)
    return 10.0 ** (db / 20.0)


def resonance_kernel(
    freqs: Sequence[float], decays: Sequence[float], amps: Sequence[float], sr: int
) -> np.ndarray:
    """Impulse response of a bank of damped resonances (decay time constants in seconds),
    normalised to peak 1: the sound of one click, hit or impact."""
    length = int(np.ceil(6.0 * max(decays) * sr)) + 1
    t = np.arange(length) / sr
    k = np.zeros(length)
    for f, tau, a in zip(freqs, decays, amps, strict=True):
        k += a * np.exp(-t / tau) * np.sin(TWO_PI * f * t)
    return k / np.max(np.abs(k))


def impact_train(n: int, positions: np.ndarray, amps: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Place ``kernel`` at the sample ``positions`` with the given amplitudes (one convolution)."""
    out = np.zeros(n)
    pos = np.asarray(positions)
    if pos.size == 0:
        return out
    idx = np.rint(pos).astype(np.int64)
    keep = (idx >= 0) & (idx < n)
    np.add.at(out, idx[keep], np.asarray(amps, dtype=np.float64)[keep] if np.ndim(amps) else amps)
    return oaconvolve(out, kernel)[:n]


def cycle_positions(phase: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Sample positions where ``phase`` (radians, increasing) passes ``offset + 2*pi*k``:
    once-per-revolution events of a rotating part, following its speed exactly."""
    turns = np.floor((phase - offset) / TWO_PI)
    return np.flatnonzero(np.diff(turns) > 0) + 1.0


def poisson_times(rng: np.random.Generator, rate_hz: float, duration: float) -> np.ndarray:
    """Event times (seconds) of a Poisson process."""
    count = rng.poisson(rate_hz * duration)
    return np.sort(rng.uniform(0.0, duration, count))


def jittered_grid(
    rng: np.random.Generator, period: float, duration: float, jitter: float, start: float
) -> np.ndarray:
    """Times ``start + k*period`` (k >= 0 covering the clip) with Gaussian timing jitter."""
    k = np.arange(int(np.ceil((duration - start) / period)) + 1)
    t = start + k * period + jitter * rng.standard_normal(len(k))
    return t[(t >= 0) & (t < duration)]
