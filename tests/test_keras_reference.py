"""The default two-branch embedder and one training step of the proposed approach against the
author's own Keras outputs (``shared/reference/keras-two-branch.npz``, see its README).

Tolerances: max |difference| / max |reference| below 1e-5 at every network stage (float32
rounding in TensorFlow versus PyTorch leaves ~1e-7 at the front-end and ~3e-6 at the embedding,
as far as a float64 computation of the same network) and below 1e-6 for the labels each loss head
receives, the updated scales and the losses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from shared_data import SHARED_DATA, VALVE

from asdbench.components import SystemSpec
from asdbench.model.keras_import import (
    REFERENCE_STAGES,
    keras_parameter_table,
    load_keras_weights,
    reference_stages,
)
from asdbench.model.two_branch import TwoBranchEmbedder
from asdbench.systems import build_training_model
from asdbench.testing import scripted_uniforms
from asdbench.training.trainer import TrainConfig, Trainer

REFERENCE = SHARED_DATA.parent / "reference" / "keras-two-branch.npz"
pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason=f"reference vectors not found ({REFERENCE})")

SAMPLES = 288000
N_CLASSES = 28
EVAL_TOL = 1e-5
TRAIN_TOL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def relative_error(ours: torch.Tensor | np.ndarray | float, reference: np.ndarray | float) -> float:
    ours = np.asarray(ours.detach() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def embedder(ref: dict[str, np.ndarray], **options) -> TwoBranchEmbedder:
    return load_keras_weights(TwoBranchEmbedder(SAMPLES, **options), ref).eval()




def test_the_parameter_table_covers_every_weight_of_the_default_embedder_once(ref) -> None:
    model = TwoBranchEmbedder(SAMPLES)
    table = keras_parameter_table(model)
    targets = [target for target, _ in table.values()]
    assert len(targets) == len(set(targets))
    learned = {k for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(targets) == learned
    weight_keys = {k for k in ref if k.startswith("w/") and not k.endswith("_eps") and k != "w/l2_penalty"}
    assert set(table) == weight_keys


@pytest.mark.parametrize("path", ["plain", "channels_last", "folded"])
def test_default_embedder_reproduces_every_reference_stage(ref, path) -> None:
    model = embedder(ref, channels_last=path != "plain")
    if path == "folded":
        model = model.for_inference()
    stages = reference_stages(model, torch.from_numpy(ref["in/wave"][:4]))
    errors = {key: relative_error(stages[key], ref[f"eval/{key}"]) for key in REFERENCE_STAGES}
    assert max(errors.values()) < EVAL_TOL, errors


def test_l2_penalty_equals_the_reference(ref) -> None:
    assert relative_error(embedder(ref).regularization(), ref["w/l2_penalty"]) < TRAIN_TOL


def test_the_textbook_order_is_a_different_function(ref) -> None:
    """Switching unit 2 of stage 2 back to conv -> BN -> ReLU must fail the equivalence above."""
    model = embedder(ref, stage2_second_unit_order="conv-bn-relu")
    stages = reference_stages(model, torch.from_numpy(ref["in/wave"][:4]))
    assert relative_error(stages["unit_mean/0"], ref["eval/unit_mean/0"]) < EVAL_TOL
    assert relative_error(stages["unit_mean/1"], ref["eval/unit_mean/1"]) > 1e-2
    assert relative_error(stages["embedding"], ref["eval/embedding"]) > 1e-2


def test_one_training_batch_of_the_proposed_approach_reproduces_the_reference(ref) -> None:
    system = SystemSpec(augmenters=("mixup", "statex", "featex"), heads=("regular", "ssl"))
    config = TrainConfig(precision="fp32", device="cpu")
    model, pipeline = build_training_model(system, SAMPLES, N_CLASSES, seed=config.seed)
    load_keras_weights(model.embedder, ref)
    heads = model.heads
    assert heads["regular"].n_classes == N_CLASSES and heads["ssl"].n_classes == 9 * N_CLASSES
    with torch.no_grad():
        for name, prefix in (("regular", "reg"), ("ssl", "ssl")):
            heads[name].centres.copy_(torch.from_numpy(ref[f"train/{prefix}_W"]))
            assert relative_error(heads[name].scale, ref[f"train/{prefix}_s0"]) < TRAIN_TOL  # sqrt(2) ln(C*S - 1)
    received: dict[str, tuple[torch.Tensor, ...]] = {}
    hooks = [head.register_forward_hook(lambda _m, args, loss, name=name: received.__setitem__(name, (*args, loss)))
             for name, head in heads.items()]
    model.train()
    draws = [ref["train/mix_lam"], ref["train/mix_u"], ref["train/sx_u"], ref["train/fx_u"]]
    with scripted_uniforms(draws) as sizes:
        total, _ = Trainer(config)._loss(model, pipeline, torch.Generator().manual_seed(0),
                                              torch.from_numpy(ref["in/wave"]), torch.from_numpy(ref["train/y"]))
    for h in hooks:
        h.remove()
    assert sizes == [8, 8, 8, 8]  # mixup lambda, mixup coins, StatEx coins, FeatEx coins
    emb, y_mix, loss_reg = received["regular"]
    emb_ssl, y_ssl, loss_ssl = received["ssl"]
    # The embeddings carry the network's float32 rounding (2.6e-6 here; a float64 computation of
    # the same network is as far from the reference): the stage bound. Everything after them is
    # held to 1e-6.
    assert relative_error(emb, ref["train/emb"]) < EVAL_TOL
    assert relative_error(emb_ssl, ref["train/emb_ssl"]) < EVAL_TOL
    errors = {
        "y_mix": relative_error(y_mix, ref["train/y_mix"]), "y_ssl": relative_error(y_ssl, ref["train/y_ssl"]),
        "reg_s1": relative_error(heads["regular"].scale, ref["train/reg_s1"]),
        "ssl_s1": relative_error(heads["ssl"].scale, ref["train/ssl_s1"]),
        "loss_reg": relative_error(loss_reg, ref["train/loss_reg"]),
        "loss_ssl": relative_error(loss_ssl, ref["train/loss_ssl"]),
        "l2": relative_error(model.embedder.regularization(), ref["train/l2"]),
        "loss_total": relative_error(total, ref["train/loss_total"]),
    }
    assert max(errors.values()) < TRAIN_TOL, errors
    with torch.no_grad():
        for name, prefix in (("regular", "reg"), ("ssl", "ssl")):
            p = heads[name].probabilities(received[name][0])
            assert relative_error(p, ref[f"train/p_{prefix}"]) < 1e-5


def test_weights_of_another_size_or_variant_are_refused_with_the_key(ref) -> None:
    from asdbench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"w/conv1d_\d|w/dense_0 has shape"):
        load_keras_weights(TwoBranchEmbedder(160000), ref)
    partial = {k: v for k, v in ref.items() if k != "w/bn_8_gamma"}
    with pytest.raises(ConfigError, match="missing Keras weight.*w/bn_8_gamma"):
        load_keras_weights(TwoBranchEmbedder(SAMPLES), partial)


def _valve_subset(root: Path, per_kind: int) -> Path:
    """A DCASE2023-layout folder with ``per_kind`` real valve clips per domain and label."""
    if not VALVE.is_dir():
        pytest.skip("real DCASE2023 valve clips not available")
    test_dir = root / "dev_data" / "valve" / "test"
    test_dir.mkdir(parents=True)
    for domain in ("source", "target"):
        for label in ("normal", "anomaly"):
            for wav in sorted(VALVE.glob(f"section_00_{domain}_test_{label}_*.wav"))[:per_kind]:
                (test_dir / wav.name).symlink_to(wav)
    return root


def test_keras_weights_extract_score_and_evaluate_through_asdbench_run(ref, tmp_path) -> None:
    """The documented command: a run that starts from Keras weights and trains 0 epochs."""
    from click.testing import CliRunner

    from asdbench.cli import main

    data = _valve_subset(tmp_path / "valve", per_kind=20)
    result = CliRunner().invoke(main, ["run", "--data", str(data), "--train-from-test", "0.5", "--ssl", "baseline",
                                       "--epochs", "0", "--init-weights", str(REFERENCE), "--out", str(tmp_path / "runs"),
                                       "--name", "keras", "--quiet", "--format", "csv"])
    assert result.exit_code == 0, result.output
    trial = tmp_path / "runs" / "keras" / "baseline" / "seed-0"
    saved = torch.load(trial / "weights.pt", weights_only=True)
    expected = embedder(ref).state_dict()
    assert all(torch.equal(saved[k], expected[k]) for k in expected)
    metrics = (trial / "kmeans" / "metrics.csv").read_text()
    assert "official_score" in metrics
    # 80 clips; half of the 40 normals moved to training: 60 scored, one row each
    assert len((trial / "kmeans" / "scores.csv").read_text().splitlines()) == 1 + 60


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", "0"], "--epochs must be >= 1 (0 only with --init-weights"),
    (["--init-weights", "missing.npz"], "--init-weights: file not found"),
    (["--init-weights", "weights.h5"], "expected a .npz file of Keras weights"),
])
def test_init_weights_and_zero_epochs_are_checked_before_anything_runs(tmp_path, args, message) -> None:
    from click.testing import CliRunner

    from asdbench.cli import main

    result = CliRunner().invoke(main, ["run", *args, "--out", str(tmp_path / "runs")])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "runs").exists()
