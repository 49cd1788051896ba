"""Factory background: coloured noise, mains hum and a distant machine, plus non-target events
(metal hits, speech-like bursts) at random times.

The stationary part is scaled to RMS 1, so a type's SNR is defined against it; events come on
top at their own levels, as a passing forklift does not ask for permission.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dsp


@dataclass(frozen=True)
class Environment:
    """One recording environment (a domain may move the machine into another one)."""

    name: str
    slope_db: float  # noise colour, dB per octave
    rumble: tuple[float, float, float]  # low-frequency bump: centre Hz, width Hz, gain dB
    hum_hz: float  # mains frequency
    hum_level: float  # hum amplitude relative to the noise
    distant_f0: tuple[float, float]  # fundamental range of a distant, non-target machine (Hz)
    distant_level: float
    hits_per_s: float
    hit_hz: tuple[float, float]  # resonance range of the hits
    hit_db: tuple[float, float]  # hit peak over background RMS
    speech_per_s: float
    speech_db: tuple[float, float]  # burst RMS over background RMS


ENVIRONMENTS: dict[str, Environment] = {
    env.name: env
    for env in (
        Environment("factory_a", -3.0, (120.0, 60.0, 8.0), 50.0, 0.25, (29.0, 31.0), 0.3, 0.35, (700.0, 3500.0), (4.0, 12.0), 0.06, (-10.0, -3.0)),
        Environment("factory_b", -4.5, (70.0, 40.0, 10.0), 60.0, 0.35, (47.0, 50.0), 0.4, 0.2, (1500.0, 6000.0), (2.0, 10.0), 0.1, (-8.0, -2.0)),
        Environment("factory_c", -2.0, (200.0, 120.0, 6.0), 50.0, 0.15, (19.0, 20.0), 0.25, 0.6, (400.0, 2500.0), (3.0, 10.0), 0.04, (-12.0, -5.0)),
    )
}


def stationary(rng: np.random.Generator, env: Environment, n: int, sr: int) -> np.ndarray:
    """Noise + hum + distant machine, RMS 1; colour and levels vary a little per clip."""
    f = dsp.rfft_freqs(n, sr)
    gain = dsp.tilt(f, env.slope_db + rng.uniform(-0.3, 0.3)) * dsp.band(f, 25.0, 7600.0, 3.0)
    centre, width, db = env.rumble
    gain = gain * dsp.peaks_gain(f, [(centre * rng.uniform(0.92, 1.08), width, db + rng.uniform(-1, 1))])
    noise = dsp.shaped_noise(rng, n, gain)

    hum_phase = dsp.phase_from_freq(env.hum_hz * (1 + 0.001 * rng.standard_normal()), n, sr)
    hum = dsp.harmonic_osc(rng, hum_phase, np.array([1.0, 0.6, 0.35, 0.2, 0.1]), jitter_db=3.0)

    f0 = rng.uniform(*env.distant_f0)
    distant_freq = f0 * (1.0 + 0.003 * dsp.smooth_noise(rng, n, 0.5, sr))
    amps = dsp.harmonic_amps(f0, sr, slope_db=-6.0, max_harmonics=40)
    amps = amps * dsp.band(f0 * np.arange(1.0, 41.0), 0.0, 1500.0, 1.0)  # far away: dull
    distant = dsp.harmonic_osc(rng, dsp.phase_from_freq(distant_freq, n, sr), amps, jitter_db=4.0)

    hum_level = env.hum_level * 10 ** (rng.uniform(-2, 2) / 20)
    distant_level = env.distant_level * 10 ** (rng.uniform(-2, 2) / 20)
    return dsp.unit_rms(noise + hum_level * hum + distant_level * distant)


def hits(rng: np.random.Generator, env: Environment, n: int, sr: int) -> np.ndarray:
    """Metal hits, each with its own resonances (a handful per 10 s at most)."""
    out = np.zeros(n)
    for t in dsp.poisson_times(rng, env.hits_per_s, n / sr):
        freqs = rng.uniform(*env.hit_hz, size=3)
        kernel = dsp.resonance_kernel(freqs, rng.uniform(0.005, 0.04, 3), rng.uniform(0.3, 1.0, 3), sr)
        start = int(t * sr)
        seg = kernel[: n - start] * 10 ** (rng.uniform(*env.hit_db) / 20)
        out[start : start + len(seg)] += seg
    return out


def speech_bursts(rng: np.random.Generator, env: Environment, n: int, sr: int) -> np.ndarray:
    """Speech-like bursts: a gliding voiced source, syllable envelope and random formants."""
    out = np.zeros(n)
    for t in dsp.poisson_times(rng, env.speech_per_s, n / sr):
        start = int(t * sr)
        length = min(int(rng.uniform(0.4, 1.2) * sr), n - start)
        if length < sr // 20:
            continue
        f0 = rng.uniform(100.0, 230.0) * (1.0 + 0.08 * dsp.smooth_noise(rng, length, 4.0, sr))
        source = dsp.harmonic_osc(
            rng, dsp.phase_from_freq(f0, length, sr), dsp.harmonic_amps(230.0, sr, slope_db=-9.0, max_harmonics=30)
        )
        fl = dsp.rfft_freqs(length, sr)
        formants = [(rng.uniform(450, 850), 90.0, 18.0), (rng.uniform(1000, 2100), 140.0, 14.0), (rng.uniform(2300, 3200), 200.0, 10.0)]
        voiced = dsp.fft_filter(source, dsp.peaks_gain(fl, formants) * dsp.band(fl, 90.0, 4000.0))
        tt = np.arange(length) / sr
        syllables = np.clip(np.sin(np.pi * tt * rng.uniform(3.5, 5.5) + rng.uniform(0, np.pi)), 0.0, None) ** 0.7
        window = np.sqrt(np.clip(np.sin(np.pi * tt / tt[-1]), 0.0, None))
        burst = dsp.unit_rms(voiced * syllables * window) * 10 ** (rng.uniform(*env.speech_db) / 20)
        out[start : start + length] += burst
    return out


def render(rng: np.random.Generator, env_name: str, n: int, sr: int) -> np.ndarray:
    """The full background of one clip (stationary part RMS 1, events on top)."""
    env = ENVIRONMENTS[env_name]
    return stationary(rng, env, n, sr) + hits(rng, env, n, sr) + speech_bursts(rng, env, n, sr)
