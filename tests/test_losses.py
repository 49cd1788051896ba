"""Loss heads against direct numpy computations of the reference formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from asdbench.components import LossHead
from asdbench.errors import ConfigError
from asdbench.losses import (
    AdaCos,
    SoftmaxCrossEntropy,
    SubClusterAdaCos,
    keras_categorical_crossentropy,
)
from asdbench.plugins import resolve


def _np_cos(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=0, keepdims=True)
    return x @ w


def _np_scale(s: float, cos: np.ndarray, y: np.ndarray, sub: int, faithful: bool) -> float:
    """The reference's update, written out: M, B_avg, label-weighted angle, TFP 'nearest' median."""
    logits = s * cos
    m = logits.max()
    b_avg = np.exp(logits - m).sum(axis=1).mean()
    theta = np.arccos(np.clip(cos, -1 + 1e-7, 1 - 1e-7))
    if faithful:  # sums the S sub-cluster angles of the labelled class, times the number of labels
        theta_class = (np.repeat(y, sub, axis=1) * theta).sum(axis=1) * np.count_nonzero(y, axis=1)
    else:  # intended: angle to the nearest sub-cluster of each class, label-weighted
        theta_class = (y * theta.reshape(len(y), -1, sub).min(axis=2)).sum(axis=1)
    ordered = np.sort(theta_class)
    median = ordered[int(np.round((len(ordered) - 1) * 0.5))]  # numpy rounds half to even, as tf.round
    new = (m + np.log(b_avg)) / np.cos(min(np.pi / 4, median))
    return new + 1e-7 if faithful else new


