"""The pitchtime plugin: contract, transforms measured on tones, options, registration."""

from __future__ import annotations

import math

import asdbench_pitchtime
import pytest
import torch
from asdbench_pitchtime import PitchTimeAugmenter, fft_resample, parse_transform, pitch_time

from asdbench import ConfigError, resolve
from asdbench.testing import SAMPLE_RATE, check_augmenter, registered_plugin, tiny_batch


def tone(freq: float, samples: int = 16000, batch: int = 2) -> torch.Tensor:
    t = torch.arange(samples, dtype=torch.float64) / SAMPLE_RATE
    return torch.sin(2 * math.pi * freq * t).float().expand(batch, samples).contiguous()


def peak_hz(wave: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(wave, dim=-1).abs()
    return spectrum.argmax(dim=-1)[0].item() * SAMPLE_RATE / wave.shape[-1]


def envelope_hz(wave: torch.Tensor) -> float:
    """The strongest modulation frequency between 1 and 30 Hz (spectrum of the squared signal)."""
    power = torch.fft.rfft(wave[0].double() ** 2).abs()
    hz = torch.arange(power.shape[0]) * SAMPLE_RATE / wave.shape[-1]
    band = (hz > 1) & (hz < 30)
    return hz[band][power[band].argmax()].item()


def test_default_augmenter_follows_the_contract():
    aug = PitchTimeAugmenter()
    assert aug.factor == 5 and aug.stage == "waveform"
    check_augmenter(aug)


@pytest.mark.parametrize("transforms", [["identity", "pitch+12"], ["identity", "pitch-1", "stretch1.2", "pitch+1_stretch0.8"]])
def test_factor_follows_the_transform_list(transforms):
    aug = PitchTimeAugmenter(transforms=transforms)
    assert aug.factor == len(transforms)
    assert PitchTimeAugmenter.factor == 1  # the class default is untouched
    _, labels = check_augmenter(aug, n_classes=3)
    assert labels.shape == (8, 3 * len(transforms))


def test_label_sits_in_the_block_of_the_drawn_transform():
    aug = PitchTimeAugmenter()
    wave, labels = tiny_batch(batch_size=32, n_classes=4, seed=1)
    out, new = aug(wave, labels, torch.Generator().manual_seed(3))
    blocks = new.view(32, aug.factor, 4)
    chosen = blocks.sum(dim=2).argmax(dim=1)
    assert torch.equal(blocks[torch.arange(32), chosen], labels)
    assert blocks.sum(dim=2).max(dim=1).values.eq(1).all()
    # Block 0 is the identity: exactly those clips come back unchanged.
    unchanged = (out == wave).all(dim=1)
    assert torch.equal(unchanged, chosen == 0)
    assert len(set(chosen.tolist())) == aug.factor  # 32 draws hit all 5 transforms


def test_output_length_equals_input_length_for_every_transform():
    wave = tiny_batch(batch_size=2, samples=12345)[0]
    for spec in ("pitch+2", "pitch-2", "stretch0.9", "stretch1.1", "pitch+1_stretch1.3", "pitch-7,stretch0.7"):
        t = parse_transform(spec)
        out = pitch_time(wave, t.semitones, t.rate)
        assert out.shape == wave.shape, spec
        assert torch.isfinite(out).all()


def test_identity_leaves_the_clip_unchanged():
    wave = tiny_batch()[0]
    assert torch.equal(pitch_time(wave, 0, 1.0), wave)
    only_identity_first = PitchTimeAugmenter(transforms=["identity", "pitch+2"])
    out, labels = only_identity_first(wave, torch.eye(8), torch.Generator().manual_seed(0))
    kept = labels[:, :8].sum(dim=1) == 1
    assert kept.any() and torch.equal(out[kept], wave[kept])


def test_octave_up_doubles_the_dominant_frequency():
    out = pitch_time(tone(440.0), 12, 1.0)
    assert peak_hz(out) == pytest.approx(880.0, abs=1.0)
    assert peak_hz(pitch_time(tone(440.0), -12, 1.0)) == pytest.approx(220.0, abs=1.0)
    assert peak_hz(pitch_time(tone(440.0), 2, 1.0)) == pytest.approx(440 * 2 ** (2 / 12), abs=1.0)


def test_stretch_changes_timing_but_not_pitch_and_pitch_shift_the_reverse():
    t = torch.arange(32000, dtype=torch.float64) / SAMPLE_RATE
    am = ((1 + 0.8 * torch.sin(2 * math.pi * 4 * t)) * torch.sin(2 * math.pi * 1000 * t)).float()[None]
    faster = pitch_time(am, 0, 1.25)
    assert envelope_hz(faster) == pytest.approx(5.0, abs=0.3)
    assert peak_hz(faster) == pytest.approx(1000.0, abs=1.0)
    slower = pitch_time(am, 0, 0.75)
    assert envelope_hz(slower) == pytest.approx(3.0, abs=0.3)
    higher = pitch_time(am, 5, 1.0)
    assert envelope_hz(higher) == pytest.approx(4.0, abs=0.3)
    assert peak_hz(higher) == pytest.approx(1000 * 2 ** (5 / 12), abs=1.0)


def test_level_is_preserved():
    wave = tone(300.0)
    for semitones, rate in ((3, 1.0), (-3, 1.0), (0, 1.1), (0, 0.9)):
        rms = pitch_time(wave, semitones, rate)[:, 2048:-2048].pow(2).mean().sqrt()
        assert rms.item() == pytest.approx(1 / math.sqrt(2), rel=0.05)


def test_fft_resample_keeps_a_band_limited_tone():
    wave = tone(500.0, samples=16000)
    assert peak_hz(fft_resample(wave, 16000)) == 500.0
    # 16000 -> 8000 samples at an unchanged rate plays the tone twice as fast.
    assert peak_hz(fft_resample(wave, 8000)) == pytest.approx(1000.0, abs=2.0)


def test_same_seed_same_output_other_seed_other_choice():
    aug = PitchTimeAugmenter()
    wave, labels = tiny_batch(batch_size=16)
    a = aug(wave, labels, torch.Generator().manual_seed(7))
    b = aug(wave, labels, torch.Generator().manual_seed(7))
    c = aug(wave, labels, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_half_precision_input_keeps_its_dtype():
    wave = tiny_batch(batch_size=2)[0].to(torch.bfloat16)
    out = pitch_time(wave, 2, 1.0)
    assert out.dtype == torch.bfloat16 and out.shape == wave.shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_gpu():
    aug = PitchTimeAugmenter()
    check_augmenter(aug, device="cuda")
    cpu = pitch_time(tone(440.0), 12, 1.0)
    gpu = pitch_time(tone(440.0).cuda(), 12, 1.0).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-3)


@pytest.mark.parametrize(
    ("transforms", "message"),
    [
        (["identity"], "at least two"),
        (["identity", "pitch+2", "pitch+2"], "twice"),
        (["identity", "pitch+two"], "cannot parse transform 'pitch+two'"),
        (["identity", "stretch9"], "stretch rate must be within"),
        (["identity", [30, 1.0]], "within +-24 semitones"),
        (["identity", {"pitch": 2}], "must be a string"),
    ],
)
def test_bad_transform_options_are_one_line_config_errors(transforms, message):
    with pytest.raises(ConfigError, match="pitchtime") as info:
        PitchTimeAugmenter(transforms=transforms)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_transforms_accept_a_semicolon_string_and_pairs():
    aug = PitchTimeAugmenter(transforms="identity; pitch+1; stretch0.95")
    assert aug.transforms == ["identity", "pitch+1", "stretch0.95"]
    assert PitchTimeAugmenter(transforms=[[0, 1.0], [3, 1.0], [0, 1.2]]).transforms == ["identity", "pitch+3", "stretch1.2"]
    assert aug.options() == {"transforms": ["identity", "pitch+1", "stretch0.95"], "n_fft": 1024, "hop_length": 256}
    assert PitchTimeAugmenter(**aug.options()).factor == 3  # options round-trip


def test_composed_transform_text_round_trips():
    assert parse_transform("pitch-7,stretch0.7").spec() == "pitch-7_stretch0.7"
    assert parse_transform("pitch-7_stretch0.7") == parse_transform([-7, 0.7])


def test_registered_under_its_name():
    with registered_plugin(asdbench_pitchtime, "asdbench_pitchtime"):
        component = resolve("augmenter", "pitchtime")
        assert component.factory.target is PitchTimeAugmenter
        assert "Inoue" in component.description


def test_system_specs_compose_with_other_strategies():
    systems = pytest.importorskip("asdbench.systems")
    from asdbench.plugins import get_registry

    with registered_plugin(asdbench_pitchtime, "asdbench_pitchtime"):
        if "featex" not in get_registry().names("augmenter"):
            pytest.skip("featex (asdbench-ssl) is not loaded")
        # The token featex is the system "FeatEx" (mixup p 0.5 -> featex): mixup first keeps the
        # paper's order (mixup on the clean waveform, then the pseudo-class transform).
        spec = systems.resolve_system("mixup+pitchtime+featex")
        assert spec.augmenters == ("mixup", "pitchtime", "featex")
        augmenters = systems.build_augmenters(spec)
        assert [a.factor for a in augmenters] == [1, 5, 3]
        assert systems.label_factor(augmenters) == 15
        custom = systems.resolve_system("regular+pitchtime:pitchtime.transforms=identity;pitch+12;stretch0.8")
        (aug,) = systems.build_augmenters(custom)
        assert aug.transforms == ["identity", "pitch+12", "stretch0.8"] and aug.factor == 3
        assert "regular" in custom.heads
