"""What every sound model receives, the model registry, and helpers shared by the families.

A model turns the attributes of one clip (and, for anomalous clips, a fault kind and amount)
into the machine's sound. Convention: the *normal* sound (with any fault that modifies it) is
scaled to RMS 1 with :func:`dsp.unit_rms`; additive faults are then added with amplitudes
relative to that RMS, which is what the amounts in ``params.MACHINES`` mean; microphone/path
filters come last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import dsp


@dataclass
class Ctx:
    """One clip to render: its random stream, length, attributes and fault (if any)."""

    rng: np.random.Generator
    n: int
    sr: int
    attrs: dict[str, str]
    anomaly: str | None = None
    amount: float = 0.0

    def fault(self, kind: str) -> float:
        """The fault amount if this clip has fault ``kind``, else 0."""
        return self.amount if self.anomaly == kind else 0.0

    @property
    def freqs(self) -> np.ndarray:
        return dsp.rfft_freqs(self.n, self.sr)

    @property
    def duration(self) -> float:
        return self.n / self.sr


Model = Callable[[Ctx], np.ndarray]
MODELS: dict[str, Model] = {}


def model(name: str) -> Callable[[Model], Model]:
    """Register the sound model of machine type ``name``."""

    def deco(fn: Model) -> Model:
        MODELS[name] = fn
        return fn

    return deco


def speed_curve(ctx: Ctx, nominal: float, *, offset: float = 0.004, wander: float = 0.002, rate: float = 0.7) -> np.ndarray:
    """Instantaneous rate (Hz or m/s): nominal, a per-clip offset and a slow wander."""
    rng = ctx.rng
    return nominal * (1.0 + offset * rng.standard_normal()) * (1.0 + wander * dsp.smooth_noise(rng, ctx.n, rate, ctx.sr))


def flutter(ctx: Ctx, depth: float, rate: float = 12.0) -> np.ndarray:
    """Fast random speed modulation (1 + depth * noise): a worn motor or slack belt."""
    return 1.0 + depth * dsp.smooth_noise(ctx.rng, ctx.n, rate, ctx.sr)


def mic_gain(f: np.ndarray, mic: str) -> np.ndarray:
    """Microphone 1 is close (flat); microphone 2 is farther away: thinner and duller."""
    if mic == "1":
        return np.ones_like(f)
    return dsp.band(f, 150.0, 3000.0, 1.0) * 1.2


def crackle(ctx: Ctx, rate_hz: float) -> np.ndarray:
    """Brush or bearing crackle: random short high-frequency clicks, RMS 1."""
    rng = ctx.rng
    t = dsp.poisson_times(rng, rate_hz, ctx.duration)
    kernel = dsp.resonance_kernel([4500.0, 6300.0], [0.0004, 0.0003], [1.0, 0.7], ctx.sr)
    amps = rng.lognormal(0.0, 0.6, len(t)) * rng.choice([-1.0, 1.0], len(t))
    return dsp.unit_rms(dsp.impact_train(ctx.n, t * ctx.sr, amps, kernel) + 1e-12)


def noise_band(ctx: Ctx, lo: float, hi: float, flutter_rate: float = 0.0, flutter_depth: float = 0.0) -> np.ndarray:
    """Band-limited noise, RMS 1, optionally with random amplitude flutter."""
    x = dsp.shaped_noise(ctx.rng, ctx.n, dsp.band(ctx.freqs, lo, hi, 3.0))
    if flutter_depth:
        x = x * (1.0 + flutter_depth * dsp.smooth_noise(ctx.rng, ctx.n, flutter_rate, ctx.sr))
    return dsp.unit_rms(x)


def impacts_per_turn(ctx: Ctx, phase: np.ndarray, kernel: np.ndarray, amp: float, spread: float = 0.15) -> np.ndarray:
    """One impact each time ``phase`` completes a turn (random offset), amplitudes +- ``spread``."""
    pos = dsp.cycle_positions(phase, ctx.rng.uniform(0.0, dsp.TWO_PI))
    amps = amp * (1.0 + spread * ctx.rng.standard_normal(len(pos)))
    return dsp.impact_train(ctx.n, pos, amps, kernel)


def periodic_positions(ctx: Ctx, rate: float, slip: float = 0.01) -> np.ndarray:
    """Sample positions of impacts at ``rate`` Hz with relative interval jitter ``slip``
    (rolling elements slip, so bearing-fault impacts are almost but not exactly periodic)."""
    rng = ctx.rng
    count = int(np.ceil(ctx.duration * rate)) + 2
    intervals = (1.0 / rate) * (1.0 + slip * rng.standard_normal(count))
    t = rng.uniform(0.0, 1.0 / rate) + np.concatenate([[0.0], np.cumsum(intervals)[:-1]])
    return t[t < ctx.duration] * ctx.sr
