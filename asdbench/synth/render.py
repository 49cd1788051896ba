"""Render one planned file: machine sound + background at the clip's SNR, as 16-bit PCM."""

from __future__ import annotations

import numpy as np

from . import background
from .machines import MODELS, Ctx
from .params import GAIN_JITTER_DB, MACHINES, SEVERITY_SCALE, SNR_JITTER_DB, parse_attributes
from .plan import FileSpec, file_seed
from .presets import SAMPLE_RATE, Preset

#: RMS of the machine + stationary background at full scale 1.0 (about -26 dBFS): headroom for
#: background hits and fault impacts, far from the 16-bit noise floor.
OUTPUT_RMS = 0.05


def _streams(seed: int, spec: FileSpec) -> tuple[np.random.Generator, ...]:
    """Independent streams for (fault amount, machine, background, mixing) of one file."""
    return tuple(np.random.default_rng(s) for s in file_seed(seed, spec).spawn(4))


def fault_amount(seed: int, spec: FileSpec) -> float:
    """The fault amount of an anomalous file (0 for normal files), without rendering it."""
    if spec.anomaly is None:
        return 0.0
    kind = MACHINES[spec.machine].anomaly(spec.anomaly)
    return float(_streams(seed, spec)[0].uniform(kind.lo, kind.hi)) * SEVERITY_SCALE


def render_float(spec: FileSpec, preset: Preset, seed: int) -> np.ndarray:
    """The clip as float64 in [-1, 1] before quantisation."""
    machine = MACHINES[spec.machine]
    _, rng_machine, rng_background, rng_mix = _streams(seed, spec)
    n = preset.samples(spec.machine)
    ctx = Ctx(rng_machine, n, SAMPLE_RATE, parse_attributes(spec.attribute), spec.anomaly, fault_amount(seed, spec))
    sound = MODELS[spec.machine](ctx)
    env = machine.source_env if spec.domain == "source" else machine.target_env
    noise = background.render(rng_background, env, n, SAMPLE_RATE)
    snr = machine.snr_db + rng_mix.uniform(-SNR_JITTER_DB, SNR_JITTER_DB)
    mix = sound + noise * 10.0 ** (-snr / 20.0)
    gain = OUTPUT_RMS / np.sqrt(1.0 + 10.0 ** (-machine.snr_db / 10.0))
    gain *= 10.0 ** (rng_mix.uniform(-GAIN_JITTER_DB, GAIN_JITTER_DB) / 20.0)
    return np.clip(mix * gain, -1.0, 1.0)


def render(spec: FileSpec, preset: Preset, seed: int) -> np.ndarray:
    """The clip as int16 samples, ready for a 16-bit PCM WAV file."""
    return np.rint(render_float(spec, preset, seed) * 32767.0).astype(np.int16)
