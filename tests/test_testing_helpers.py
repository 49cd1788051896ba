"""asdbench.testing: tiny data, the augmenter contract check (one broken augmenter per rule), fixtures."""

from __future__ import annotations

import random
import sys
import types

import numpy as np
import pytest
import torch

from asdbench.components import Augmenter
from asdbench.errors import PluginError
from asdbench.hookspecs import hookimpl
from asdbench.plugins import get_manager, get_registry, resolve
from asdbench.testing import (
    check_augmenter,
    plugin_fixture,
    registered_plugin,
    tiny_batch,
    tiny_data,
    tiny_embeddings,
    tiny_features,
)

# --------------------------------------------------------------------------------------------
# Tiny data
# --------------------------------------------------------------------------------------------


def test_tiny_batch_is_a_seeded_tone_plus_noise_batch():
    wave, labels = tiny_batch(batch_size=8, samples=16000, n_classes=4, seed=0)
    assert wave.shape == (8, 16000) and wave.dtype == torch.float32
    assert labels.shape == (8, 4) and torch.equal(labels.sum(dim=0), torch.full((4,), 2.0))
    assert torch.equal(labels.sum(dim=1), torch.ones(8))
    assert wave.abs().amax(dim=1).allclose(torch.full((8,), 0.1))
    again, _ = tiny_batch(seed=0)
    other, _ = tiny_batch(seed=1)
    assert torch.equal(wave, again) and not torch.equal(wave, other)
    # A tonal signal: the strongest bin holds far more energy than the median (noise floor).
    spectrum = torch.fft.rfft(wave, dim=-1).abs()
    assert (spectrum.amax(dim=1) / spectrum.median(dim=1).values).min() > 30
    # The class sets the fundamental: clips of different classes peak at different frequencies.
    peaks = spectrum.argmax(dim=1)
    classes = labels.argmax(dim=1)
    assert len({int(peaks[classes == k][0]) for k in range(4)}) == 4


