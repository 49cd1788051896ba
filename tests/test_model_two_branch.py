"""The two-branch embedder: shapes of every stage, sizes, init, penalty, determinism."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from asdbench.components import Embedder
from asdbench.errors import ConfigError
from asdbench.model.layers import SqueezeExcitation
from asdbench.model.two_branch import MIN_CLIP_SAMPLES, TwoBranchEmbedder
from asdbench.plugins import resolve

SMALL = 16000  # 1-s clips (30 frames) for behaviour tests that do not check sizes


def _stage_shapes(model: TwoBranchEmbedder, samples: int) -> dict[str, tuple[int, ...]]:
    """Output shape (without batch) of the named stages, from one forward pass of 2 clips."""
    watched = {f"spectrum.convs.{i}": model.spectrum.convs[i] for i in range(3)}
    watched |= {"stem": model.spectrogram.stem_pool, "head_bn": model.spectrogram.head_bn}
    watched |= {f"unit{i}": u for i, u in enumerate(model.spectrogram.units)}
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, key=k: shapes.__setitem__(key, tuple(out.shape[1:])))
               for k, m in watched.items()]
    wave = torch.randn(2, samples, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = model.features(wave)
        shapes["features.spectrum"] = tuple(feats["spectrum"].shape[1:])
        shapes["features.spectrogram"] = tuple(feats["spectrogram"].shape[1:])
        sub = model.encode(feats)
        shapes["emb.spectrum"] = tuple(sub["spectrum"].shape[1:])
        shapes["emb.spectrogram"] = tuple(sub["spectrogram"].shape[1:])
        shapes["embedding"] = tuple(model.combine(sub).shape[1:])
    for h in handles:
        h.remove()
    return shapes


# (samples, spectrum bins, conv lengths, frames, (time, freq) after stem / stage 3 / 4 / 5)
CASES = [
    (288000, 144000, (2250, 71, 18), 561, [(140, 128), (70, 64), (35, 32), (18, 16)]),
    (160000, 80000, (1250, 40, 10), 311, [(77, 128), (39, 64), (20, 32), (10, 16)]),
    (32000, 16000, (250, 8, 2), 61, [(15, 128), (8, 64), (4, 32), (2, 16)]),
]


@pytest.mark.parametrize(("samples", "bins", "conv_lengths", "frames", "sizes"), CASES)
def test_shapes_of_every_stage(samples, bins, conv_lengths, frames, sizes) -> None:
    model = TwoBranchEmbedder(samples).train()
    shapes = _stage_shapes(model, samples)
    assert shapes["features.spectrum"] == (bins,)
    assert shapes["features.spectrogram"] == (frames, 513)
    for i, length in enumerate(conv_lengths):
        assert shapes[f"spectrum.convs.{i}"] == (128, length)
    assert model.spectrum.flat_dim == conv_lengths[-1] * 128
    (t2, f2), (t3, f3), (t4, f4), (t5, f5) = sizes
    assert shapes["stem"] == (16, t2, f2)
    assert shapes["unit0"] == shapes["unit1"] == (16, t2, f2)
    assert shapes["unit2"] == shapes["unit3"] == (32, t3, f3)
    assert shapes["unit4"] == shapes["unit5"] == (64, t4, f4)
    # before the max over time (18 frames for DCASE2023, 10 for DCASE2022)
    assert shapes["unit6"] == shapes["unit7"] == (128, t5, f5)
    assert shapes["head_bn"] == (2048,)
    assert shapes["emb.spectrum"] == shapes["emb.spectrogram"] == (128,)
    assert shapes["embedding"] == (256,)


def _kernels(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)))


def test_parameter_counts_paper_size() -> None:
    model = TwoBranchEmbedder(288000)
    assert _kernels(model) == 2_675_792
    assert _kernels(model.spectrum) == 1_710_080
    assert _kernels(model.spectrogram) == 965_712
    se = sum(p.numel() for m in model.modules() if isinstance(m, SqueezeExcitation) for p in m.parameters())
    assert se == 6144 + 5440
    assert sum(p.numel() for p in model.backbone_kernels()) == 2_675_792 - se
    bn = sum(p.numel() for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters())
    assert bn == 7842
    assert sum(p.numel() for p in model.parameters()) == 2_675_792 + 7842
    assert model.embedding_dim == 256


def test_no_bias_anywhere_and_keras_batch_norm() -> None:
    model = TwoBranchEmbedder(32000)
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            assert m.bias is None, name
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            assert m.momentum == pytest.approx(0.01) and m.eps == pytest.approx(1e-3), name
    biases = [n for n, _ in model.named_parameters() if n.endswith("bias")]
    assert biases and all(".bn" in n or "_bn" in n for n in biases)  # only batch-norm offsets


def test_glorot_uniform_init() -> None:
    torch.manual_seed(0)
    model = TwoBranchEmbedder(32000)
    checked = 0
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            w = m.weight.detach()
            receptive = math.prod(w.shape[2:]) if w.dim() > 2 else 1
            bound = math.sqrt(6.0 / (w.shape[1] * receptive + w.shape[0] * receptive))
            assert w.abs().max().item() <= bound + 1e-7, name
            if w.numel() >= 10000:  # large tensors fill the interval evenly (std of U(-b, b))
                assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05), name
                checked += 1
    assert checked >= 8  # PyTorch's default (Kaiming-uniform, bound 1/sqrt(fan_in)) fails the std check


def test_regularization_is_l2_of_backbone_kernels_only() -> None:
    model = TwoBranchEmbedder(32000)
    manual = 0.0
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.dim() >= 2 and ".se." not in name:
            manual += float(p.detach().double().square().sum())
    assert float(model.regularization().detach()) == pytest.approx(1e-5 * manual, rel=1e-5)
    se_names = [n for n, _ in model.named_parameters() if ".se." in n]
    assert se_names and not set(se_names) & set(model._l2_names)
    assert len(model._l2_names) == 3 + 5 + 1 + 8 * 2 + 3 + 1  # spectrum convs+dense, stem, units, shortcuts, head


def test_tmn_removes_static_spectral_offsets() -> None:
    gen = torch.Generator().manual_seed(0)
    wave = torch.randn(4, 32000, generator=gen)
    offset = torch.rand(4, 1, 513, generator=gen) * 5  # per sample and bin, constant over time
    for tmn, invariant in ((True, True), (False, False)):
        torch.manual_seed(1)
        model = TwoBranchEmbedder(32000, tmn=tmn).train()
        feats = model.features(wave)
        with torch.no_grad():
            a = model.encode(feats)["spectrogram"]
            b = model.encode({**feats, "spectrogram": feats["spectrogram"] + offset})["spectrogram"]
        assert torch.allclose(a, b, atol=1e-3) is invariant


def test_combine_is_fft_first_and_forward_chains_the_stages() -> None:
    torch.manual_seed(0)
    model = TwoBranchEmbedder(32000).eval()
    wave = torch.randn(3, 32000)
    with torch.no_grad():
        sub = model.encode(model.features(wave))
        emb = model(wave)
    assert list(sub) == ["spectrum", "spectrogram"]
    assert torch.equal(emb[:, :128], sub["spectrum"]) and torch.equal(emb[:, 128:], sub["spectrogram"])


def test_channels_last_changes_nothing_but_rounding() -> None:
    wave = torch.randn(2, SMALL, generator=torch.Generator().manual_seed(0))
    outs = []
    for cl in (True, False):
        torch.manual_seed(3)
        with torch.no_grad():
            outs.append(TwoBranchEmbedder(SMALL, channels_last=cl).train()(wave))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-4)


def _seeded_step() -> tuple[torch.Tensor, list[torch.Tensor]]:
    torch.manual_seed(123)
    model = TwoBranchEmbedder(SMALL).train()
    wave = torch.randn(4, SMALL)
    emb = model(wave)
    loss = emb.square().mean() + model.regularization()
    loss.backward()
    return emb.detach(), [p.grad.clone() for p in model.parameters()]


def test_seeded_forward_backward_is_bit_for_bit_repeatable() -> None:
    emb1, grads1 = _seeded_step()
    emb2, grads2 = _seeded_step()
    assert torch.equal(emb1, emb2)
    assert len(grads1) == len(grads2) and all(torch.equal(a, b) for a, b in zip(grads1, grads2, strict=True))
    # every backbone parameter receives a gradient (a 1-unit SE layer of stage 2 may be dead at init)
    names = [n for n, _ in TwoBranchEmbedder(SMALL).named_parameters()]
    assert all(g.abs().sum() > 0 for n, g in zip(names, grads1, strict=True) if ".se." not in n)


def test_short_clips_and_wrong_lengths_are_clear_errors() -> None:
    TwoBranchEmbedder(MIN_CLIP_SAMPLES)(torch.randn(2, MIN_CLIP_SAMPLES))  # the shortest clip works
    with pytest.raises(ConfigError, match="clip_samples=3071 is too short.*3072"):
        TwoBranchEmbedder(MIN_CLIP_SAMPLES - 1)
    model = TwoBranchEmbedder(32000)
    with pytest.raises(ConfigError, match=r"\(batch, 32000\); got \(2, 16000\)"):
        model.features(torch.randn(2, 16000))


def test_registered_factory() -> None:
    component = resolve("embedder", "two-branch")
    model = component.factory(32000, tmn=False)
    assert isinstance(model, Embedder) and isinstance(model, TwoBranchEmbedder)
    assert model.spectrogram.tmn is False
    with pytest.raises(ConfigError, match="unknown option.*tnm.*known: tmn"):
        component.factory(32000, tnm=False)


def test_squeeze_excitation_gates_channels() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(32)
    assert se.reduce.weight.shape == (2, 32) and se.expand.weight.shape == (32, 2)
    x = torch.randn(3, 32, 5, 7)
    gate = torch.sigmoid(torch.relu(x.mean(dim=(2, 3)) @ se.reduce.weight.t()) @ se.expand.weight.t())
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])


def test_default_is_the_published_graph_and_the_variants_are_options() -> None:
    """Unit 2 of stage 2 is conv -> ReLU -> BN by default; the textbook order, the pre-fix first
    unit and the SE-free network are options with the same or fewer weights, and each changes
    the function."""
    wave = torch.randn(2, SMALL, generator=torch.Generator().manual_seed(0))
    default = TwoBranchEmbedder(SMALL)
    assert [u.relu_before_bn for u in default.spectrogram.units] == [False, True] + [False] * 6
    units = [line for line in default.layout() if line.startswith("unit ")]
    assert "ReLU -> BN -> conv3x3" in units[1] and "BN -> ReLU" in units[0]
    variants = {"default": {}, "textbook": {"stage2_second_unit_order": "conv-bn-relu"},
                "pre-fix": {"stage2_first_unit_bn": "input"}, "no-se": {"se": False}}
    outs, counts = {}, {}
    for name, options in variants.items():
        torch.manual_seed(4)
        model = TwoBranchEmbedder(SMALL, **options).train()
        counts[name] = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            outs[name] = model(wave)
    assert counts["textbook"] == counts["pre-fix"] == counts["default"] > counts["no-se"]
    for name in ("textbook", "pre-fix", "no-se"):
        assert not torch.allclose(outs[name], outs["default"]), name
    pre_fix = TwoBranchEmbedder(SMALL, stage2_first_unit_bn="input")
    first = pre_fix.spectrogram.units[0]
    assert first.bn_reads_input and first.pre_bn is None
    assert "unit 0 (stage 2): [BN(x) -> ReLU -> conv3x3 -> SE] + x (conv1's output unused)" in pre_fix.layout()
    # conv1 keeps its weights and L2 penalty (as the Keras layer did) but gets no gradient from the loss
    pre_fix.train()
    pre_fix(wave).square().sum().backward()
    assert first.conv1.weight.grad is None and first.conv2.weight.grad is not None
    assert "spectrogram.units.0.conv1.weight" in pre_fix._l2_names
    no_se = TwoBranchEmbedder(SMALL, se=False)
    assert not any(isinstance(m, SqueezeExcitation) for m in no_se.modules())


@pytest.mark.parametrize(("option", "value"), [("stage2_second_unit_order", "bn-relu"), ("stage2_first_unit_bn", "x"),
                                               ("se", "maybe"), ("tmn", "maybe")])
def test_variant_options_are_checked(option, value) -> None:
    with pytest.raises(ConfigError, match=option):
        TwoBranchEmbedder(SMALL, **{option: value})


@pytest.mark.parametrize("options", [{"stage2_first_unit_bn": "input"}, {"se": False},
                                     {"stage2_second_unit_order": "conv-bn-relu"}])
def test_folded_inference_copy_of_every_variant_computes_the_eval_network(options) -> None:
    torch.manual_seed(0)
    model = TwoBranchEmbedder(8000, **options).double().eval()
    for m in model.modules():  # non-trivial statistics, so a wrongly folded BN shows
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(3, 8000, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model.for_inference()(x), model(x), rtol=1e-10, atol=1e-10)
