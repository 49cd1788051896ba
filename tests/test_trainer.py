"""The trainer: heads per system, label composition, repeatability, checkpoint resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asdbench.systems import build_training_model, resolve_system
from asdbench.testing import train_system
from asdbench.training.pipeline import AugmenterPipeline, Labels
from asdbench.training.trainer import TrainConfig, epoch_order

SAMPLES = 8000  # 0.5 s: the real network, a short clip
C = 5


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / 16000
    ids = np.arange(n) % C
    waves = np.stack([np.sin(2 * np.pi * (200 + 150 * k) * t) + 0.3 * rng.standard_normal(SAMPLES) for k in ids])
    waves = waves.astype(np.float32)
    return (lambda idx: waves[np.asarray(idx)]), ids


@pytest.mark.parametrize("spec, heads, ssl_classes, ssl_trainable", [
    ("baseline", ["regular"], None, None),
    ("statex", ["ssl"], 3 * C, True),
    ("featex", ["ssl"], 3 * C, True),
    ("regular+statex", ["regular", "ssl"], 3 * C, True),
    ("regular+featex", ["regular", "ssl"], 3 * C, True),
    ("combined", ["regular", "ssl"], 9 * C, True),
    ("combined-no-class-labels", ["regular", "ssl"], 9, True),
    ("combined-frozen-ssl-centres", ["regular", "ssl"], 9 * C, False),
    ("combined-no-tmn-full-statex", ["regular", "ssl"], 9 * C, True),
])
def test_paper_configurations_build_the_right_heads(spec, heads, ssl_classes, ssl_trainable):
    system = resolve_system(spec)
    model, pipeline = build_training_model(system, SAMPLES, C)
    assert sorted(model.heads) == heads
    if "regular" in heads:
        regular = model.heads["regular"]
        assert regular.n_classes == C
        assert not any(p.requires_grad for p in regular.parameters())
    if ssl_classes is not None:
        ssl = model.heads["ssl"]
        assert ssl.n_classes == ssl_classes
        assert any(p.requires_grad for p in ssl.parameters()) == ssl_trainable
    if spec == "combined-no-tmn-full-statex":
        assert model.embedder.spectrogram.tmn is False
        assert pipeline.by_stage["features"][0].axis == "both"
    mixups = pipeline.by_stage["waveform"]
    assert [m.p for m in mixups] == ([1.0] if spec == "baseline" else [0.5])


def test_combined_labels_have_the_9c_layout():
    system = resolve_system("combined")
    model, pipeline = build_training_model(system, SAMPLES, C)
    read, ids = _data(16)
    wave = torch.from_numpy(read(np.arange(16)))
    y = torch.eye(C)[torch.as_tensor(ids[:16])]
    g = torch.Generator().manual_seed(3)
    labels = Labels(y, y)
    wave, labels = pipeline.apply("waveform", wave, labels, g)
    feats, labels = pipeline.apply("features", model.embedder.features(wave), labels, g)
    sub, labels = pipeline.apply("embedding", model.embedder.encode(feats), labels, g)
    assert labels.regular.shape == (16, C) and labels.ssl.shape == (16, 9 * C)
    torch.testing.assert_close(labels.ssl.sum(1), torch.ones(16))
    torch.testing.assert_close(labels.regular.sum(1), torch.ones(16))
    # block b of 9 = 3 * featex_block + statex_block; regular labels = the sum over the blocks of the
    # mixup labels, which is what the kept-kept block holds when neither exchange happened
    blocks = labels.ssl.reshape(16, 3, 3, C)
    untouched = (blocks[:, 0, 0].sum(1) - 1).abs() < 1e-6
    torch.testing.assert_close(blocks[untouched, 0, 0], labels.regular[untouched])


def test_pipeline_rejects_wrong_label_width():
    class Bad:
        stage, factor = "features", 3

        def __call__(self, data, labels, generator):
            return data, labels  # forgot to expand

    pipe = AugmenterPipeline([Bad()])
    with pytest.raises(ValueError, match="expected \\(4, 6\\)"):
        pipe.apply("features", {}, Labels(torch.eye(2)[[0, 1, 0, 1]], torch.eye(2)[[0, 1, 0, 1]]), torch.Generator())


def _train(tmp_path, spec="combined", epochs=2, checkpoint=None, seed=1):
    read, ids = _data()
    return train_system(spec, read, ids, C, SAMPLES, TrainConfig(epochs=epochs, batch_size=8, seed=seed, device="cpu"),
                        checkpoint=checkpoint)


def test_seeded_training_is_bit_for_bit_repeatable(tmp_path):
    a = _train(tmp_path).state_dict()
    b = _train(tmp_path).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = _train(tmp_path, seed=2).state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_resume_from_checkpoint_equals_uninterrupted_training(tmp_path):
    straight = _train(tmp_path, epochs=2).state_dict()
    checkpoint = tmp_path / "checkpoint.pt"
    _train(tmp_path, epochs=1, checkpoint=checkpoint)  # "killed" after epoch 1
    state = torch.load(checkpoint, weights_only=True)
    assert state["epoch"] == 0
    resumed = _train(tmp_path, epochs=2, checkpoint=checkpoint).state_dict()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_frozen_regular_centres_stay_frozen_during_training(tmp_path):
    system = resolve_system("combined")
    before = build_training_model(system, SAMPLES, C, seed=1)[0].state_dict()
    after = _train(tmp_path).state_dict()
    frozen = [k for k in before if k.startswith("heads.regular") and "scale" not in k]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    trainable = [k for k in before if k.startswith("heads.ssl") and before[k].is_floating_point() and before[k].ndim == 2]
    assert trainable and any(not torch.equal(before[k], after[k]) for k in trainable)


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert np.array_equal(epoch_order(50, 3, 2), epoch_order(50, 3, 2))
    assert not np.array_equal(epoch_order(50, 3, 2), epoch_order(50, 3, 3))
    assert sorted(epoch_order(50, 3, 2)) == list(range(50))
