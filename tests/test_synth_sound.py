"""The sound models: attributes change the sound, domains differ, faults are audible, the
primitives do what they say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from asdbench.synth import MACHINES, PRESETS, dsp
from asdbench.synth.machines import MODELS, Ctx
from asdbench.synth.params import parse_attributes
from asdbench.synth.plan import FileSpec, full_name
from asdbench.synth.render import render_float

SR = 16000
N = SR  # 1-s clips keep this file fast


def spectrum(x: np.ndarray) -> np.ndarray:
    """Clip-level log power spectrum (512-point frames): what a simple detector looks at."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256]
    return np.log((np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2).mean(axis=0) + 1e-8)


EDGES = np.unique(np.geomspace(1, 257, 41).astype(int))


def bands(x: np.ndarray) -> np.ndarray:
    """Log energies in about 40 log-spaced bands: robust to small speed differences."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256]
    power = (np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2).mean(axis=0)
    return np.log(np.add.reduceat(power, EDGES[:-1]) + 1e-8)


def spectro_stats(x: np.ndarray) -> np.ndarray:
    """Mean and spread over time of the log spectrogram: also sees switching patterns."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256]
    logspec = np.log(np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2 + 1e-8)
    return np.r_[logspec.mean(axis=0), logspec.std(axis=0)]


def machine_sound(machine: str, attribute: str, seed: int, kind: str | None = None, amount: float = 0.0) -> np.ndarray:
    return MODELS[machine](Ctx(np.random.default_rng([seed, 99]), N, SR, parse_attributes(attribute), kind, amount))


def mix(machine: str, domain: str, attribute: str, index: int, kind: str | None = None) -> np.ndarray:
    label = "normal" if kind is None else "anomaly"
    name = full_name("test", domain, label, index, attribute)
    spec = FileSpec(machine, MACHINES[machine].split, "test", domain, label, index, attribute, kind, name, name)
    return render_float(spec, dataclasses.replace(PRESETS["quick"], clip_seconds=1.0), 0)


def test_every_model_registered_and_unit_level() -> None:
    assert set(MODELS) == set(MACHINES)
    for machine, spec in MACHINES.items():
        for attribute in spec.source + spec.target:
            x = machine_sound(machine, attribute, 0)
            assert x.shape == (N,) and np.all(np.isfinite(x))
            assert 0.6 < np.sqrt(np.mean(x**2)) < 1.6, (machine, attribute)  # normal sound ~ RMS 1


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_attributes_change_the_sound(machine: str) -> None:
    """Nearest-centroid classification of the attribute value from the clean sound is easy."""
    attrs = MACHINES[machine].source + MACHINES[machine].target
    feats = {a: np.array([bands(machine_sound(machine, a, s)) for s in range(10)]) for a in attrs}
    centroids = {a: f[:5].mean(axis=0) for a, f in feats.items()}
    correct = [min(centroids, key=lambda c: np.linalg.norm(x - centroids[c])) == a for a, f in feats.items() for x in f[5:]]
    assert np.mean(correct) >= 0.85


def test_faults_are_detectable_in_the_clean_sound() -> None:
    """At its top amount every fault is found by a within-class distance detector (no noise)."""
    aucs = {}
    for machine, spec in MACHINES.items():
        attribute = spec.source[0]
        normal = np.array([spectrum(machine_sound(machine, attribute, s)) for s in range(24)])
        mu, sd = normal[:12].mean(axis=0), normal[:12].std(axis=0) + 1e-6

        def score(f: np.ndarray, mu: np.ndarray = mu, sd: np.ndarray = sd) -> np.ndarray:
            return np.sqrt((((f - mu) / sd) ** 2).mean(axis=1))

        for kind in spec.anomalies:
            faulty = np.array([spectrum(machine_sound(machine, attribute, 100 + s, kind.name, kind.hi)) for s in range(12)])
            aucs[(machine, kind.name)] = roc_auc_score([0] * 12 + [1] * 12, np.r_[score(normal[12:]), score(faulty)])
    assert min(aucs.values()) >= 0.65, sorted(aucs.items(), key=lambda kv: kv[1])[:3]
    assert np.mean(list(aucs.values())) >= 0.85


