"""Helpers for plugin authors: small realistic batches, an augmenter contract check, plugin fixtures.

Importing this module does not import pytest; only :func:`plugin_fixture` needs it.

Typical use in a plugin's tests::

    from asdbench.testing import check_augmenter, registered_plugin

    def test_rules():
        check_augmenter(MyAugmenter())

    def test_resolves_by_name():
        with registered_plugin(my_plugin_module, "my-plugin"):
            assert resolve("augmenter", "mine").factory is MyAugmenter
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from .components import _SCRIPTED_UNIFORMS, STAGES, Augmenter
from .errors import PluginError
from .plugins import get_manager, get_registry, register_plugin, unregister_plugin

__all__ = [
    "SAMPLE_RATE",
    "check_augmenter",
    "plugin_fixture",
    "registered_plugin",
    "scripted_uniforms",
    "tiny_batch",
    "tiny_data",
    "tiny_embeddings",
    "tiny_features",
    "train_system",
]

SAMPLE_RATE = 16000
FRAME = 1024  # the reference front-end: |STFT| with frame 1024, hop 512, 513 bins
HOP = 512
EMBEDDING_DIM = 128

# --------------------------------------------------------------------------------------------
# Tiny data for each stage
# --------------------------------------------------------------------------------------------


def _one_hot_labels(batch_size: int, n_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Every class as evenly represented as the batch allows, in a seeded order."""
    classes = (torch.arange(batch_size) % n_classes)[torch.randperm(batch_size, generator=generator)]
    return torch.nn.functional.one_hot(classes, n_classes).float()


def tiny_batch(batch_size: int = 8, samples: int = 16000, n_classes: int = 4,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``B x samples`` float32 waveform batch (16 kHz) with one-hot ``B x n_classes`` labels.

    Each class is a machine-like hum: a class-specific fundamental with harmonics, a slow
    amplitude modulation, plus broadband noise at about 10 dB SNR. Seeded: the same arguments
    give the same batch.
    """
    if batch_size < 1 or n_classes < 1 or samples < 1:
        raise ValueError("batch_size, samples and n_classes must be positive")
    gen = torch.Generator().manual_seed(seed)
    labels = _one_hot_labels(batch_size, n_classes, gen)
    classes = labels.argmax(dim=1).double()
    t = torch.arange(samples, dtype=torch.float64) / SAMPLE_RATE
    f0 = 110.0 * (1.0 + 0.5 * classes) * (1.0 + 0.02 * torch.rand(batch_size, generator=gen, dtype=torch.float64))
    wave = torch.zeros(batch_size, samples, dtype=torch.float64)
    for harmonic in range(1, 6):
        phase = 2 * math.pi * torch.rand(batch_size, 1, generator=gen, dtype=torch.float64)
        wave += torch.sin(2 * math.pi * harmonic * f0[:, None] * t + phase) / harmonic
    rate = 0.5 + 3 * torch.rand(batch_size, 1, generator=gen, dtype=torch.float64)
    wave *= 1.0 + 0.3 * torch.sin(2 * math.pi * rate * t)
    signal_power = wave.pow(2).mean(dim=1, keepdim=True)
    noise = torch.randn(batch_size, samples, generator=gen, dtype=torch.float64)
    wave += noise * (signal_power / 10.0).sqrt()
    wave *= 0.1 / wave.abs().amax(dim=1, keepdim=True)
    return wave.float(), labels


def tiny_features(batch_size: int = 8, samples: int = 16000, n_classes: int = 4,
                  seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """What a ``features``-stage augmenter sees: the reference front-end of :func:`tiny_batch`.

    ``spectrum``: ``B x samples//2`` linear ``|rfft|`` (Nyquist dropped); ``spectrogram``:
    ``B x T x 513`` linear ``|STFT|`` (frame 1024, hop 512, Hann, no centring).
    """
    if samples < FRAME:
        raise ValueError(f"tiny_features needs samples >= {FRAME}, got {samples}")
    wave, labels = tiny_batch(batch_size, samples, n_classes, seed)
    spectrum = torch.fft.rfft(wave, dim=-1).abs()[:, : samples // 2]
    stft = torch.stft(wave, FRAME, HOP, window=torch.hann_window(FRAME), center=False, return_complex=True)
    return {"spectrum": spectrum, "spectrogram": stft.abs().transpose(1, 2).contiguous()}, labels


def tiny_embeddings(batch_size: int = 8, n_classes: int = 4, seed: int = 0,
                    dim: int = EMBEDDING_DIM) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """What an ``embedding``-stage augmenter sees: ``{"spectrum": B x dim, "spectrogram": B x dim}``.

    Sub-embeddings cluster by class (a seeded centre per class and branch plus noise), like a
    partly trained two-branch network.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = _one_hot_labels(batch_size, n_classes, gen)
    out = {}
    for key in ("spectrum", "spectrogram"):
        centres = torch.randn(n_classes, dim, generator=gen)
        out[key] = labels @ centres + 0.3 * torch.randn(batch_size, dim, generator=gen)
    return out, labels


def tiny_data(stage: str, batch_size: int = 8, n_classes: int = 4, seed: int = 0,
              samples: int = 16000) -> tuple[Any, torch.Tensor]:
    """The tiny batch a ``stage`` augmenter receives: waveform tensor or dict of tensors, plus labels."""
    if stage == "waveform":
        return tiny_batch(batch_size, samples, n_classes, seed)
    if stage == "features":
        return tiny_features(batch_size, samples, n_classes, seed)
    if stage == "embedding":
        return tiny_embeddings(batch_size, n_classes, seed)
    raise ValueError(f"unknown stage {stage!r} (expected one of {', '.join(STAGES)})")


# --------------------------------------------------------------------------------------------
# The augmenter contract
# --------------------------------------------------------------------------------------------


def _to(data: Any, device: torch.device) -> Any:
    if isinstance(data, dict):
        return {k: v.to(device) for k, v in data.items()}
    return data.to(device)


def _clone(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v.clone() for k, v in data.items()}
    return data.clone()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in data.items()) + "}"
    if isinstance(data, torch.Tensor):
        return f"tensor{tuple(data.shape)} {str(data.dtype).replace('torch.', '')}"
    return type(data).__name__