def test_tiny_features_match_the_reference_front_end_shapes():
    features, labels = tiny_features(batch_size=3, samples=16000, n_classes=2)
    assert set(features) == {"spectrum", "spectrogram"}
    assert features["spectrum"].shape == (3, 8000)
    assert features["spectrogram"].shape == (3, 1 + (16000 - 1024) // 512, 513)
    assert (features["spectrogram"] >= 0).all() and labels.shape == (3, 2)
    with pytest.raises(ValueError, match="samples >= 1024"):
        tiny_features(samples=512)


def test_tiny_embeddings_cluster_by_class():
    emb, labels = tiny_embeddings(batch_size=16, n_classes=2, seed=3)
    assert {k: tuple(v.shape) for k, v in emb.items()} == {"spectrum": (16, 128), "spectrogram": (16, 128)}
    x = torch.nn.functional.normalize(emb["spectrum"], dim=1)
    same = labels @ labels.T
    sim = x @ x.T
    assert sim[same.bool()].mean() > sim[~same.bool()].mean() + 0.5


def test_tiny_data_dispatches_on_stage():
    assert isinstance(tiny_data("waveform")[0], torch.Tensor)
    assert set(tiny_data("features")[0]) == {"spectrum", "spectrogram"}
    assert tiny_data("embedding")[0]["spectrum"].shape == (8, 128)
    with pytest.raises(ValueError, match="unknown stage 'logits'"):
        tiny_data("logits")


# --------------------------------------------------------------------------------------------
# check_augmenter: a correct augmenter per stage passes ...
# --------------------------------------------------------------------------------------------


class GoodSwap(Augmenter):
    """Factor 2: with p 0.5 swap the two halves of every tensor along its last axis."""

    name = "goodswap"
    stage = "waveform"
    factor = 2

    def __init__(self, stage: str = "waveform") -> None:
        self.stage = stage  # type: ignore[misc]

    def transform(self, x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        shape = [-1] + [1] * (x.dim() - 1)
        return torch.where(flip.view(shape), x.roll(x.shape[-1] // 2, dims=-1), x)

    def __call__(self, data, labels, generator):
        flip = torch.rand(labels.shape[0], generator=generator) < 0.5
        if isinstance(data, dict):
            data = {k: self.transform(v, flip) for k, v in data.items()}
        else:
            data = self.transform(data, flip)
        zeros = torch.zeros_like(labels)
        kept = torch.cat([labels, zeros], dim=1)
        moved = torch.cat([zeros, labels], dim=1)
        return data, torch.where(flip[:, None], moved, kept)


@pytest.mark.parametrize("stage", ["waveform", "features", "embedding"])
def test_a_correct_augmenter_passes_on_every_stage(stage):
    data, labels = check_augmenter(GoodSwap(stage), n_classes=3)
    assert labels.shape == (8, 6)
    assert (labels[:, :3].sum(dim=1) + labels[:, 3:].sum(dim=1)).allclose(torch.ones(8))
    assert isinstance(data, dict) == (stage != "waveform")


# --------------------------------------------------------------------------------------------
# ... and each broken one fails with a message that names its rule
# --------------------------------------------------------------------------------------------


class Broken(GoodSwap):
    """GoodSwap with one rule broken by overriding ``post``."""

    def post(self, data, labels, inputs):
        return data, labels

    def __call__(self, data, labels, generator):
        inputs = (data, labels)
        out = super().__call__(data, labels, generator)
        return self.post(*out, inputs)


def broken(post=None, **attributes):
    cls = type("BrokenAugmenter", (Broken,), dict(attributes))
    if post is not None:
        cls.post = lambda self, data, labels, inputs: post(data, labels, inputs)
    return cls()


class Counter:
    calls = 0


def _not_seeded(data, labels, inputs):
    Counter.calls += 1
    return data + Counter.calls, labels


def _mutates(data, labels, inputs):
    inputs[0].mul_(2)
    return data, labels


def _only_one_hot(data, labels, inputs):
    return data, labels / labels.amax(dim=1, keepdim=True)


CASES = {
    "factor zero": (lambda: broken(factor=0), "factor must be a positive int, got 0"),
    "factor str": (lambda: broken(factor="2"), "factor must be a positive int, got '2'"),
    "factor bool": (lambda: broken(factor=True), "factor must be a positive int, got True"),
    "stage": (lambda: GoodSwap("spectrum"), "stage must be one of waveform, features, embedding, got 'spectrum'"),
    "not a tuple": (lambda: broken(__call__=lambda self, d, y, g: d), "must return a (data, labels) tuple"),
    "shape": (lambda: broken(lambda d, y, i: (d[:, :-1], y)), "data must keep its shape (8, 16000), got (8, 15999)"),
    "dtype": (lambda: broken(lambda d, y, i: (d.double(), y)), "data must keep dtype/device torch.float32/cpu"),
    "nan data": (lambda: broken(lambda d, y, i: (d * float("nan"), y)), "data contains NaN or infinite values"),
    "keys": (lambda: GoodSwapDropsKey("features"), "the data must keep its type and keys"),
    "label shape": (lambda: broken(lambda d, y, i: (d, i[1])), "labels must have shape (batch, factor*K) = (8, 8)"),
    "label dtype": (lambda: broken(lambda d, y, i: (d, (y > 0).long())), "labels must be floating point"),
    "label nan": (lambda: broken(lambda d, y, i: (d, y * float("inf"))), "labels contain NaN or infinite values"),
    "label negative": (lambda: broken(lambda d, y, i: (d, 2 * y - y.roll(1, dims=1))), "labels must be non-negative"),
    "label sum": (lambda: broken(lambda d, y, i: (d, y * 0.9)), "every label row must sum to 1, row 0 sums to 0.9"),
    "soft labels": (lambda: broken(_only_one_hot), "(soft input labels): every label row must sum to 1"),
    "global torch rng": (lambda: broken(lambda d, y, i: (d + 0 * torch.rand(1), y)), "drew from torch's global random generator"),
    "global numpy rng": (lambda: broken(lambda d, y, i: (d + 0 * float(np.random.rand()), y)), "drew from numpy's global random generator"),
    "python random": (lambda: broken(lambda d, y, i: (d + 0 * random.random(), y)), "drew from Python's random module"),
    "in place": (lambda: broken(_mutates), "modified its input data or labels in place"),
    "not deterministic": (lambda: broken(_not_seeded), "not deterministic: two calls with generators seeded 0"),
}


class GoodSwapDropsKey(GoodSwap):
    def __call__(self, data, labels, generator):
        data, labels = super().__call__(data, labels, generator)
        return {"spectrum": data["spectrum"]}, labels


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_broken_rule_fails_with_a_clear_message(case):
    make, message = CASES[case]
    with pytest.raises(AssertionError) as info:
        check_augmenter(make())
    text = str(info.value)
    assert message in text, text
    assert text.startswith("augmenter 'goodswap'") or text.startswith("augmenter 'BrokenAugmenter'")
    assert "\n" not in text


def test_check_augmenter_uses_the_given_sizes():
    data, labels = check_augmenter(GoodSwap(), n_classes=5, batch_size=4, samples=2048, seed=9)
    assert data.shape == (4, 2048) and labels.shape == (4, 10)


# --------------------------------------------------------------------------------------------
# Plugins registered for a test
# --------------------------------------------------------------------------------------------


def _plugin_module(name: str, component: str, factory: type = GoodSwap) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_augmenters(register):
        register(component, factory)

    module.register_augmenters = register_augmenters
    return module


def test_registered_plugin_registers_for_the_block_only():
    plugin = _plugin_module("throwaway", "swap-a")
    with registered_plugin(plugin, "throwaway") as registered:
        assert registered is plugin
        assert resolve("augmenter", "swap-a").factory is GoodSwap
        assert resolve("augmenter", "swap-a").plugin == "throwaway"
    assert get_manager().get_plugin("throwaway") is None
    assert "swap-a" not in get_registry().names("augmenter")


def test_registered_plugin_unregisters_when_the_block_raises():
    plugin = _plugin_module("throwaway", "swap-b")
    with pytest.raises(RuntimeError), registered_plugin(plugin, "throwaway"):
        raise RuntimeError("boom")
    assert get_manager().get_plugin("throwaway") is None


def test_colliding_component_names_fail_on_entry_and_leave_nothing_behind():
    first = _plugin_module("first", "swap-c")
    second = _plugin_module("second", "swap-c")
    with registered_plugin(first, "first"):
        with pytest.raises(PluginError, match="'swap-c' is registered twice: by plugin 'first' and by plugin 'second'"):
            with registered_plugin(second, "second"):
                pass
        assert get_manager().get_plugin("second") is None
        assert resolve("augmenter", "swap-c").plugin == "first"


def test_an_already_registered_plugin_is_reused_and_left_alone():
    plugin = _plugin_module("kept", "swap-d")
    with registered_plugin(plugin, "kept"):
        with registered_plugin(plugin, "another-name") as inner:
            assert inner is plugin
        assert get_manager().get_plugin("kept") is plugin  # the inner block did not unregister it
    with registered_plugin(_plugin_module("x", "swap-e"), "taken"):
        with pytest.raises(PluginError, match="already registered under the name 'taken'"):
            with registered_plugin(_plugin_module("y", "swap-f"), "taken"):
                pass


def test_a_new_object_under_a_reused_name_is_what_resolves():
    class Newer(GoodSwap):
        pass

    with registered_plugin(_plugin_module("v1", "swap-v"), "reused"):
        assert resolve("augmenter", "swap-v").factory is GoodSwap
    with registered_plugin(_plugin_module("v2", "swap-v", Newer), "reused"):
        assert resolve("augmenter", "swap-v").factory is Newer


def test_helpers_module_does_not_import_pytest_at_import_time():
    import subprocess

    code = (
        "import sys, asdbench.testing; "
        "print('pytest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


swap_plugin = plugin_fixture(_plugin_module("fixture-plugin", "swap-fixture"), "fixture-plugin")


def test_plugin_fixture_registers_during_the_test(swap_plugin):
    assert resolve("augmenter", "swap-fixture").plugin == "fixture-plugin"
    assert get_manager().get_plugin("fixture-plugin") is swap_plugin


def test_plugin_fixture_is_gone_after_its_test():
    assert get_manager().get_plugin("fixture-plugin") is None