def _np_loss(s: float, cos: np.ndarray, y: np.ndarray, n_classes: int, sub: int) -> float:
    z = s * cos
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    pc = p.reshape(len(p), n_classes, sub).sum(axis=2)
    pc = np.clip(pc / pc.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    return float(-(y * np.log(pc)).sum(axis=1).mean())


def _batch(b: int, d: int, c: int, mixup: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=gen)
    y = torch.nn.functional.one_hot(torch.randint(0, c, (b,), generator=gen), c).float()
    if mixup:
        lam = torch.rand(b, 1, generator=gen)
        y = lam * y + (1 - lam) * y.flip(0)
    return x, y


@pytest.mark.parametrize("mixup", [False, True])
@pytest.mark.parametrize("faithful", [True, False])
def test_scale_update_and_loss_match_numpy(mixup: bool, faithful: bool) -> None:
    torch.manual_seed(0)
    c, sub = 7, 16
    head = SubClusterAdaCos(256, c, trainable=True, sub_clusters=sub, faithful_scale=faithful).train()
    x, y = _batch(64, 256, c, mixup)
    s0 = float(head.scale)
    assert s0 == pytest.approx(math.sqrt(2) * math.log(c * sub - 1))
    cos = _np_cos(x.double().numpy(), head.centres.detach().double().numpy())
    loss = head(x, y)
    s1 = _np_scale(s0, cos, y.double().numpy(), sub, faithful)
    assert float(head.scale) == pytest.approx(s1, rel=1e-5)
    # the loss uses the scale updated on this very batch ("before use")
    assert float(loss.detach()) == pytest.approx(_np_loss(s1, cos, y.double().numpy(), c, sub), rel=1e-4)
    # a second batch starts from the new scale
    x2, y2 = _batch(64, 256, c, mixup, seed=1)
    head(x2, y2)
    cos2 = _np_cos(x2.double().numpy(), head.centres.detach().double().numpy())
    assert float(head.scale) == pytest.approx(_np_scale(s1, cos2, y2.double().numpy(), sub, faithful), rel=1e-5)


def test_reference_quirk_emerges_from_the_literal_computation() -> None:
    """With 16 sub-clusters the weighted angle sums 16 angles, so the rule is sqrt(2)*log(...)."""
    torch.manual_seed(0)
    head = SubClusterAdaCos(256, 5, trainable=False).train()
    x, y = _batch(32, 256, 5, mixup=False)
    s0 = float(head.scale)
    head(x, y)
    logits = s0 * _np_cos(x.double().numpy(), head.centres.double().numpy())
    simplified = math.sqrt(2) * np.log(np.exp(logits).sum(axis=1).mean()) + 1e-7
    assert float(head.scale) == pytest.approx(simplified, rel=1e-5)

    # Embeddings near a sub-centre of their class: the intended rule sees angles below pi/4 and
    # divides by cos(theta_med) > cos(pi/4) (a smaller scale); the reference still sums 16 angles.
    gen = torch.Generator().manual_seed(5)
    cls = y.argmax(dim=1)
    near = head.centres[:, cls * 16 + 2].t() + 0.02 * torch.randn(32, 256, generator=gen)
    scales = []
    for faithful in (True, False):
        h = SubClusterAdaCos(256, 5, trainable=False, faithful_scale=faithful).train()
        h.centres.copy_(head.centres)
        h(near, y)
        scales.append(float(h.scale))
    logits = s0 * _np_cos(near.double().numpy(), head.centres.double().numpy())
    assert scales[0] == pytest.approx(math.sqrt(2) * np.log(np.exp(logits).sum(axis=1).mean()) + 1e-7, rel=1e-5)
    assert scales[1] < scales[0] - 0.5
    cos = _np_cos(near.double().numpy(), head.centres.double().numpy())
    assert scales[1] == pytest.approx(_np_scale(s0, cos, y.double().numpy(), 16, faithful=False), rel=1e-5)


def test_plain_adacos_is_one_sub_cluster() -> None:
    torch.manual_seed(0)
    head = AdaCos(128, 10, trainable=True).train()
    assert head.sub_clusters == 1 and head.centres.shape == (128, 10)
    assert float(head.scale) == pytest.approx(math.sqrt(2) * math.log(9))
    x, y = _batch(16, 128, 10, mixup=True)
    s0 = float(head.scale)
    loss = head(x, y)
    cos = _np_cos(x.double().numpy(), head.centres.detach().double().numpy())
    s1 = _np_scale(s0, cos, y.double().numpy(), 1, True)
    assert float(head.scale) == pytest.approx(s1, rel=1e-5)
    assert float(loss.detach()) == pytest.approx(_np_loss(s1, cos, y.double().numpy(), 10, 1), rel=1e-4)


def test_eval_mode_does_not_touch_the_scale() -> None:
    head = SubClusterAdaCos(64, 3, trainable=True).eval()
    x, y = _batch(8, 64, 3, mixup=False)
    s0 = head.scale.clone()
    head(x, y)
    probs = head.probabilities(x)
    assert torch.equal(head.scale, s0)
    assert probs.shape == (8, 3)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(8))


def test_keras_crossentropy_renormalises_and_clips() -> None:
    p = torch.tensor([[0.5, 0.5, 0.0], [2.0, 1.0, 1.0]])  # second row not normalised
    y = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    expected = (-math.log(1e-7) - math.log(0.5)) / 2
    assert float(keras_categorical_crossentropy(p, y)) == pytest.approx(expected, rel=1e-5)


def _train_steps(head: LossHead, steps: int = 5) -> None:
    encoder = torch.nn.Linear(32, 64, bias=False)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-2, eps=1e-7)
    head.train()
    for i in range(steps):
        x, y = _batch(16, 32, head.n_classes, mixup=True, seed=i)
        opt.zero_grad()
        head(encoder(x), y).backward()
        opt.step()