def _check_data(who: str, before: Any, after: Any) -> None:
    if isinstance(before, dict):
        if not isinstance(after, dict) or after.keys() != before.keys():
            raise AssertionError(
                f"{who}: the data must keep its type and keys: got {_describe(after)} for input {_describe(before)}")
        for key in before:
            _check_tensor(f"{who}: data[{key!r}]", before[key], after[key])
    else:
        _check_tensor(f"{who}: data", before, after)


def _check_tensor(who: str, before: torch.Tensor, after: Any) -> None:
    if not isinstance(after, torch.Tensor):
        raise AssertionError(f"{who} must stay a tensor, got {type(after).__name__}")
    if after.shape != before.shape:
        raise AssertionError(f"{who} must keep its shape {tuple(before.shape)}, got {tuple(after.shape)}")
    if after.dtype != before.dtype or after.device != before.device:
        raise AssertionError(f"{who} must keep dtype/device {before.dtype}/{before.device}, got {after.dtype}/{after.device}")
    if not torch.isfinite(after).all():
        raise AssertionError(f"{who} contains NaN or infinite values")


def _check_labels(who: str, labels: Any, batch_size: int, factor: int, n_classes: int) -> None:
    expected = (batch_size, factor * n_classes)
    if not isinstance(labels, torch.Tensor):
        raise AssertionError(f"{who}: labels must be a tensor, got {type(labels).__name__}")
    if tuple(labels.shape) != expected:
        raise AssertionError(
            f"{who}: labels must have shape (batch, factor*K) = {expected} for factor {factor} and "
            f"K={n_classes}, got {tuple(labels.shape)}")
    if not labels.is_floating_point():
        raise AssertionError(f"{who}: labels must be floating point (soft labels), got {labels.dtype}")
    if not torch.isfinite(labels).all():
        raise AssertionError(f"{who}: labels contain NaN or infinite values")
    if (labels < 0).any():
        raise AssertionError(f"{who}: labels must be non-negative, smallest is {labels.min().item():.4g}")
    sums = labels.double().sum(dim=1)
    bad = (sums - 1).abs() > 1e-4
    if bad.any():
        row = int(bad.nonzero()[0, 0])
        raise AssertionError(f"{who}: every label row must sum to 1, row {row} sums to {sums[row].item():.6g}")