@pytest.mark.parametrize("machine", ["fan", "valve", "ToyDrone", "bandsaw", "shaker"])
def test_anomalies_stand_out_in_the_noisy_mix(machine: str) -> None:
    """In the final mix, faulty clips lie farther from the normal clips of their attribute than
    other normal clips do (median standardised distance, fault kinds and amounts as drawn)."""
    attribute = MACHINES[machine].source[0]
    normal = np.array([spectrum(mix(machine, "source", attribute, i)) for i in range(24)])
    mu, sd = normal[:12].mean(axis=0), normal[:12].std(axis=0) + 1e-6
    kinds = [k.name for k in MACHINES[machine].anomalies]
    faulty = np.array([spectrum(mix(machine, "source", attribute, i, kinds[i % len(kinds)])) for i in range(12)])
    d_normal = np.median(np.sqrt((((normal[12:] - mu) / sd) ** 2).mean(axis=1)))
    d_faulty = np.median(np.sqrt((((faulty - mu) / sd) ** 2).mean(axis=1)))
    assert d_faulty > 1.15 * d_normal


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_domains_differ(machine: str) -> None:
    """Target-domain clips are told apart from source-domain clips (the shift a detector faces)."""
    spec = MACHINES[machine]
    src = np.array([spectro_stats(mix(machine, "source", spec.source[i % len(spec.source)], i)) for i in range(12)])
    tgt = np.array([spectro_stats(mix(machine, "target", spec.target[i % len(spec.target)], i)) for i in range(12)])
    c_src, c_tgt = src[:6].mean(axis=0), tgt[:6].mean(axis=0)
    held = [(x, 0) for x in src[6:]] + [(x, 1) for x in tgt[6:]]
    correct = [(np.linalg.norm(x - c_tgt) < np.linalg.norm(x - c_src)) == bool(y) for x, y in held]
    assert np.mean(correct) >= 0.75


def test_oscillator_frequency_and_level() -> None:
    table = dsp.wavetable(np.array([1.0]))
    x = dsp.osc(table, dsp.phase_from_freq(440.0, N, SR))
    assert np.argmax(np.abs(np.fft.rfft(x))) == 440  # 1-s clip: bin = Hz
    assert np.sqrt(np.mean(x**2)) == pytest.approx(1.0, abs=0.01)
    amps = dsp.harmonic_amps(1000.0, SR, slope_db=-6.0)
    assert np.count_nonzero(amps) == 7 and amps[1] == pytest.approx(0.5, rel=0.01)  # below 0.47*sr, -6 dB/octave


def test_noise_and_impacts() -> None:
    rng = np.random.default_rng(0)
    f = dsp.rfft_freqs(N, SR)
    x = dsp.shaped_noise(rng, N, dsp.band(f, 1000.0, 2000.0, 4.0))
    power = np.abs(np.fft.rfft(x)) ** 2
    assert np.sqrt(np.mean(x**2)) == pytest.approx(1.0)
    assert power[(f > 1000) & (f < 2000)].sum() > 0.6 * power.sum()
    assert power[(f < 500) | (f > 4000)].sum() < 0.02 * power.sum()
    phase = dsp.phase_from_freq(12.5, N, SR)
    pos = dsp.cycle_positions(phase, 0.3)
    assert len(pos) in (12, 13) and np.allclose(np.diff(pos), SR / 12.5, atol=1)
    kernel = dsp.resonance_kernel([2000.0], [0.002], [1.0], SR)
    y = dsp.impact_train(N, pos, 2.0, kernel)
    assert np.abs(y).max() == pytest.approx(2.0, rel=0.05)
    assert np.count_nonzero(np.abs(y) > 1.0) < 0.05 * N  # short clicks, not a tone