@pytest.mark.parametrize("cls", [SubClusterAdaCos, AdaCos, SoftmaxCrossEntropy])
def test_frozen_centres_stay_bit_identical_trainable_ones_move(cls) -> None:
    torch.manual_seed(0)
    frozen = cls(64, 4, trainable=False)
    attr = "weight" if cls is SoftmaxCrossEntropy else "centres"
    before = getattr(frozen, attr).clone()
    assert list(frozen.parameters()) == []  # nothing an optimizer could touch
    assert attr in frozen.state_dict()  # but saved with the weights
    _train_steps(frozen)
    assert torch.equal(getattr(frozen, attr), before)

    torch.manual_seed(0)
    trainable = cls(64, 4, trainable=True)
    assert torch.equal(getattr(trainable, attr).detach(), before)  # same seed, same init
    _train_steps(trainable)
    assert not torch.equal(getattr(trainable, attr).detach(), before)


def test_centres_glorot_uniform_and_layout() -> None:
    torch.manual_seed(0)
    head = SubClusterAdaCos(256, 30, trainable=False)
    w = head.centres
    bound = math.sqrt(6 / (256 + 30 * 16))
    assert w.shape == (256, 480)
    assert w.abs().max().item() <= bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    # class c owns columns c*S .. c*S+S-1: an embedding equal to one sub-centre is classified as c
    x = w[:, 16 * 7 + 3].unsqueeze(0) * 5
    head.scale.fill_(30.0)
    assert int(head.probabilities(x).argmax()) == 7


def test_two_batches_before_backward() -> None:
    """The in-place scale update of a second batch must not break the first batch's graph."""
    head = SubClusterAdaCos(32, 3, trainable=True).train()
    x1, y1 = _batch(8, 32, 3, mixup=False, seed=1)
    x2, y2 = _batch(8, 32, 3, mixup=False, seed=2)
    (head(x1, y1) + head(x2, y2)).backward()
    assert head.centres.grad is not None and head.centres.grad.abs().sum() > 0


def test_scale_buffer_is_saved_and_not_a_parameter() -> None:
    head = SubClusterAdaCos(32, 3, trainable=True)
    assert "scale" in head.state_dict() and "scale" not in dict(head.named_parameters())
    assert [n for n, _ in head.named_parameters()] == ["centres"]


def test_softmax_head_matches_numpy() -> None:
    torch.manual_seed(0)
    head = SoftmaxCrossEntropy(16, 5, trainable=True)
    x, y = _batch(8, 16, 5, mixup=True)
    z = x.double().numpy() @ head.weight.detach().double().numpy().T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = -(y.double().numpy() * np.log(np.clip(p, 1e-7, 1 - 1e-7))).sum(axis=1).mean()
    assert float(head(x, y).detach()) == pytest.approx(expected, rel=1e-5)


def test_errors_are_clear() -> None:
    head = SubClusterAdaCos(32, 3, trainable=True)
    with pytest.raises(ValueError, match=r"labels of shape \(batch, 3\), got \(4, 5\)"):
        head(torch.randn(4, 32), torch.zeros(4, 5))
    with pytest.raises(ConfigError, match="n_classes must be positive"):
        SubClusterAdaCos(32, 0, trainable=True)
    with pytest.raises(ConfigError, match="at least 2 logits"):
        AdaCos(32, 1, trainable=True)


def test_registered_loss_factories() -> None:
    sc = resolve("loss", "sub-cluster-adacos").factory(256, 9, True)
    assert isinstance(sc, SubClusterAdaCos) and sc.sub_clusters == 16 and sc.centres.shape == (256, 144)
    sc4 = resolve("loss", "sub-cluster-adacos").factory(256, 9, False, sub_clusters=4, faithful_scale=False)
    assert sc4.sub_clusters == 4 and not sc4.faithful_scale and not sc4.trainable
    assert isinstance(resolve("loss", "adacos").factory(256, 9, True), AdaCos)
    assert isinstance(resolve("loss", "softmax").factory(256, 9, True), SoftmaxCrossEntropy)
    with pytest.raises(ConfigError, match="loss adacos: unknown option.*sub_clusters"):
        resolve("loss", "adacos").factory(256, 9, True, sub_clusters=4)