def _run(augmenter: Augmenter, data: Any, labels: torch.Tensor, seed: int, who: str) -> tuple[Any, torch.Tensor]:
    result = augmenter(data, labels, torch.Generator().manual_seed(seed))
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError(f"{who}: __call__ must return a (data, labels) tuple, got {type(result).__name__}")
    return result


def check_augmenter(augmenter: Augmenter, n_classes: int = 4, seed: int = 0, *, batch_size: int = 8,
                    samples: int = 16000, device: str | torch.device = "cpu") -> tuple[Any, torch.Tensor]:
    """Assert that ``augmenter`` follows the Augmenter contract on a tiny batch of its stage.

    Checked: ``factor`` is a positive int and ``stage`` a known stage; the output data has the
    input's type, keys, shapes, dtype and device and is finite; labels are ``B x (factor*K)``,
    finite, non-negative, rows summing to 1 (for one-hot and for soft input labels); the inputs
    are not modified in place; no randomness is drawn from the global torch / numpy / random
    generators; the same generator seed gives the same output. Raises ``AssertionError`` with a
    message naming the rule. Returns the output for one-hot labels for further checks.
    """
    who = f"augmenter {getattr(augmenter, 'name', '') or type(augmenter).__name__!r}"
    factor = getattr(augmenter, "factor", None)
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise AssertionError(f"{who}: factor must be a positive int, got {factor!r}")
    stage = getattr(augmenter, "stage", None)
    if stage not in STAGES:
        raise AssertionError(f"{who}: stage must be one of {', '.join(STAGES)}, got {stage!r}")
    device = torch.device(device)
    augmenter.bind([augmenter])

    data, labels = tiny_data(stage, batch_size, n_classes, seed, samples)
    data, labels = _to(data, device), labels.to(device)
    kept_data, kept_labels = _clone(data), labels.clone()

    torch_state, numpy_state, python_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    out_data, out_labels = _run(augmenter, data, labels, seed, who)
    if not torch.equal(torch_state, torch.get_rng_state()):
        raise AssertionError(f"{who}: drew from torch's global random generator; use the generator argument")
    if not np.array_equal(numpy_state[1], np.random.get_state()[1]) or numpy_state[2] != np.random.get_state()[2]:
        raise AssertionError(f"{who}: drew from numpy's global random generator; use the generator argument")
    if python_state != random.getstate():
        raise AssertionError(f"{who}: drew from Python's random module; use the generator argument")
    if not _same(kept_data, data) or not torch.equal(kept_labels, labels):
        raise AssertionError(f"{who}: modified its input data or labels in place; return new tensors")

    _check_data(who, kept_data, out_data)
    _check_labels(who, out_labels, batch_size, factor, n_classes)

    again_data, again_labels = _run(augmenter, _clone(kept_data), kept_labels.clone(), seed, who)
    if not _same(out_data, again_data) or not torch.equal(out_labels, again_labels):
        raise AssertionError(
            f"{who}: not deterministic: two calls with generators seeded {seed} gave different output; "
            "draw all randomness from the generator argument")

    # Soft labels (as after mixup): the rules must hold for any row that sums to 1.
    partner = torch.roll(kept_labels, 1, dims=0)
    soft = 0.3 * kept_labels + 0.7 * partner
    _, soft_out = _run(augmenter, _clone(kept_data), soft, seed, who)
    _check_labels(f"{who} (soft input labels)", soft_out, batch_size, factor, n_classes)
    return out_data, out_labels


