"""The three strategies together: 9C label layout, probabilities, partners, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch
from asdbench import Augmenter

from asdbench_ssl import FeatEx, Mixup, StatEx

C = 5


class FakeEmbedder:
    """Just enough of an embedder to route a batch through the three stages."""

    def features(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = wave.unfold(1, 16, 8).abs()  # B x T x 16, non-negative like a magnitude spectrogram
        return {"spectrum": wave.abs(), "spectrogram": frames}

    def encode(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"spectrum": feats["spectrum"][:, :8], "spectrogram": feats["spectrogram"].mean(dim=1)[:, :8]}


def run_pipeline(pipeline: list[Augmenter], wave: torch.Tensor, labels: torch.Tensor, seed: int):
    """mixup -> features -> StatEx -> encode -> FeatEx, as the trainer does."""
    for aug in pipeline:
        aug.bind(pipeline)
    gen = torch.Generator().manual_seed(seed)
    emb = FakeEmbedder()
    steps = {"waveform": [], "features": [], "embedding": []}
    for aug in pipeline:
        steps[aug.stage].append(aug)
    trace = {"in": labels}
    for aug in steps["waveform"]:
        wave, labels = aug(wave, labels, gen)
    trace["mixup"] = labels
    feats = emb.features(wave)
    for aug in steps["features"]:
        feats, labels = aug(feats, labels, gen)
    trace["statex"] = labels
    sub = emb.encode(feats)
    for aug in steps["embedding"]:
        sub, labels = aug(sub, labels, gen)
    trace["featex"] = labels
    return sub, trace


def batch(n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 256, generator=g), torch.eye(C)[torch.randint(0, C, (n,), generator=g)]


def test_nine_c_layout_of_the_proposed_approach():
    wave, y0 = batch()
    pipeline = [Mixup(), StatEx(), FeatEx()]
    _, t = run_pipeline(pipeline, wave, y0, seed=4)
    assert pipeline[0].p == 0.5
    assert [t[k].shape[1] for k in ("in", "mixup", "statex", "featex")] == [C, C, 3 * C, 9 * C]
    ym, ys, yf = t["mixup"], t["statex"], t["featex"]
    for y in (ym, ys, yf):
        torch.testing.assert_close(y.sum(dim=1), torch.ones(64))
        assert (y >= 0).all()
    rev = torch.arange(63, -1, -1)
    s_ex = ys[:, :C].sum(dim=1) == 0
    torch.testing.assert_close(ys[~s_ex], torch.cat([ym, 0 * ym, 0 * ym], dim=1)[~s_ex])
    torch.testing.assert_close(ys[s_ex], torch.cat([0 * ym, ym / 2, ym[rev] / 2], dim=1)[s_ex])
    f_ex = yf[:, : 3 * C].sum(dim=1) == 0
    torch.testing.assert_close(yf[~f_ex], torch.cat([ys, 0 * ys, 0 * ys], dim=1)[~f_ex])
    torch.testing.assert_close(yf[f_ex], torch.cat([0 * ys, ys / 2, ys[rev] / 2], dim=1)[f_ex])
    # a sample neither exchanged keeps its (mixed) class in the first C columns
    both_kept = ~s_ex & ~f_ex
    assert both_kept.any() and (s_ex & f_ex).any()
    torch.testing.assert_close(yf[both_kept, :C], ym[both_kept])
    assert (yf[both_kept, C:] == 0).all()


@pytest.mark.parametrize("name", ["mixup", "statex", "featex"])
def test_coin_flips_follow_the_probability(name):
    """2000 batches of 64: the exchange rate stays within 4 binomial standard deviations."""
    n_batches, size, classes = 2000, 64, 3
    p = {"mixup": 0.5, "statex": 0.5, "featex": 0.3}[name]
    aug = {"mixup": Mixup(p=p), "statex": StatEx(p=p), "featex": FeatEx(p=p)}[name]
    gen = torch.Generator().manual_seed(123)
    # distinct classes per row, so a mixed row always differs from its one-hot label
    labels = torch.eye(size) if name == "mixup" else torch.eye(classes)[torch.arange(size) % classes]
    data = {
        "mixup": torch.randn(size, 4),
        "statex": {"spectrogram": torch.rand(size, 3, 4)},
        "featex": {"spectrum": torch.randn(size, 2), "spectrogram": torch.randn(size, 2)},
    }[name]
    hits = 0
    for _ in range(n_batches):
        _, y = aug(data, labels, gen)
        changed = (y != labels).any(dim=1) if name == "mixup" else y[:, :classes].sum(dim=1) == 0
        hits += int(changed.sum())
    trials = n_batches * size
    assert abs(hits / trials - p) < 4 * math.sqrt(p * (1 - p) / trials)


def test_random_partner_is_a_permutation_drawn_from_the_generator():
    gen_seed = 9
    x = torch.rand(32, 6, 7)
    labels = torch.eye(32)
    out, y = StatEx(p=1.0, partner="random")({"spectrogram": x}, labels, torch.Generator().manual_seed(gen_seed))
    perm = torch.randperm(32, generator=torch.Generator().manual_seed(gen_seed))
    assert not torch.equal(perm, torch.arange(31, -1, -1))
    torch.testing.assert_close(y[:, 64:], 0.5 * labels[perm])
    torch.testing.assert_close(out["spectrogram"].mean(dim=2), x[perm].mean(dim=2))
    sub = {"spectrum": torch.randn(32, 4), "spectrogram": torch.randn(32, 4)}
    out2, _ = FeatEx(p=1.0, partner="random")(sub, labels, torch.Generator().manual_seed(gen_seed))
    assert torch.equal(out2["spectrogram"], sub["spectrogram"][perm])
    out3, y3 = Mixup(p=1.0, partner="random")(torch.randn(32, 10), labels, torch.Generator().manual_seed(gen_seed))
    assert torch.equal((y3 > 0).sum(dim=1) <= 2, torch.ones(32, dtype=torch.bool))


def test_same_seed_same_outputs_other_seed_other_outputs():
    wave, y0 = batch(seed=1)

    def once(seed: int, partner: str):
        pipeline = [Mixup(partner=partner), StatEx(partner=partner, axis="both"), FeatEx(partner=partner)]
        return run_pipeline(pipeline, wave, y0, seed)

    for partner in ("reversed", "random"):
        (sub_a, t_a), (sub_b, t_b), (sub_c, t_c) = once(5, partner), once(5, partner), once(6, partner)
        assert all(torch.equal(sub_a[k], sub_b[k]) for k in sub_a)
        assert torch.equal(t_a["featex"], t_b["featex"])
        assert not torch.equal(t_a["featex"], t_c["featex"])
        assert not torch.equal(sub_a["spectrogram"], sub_c["spectrogram"])