# --------------------------------------------------------------------------------------------
# Plugins registered for the duration of a test
# --------------------------------------------------------------------------------------------


@contextmanager
def registered_plugin(plugin: Any, name: str) -> Iterator[Any]:
    """Register ``plugin`` (a module or object with hook implementations) as ``name`` inside the block.

    If the same object is already registered (for example because the package is installed and
    loaded through its entry point), it is used as it is and left registered afterwards. The
    registry is rebuilt on entry, so a component name that collides with another plugin's fails
    here, with a :class:`~asdbench.errors.PluginError` naming both, and leaves nothing behind.
    """
    manager = get_manager()
    if manager.is_registered(plugin):
        get_registry()
        yield plugin
        return
    if manager.get_plugin(name) is not None:
        raise PluginError(f"another plugin is already registered under the name {name!r}")
    register_plugin(plugin, name)
    try:
        get_registry()
        yield plugin
    finally:
        unregister_plugin(name)


def plugin_fixture(plugin: Any, name: str) -> Callable[..., Any]:
    """A pytest fixture that keeps ``plugin`` registered as ``name`` during each test using it.

    In a test module: ``my_plugin = plugin_fixture(my_module, "my-plugin")``, then
    ``def test_x(my_plugin): ...``.
    """
    import pytest  # only needed by test suites

    @pytest.fixture
    def _registered() -> Iterator[Any]:
        with registered_plugin(plugin, name) as registered:
            yield registered

    return _registered


@contextmanager
def scripted_uniforms(draws: list[np.ndarray] | list[torch.Tensor]) -> Iterator[list[int]]:
    """Inside, :func:`asdbench.components.uniform` returns these recorded draws, one array per call
    in order, instead of drawing (e.g. another implementation's mixup lambdas and coin values).
    Yields the list of call sizes seen; a call whose size differs from the next array, or one
    more call than arrays, raises ``AssertionError``, so a changed draw order cannot go unnoticed.
    """
    pending = [torch.as_tensor(np.asarray(d), dtype=torch.float32) for d in draws]
    sizes: list[int] = []

    def next_draw(n: int) -> torch.Tensor:
        assert pending, f"scripted_uniforms: draw {len(sizes) + 1} of size {n} asked for, only {len(sizes)} recorded"
        value = pending.pop(0)
        assert value.numel() == n, f"scripted_uniforms: draw {len(sizes) + 1} has {value.numel()} values, {n} asked for"
        sizes.append(n)
        return value.reshape(n).clone()

    token = _SCRIPTED_UNIFORMS.set(next_draw)
    try:
        yield sizes
    finally:
        _SCRIPTED_UNIFORMS.reset(token)


# --------------------------------------------------------------------------------------------
# Training a system end to end, as a run does (without a run directory)
# --------------------------------------------------------------------------------------------

def train_system(system: Any, read: Callable[[np.ndarray], np.ndarray], class_ids: np.ndarray, n_classes: int,
                 clip_samples: int, config: Any = None, **trainer_options: Any) -> Any:
    """Build ``system`` (a spec string or a resolved ``SystemSpec``) with ``config.seed`` and train
    it on ``read`` with :class:`asdbench.training.trainer.Trainer`; returns the trained
    ``TrainingModel``. ``trainer_options``: the trainer's ``checkpoint``, ``progress``, ``on_epoch``."""
    from .systems import build_training_model, resolve_system
    from .training.trainer import TrainConfig, Trainer

    config = config if config is not None else TrainConfig()
    spec = resolve_system(system) if isinstance(system, str) else system
    model, pipeline = build_training_model(spec, clip_samples, n_classes, seed=config.seed)
    return Trainer(config, **trainer_options).fit(model, pipeline, read, class_ids, n_classes)
