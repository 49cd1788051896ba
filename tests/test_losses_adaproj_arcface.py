"""AdaProj and ArcFace against numpy computations of their equations, and as regular / SSL heads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_losses import _batch

from asdbench.errors import ConfigError
from asdbench.losses import AdaProj, ArcFace
from asdbench.plugins import resolve
from asdbench.systems import build_training_model, resolve_system


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _np_projection_cosine(x: np.ndarray, centres: np.ndarray, c: int, r: int) -> np.ndarray:
    """cos(x, P_c(x)) with P_c(x) = sum_k <x, w_ck> w_ck built explicitly, one class at a time."""
    x = _unit_rows(x)
    w = centres / np.linalg.norm(centres, axis=0, keepdims=True)
    out = np.empty((len(x), c))
    for cls in range(c):
        basis = w[:, cls * r:(cls + 1) * r]  # D x R
        projection = (x @ basis) @ basis.T  # B x D
        out[:, cls] = np.sum(x * projection, axis=1) / np.linalg.norm(projection, axis=1)
    return out


def _np_adaproj_scale(s: float, cos: np.ndarray, y: np.ndarray) -> float:
    """The author's AdaProj update, written from his equations: M = max(s cos); B_avg sums
    exp(s cos - M) over the classes a clip is not fully labelled with and exp(0 - M) for the
    one it is; the angle of a clip is its label-weighted angle; the median is tfp's 'nearest'."""
    logits = s * cos
    m = logits.max()
    b_avg = np.where(y < 1, np.exp(logits - m), np.exp(-m)).sum(axis=1).mean()
    theta = (y * np.arccos(np.clip(cos, -1 + 1e-7, 1 - 1e-7))).sum(axis=1)
    median = np.sort(theta)[int(np.round((len(theta) - 1) * 0.5))]
    return (m + np.log(b_avg)) / np.cos(min(np.pi / 4, median)) + 1e-7


def _np_keras_ce(logits: np.ndarray, y: np.ndarray) -> float:
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = np.clip(p / p.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p)).sum(axis=1).mean())


@pytest.mark.parametrize("mixup", [False, True])
def test_adaproj_cosine_scale_and_loss_match_numpy(mixup: bool) -> None:
    torch.manual_seed(0)
    c, r, d = 6, 8, 64
    head = AdaProj(d, c, trainable=True, subspace_dim=r, trainable_subspaces=True).train()
    x, y = _batch(32, d, c, mixup)
    centres = head.centres.detach().double().numpy()
    cos = _np_projection_cosine(x.double().numpy(), centres, c, r)
    torch.testing.assert_close(head.cosine(x).double(), torch.from_numpy(cos), rtol=1e-5, atol=1e-6)
    s0 = float(head.scale)
    assert s0 == pytest.approx(math.sqrt(2) * math.log(c - 1))
    loss = head(x, y)
    s1 = _np_adaproj_scale(s0, cos, y.double().numpy())
    assert float(head.scale) == pytest.approx(s1, rel=1e-5)
    # the mask matters: summing exp(s cos) over every logit (sub-cluster AdaCos' B_avg) gives
    # another scale whenever a clip is fully labelled with one class
    unmasked = _np_adaproj_scale(s0, cos, np.where(y.double().numpy() == 1, 0.999999, y.double().numpy()))
    if not mixup:
        assert abs(unmasked - s1) > 1e-3
    assert float(loss.detach()) == pytest.approx(_np_keras_ce(s1 * cos, y.double().numpy()), rel=1e-4)
    loss.backward()
    assert head.centres.grad is not None and float(head.centres.grad.abs().sum()) > 0


def test_adaproj_cosine_is_one_inside_the_subspace_and_the_norm_of_coefficients_for_orthonormal_bases() -> None:
    d, c, r = 16, 3, 4
    head = AdaProj(d, c, trainable=False, subspace_dim=r)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((d, c * r)))[0]  # orthonormal columns
    head.centres.copy_(torch.from_numpy(q).float())
    x = np.random.default_rng(1).standard_normal((5, d))
    cos = head.cosine(torch.from_numpy(x).float()).double().numpy()
    coefficients = _unit_rows(x) @ q
    np.testing.assert_allclose(cos, np.linalg.norm(coefficients.reshape(5, c, r), axis=2), rtol=1e-5)
    inside = torch.from_numpy(q[:, r:2 * r] @ np.arange(1.0, r + 1)).float()[None]  # in class 1's span
    assert float(head.cosine(inside)[0, 1]) == pytest.approx(1.0, abs=1e-5)


def _np_arcface_logits(cos: np.ndarray, y: np.ndarray, s: float, m: float) -> np.ndarray:
    theta = np.arccos(np.clip(cos, -1 + 1e-7, 1 - 1e-7))
    target = np.where(theta + m < np.pi, np.cos(theta + m), np.cos(theta) - m * np.sin(m))
    return s * (y * target + (1 - y) * cos)


@pytest.mark.parametrize("mixup", [False, True])
def test_arcface_loss_matches_numpy(mixup: bool) -> None:
    torch.manual_seed(0)
    c, d, s, m = 7, 32, 30.0, 0.4
    head = ArcFace(d, c, trainable=True, scale=s, margin=m)
    x, y = _batch(40, d, c, mixup)
    w = head.centres.detach().double().numpy()
    cos = _unit_rows(x.double().numpy()) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    z = _np_arcface_logits(cos, y.double().numpy(), s, m)
    log_p = z - z.max(axis=1, keepdims=True) - np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))
    expected = float(-(y.double().numpy() * log_p).sum(axis=1).mean())
    loss = head(x, y)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert float(head.centres.grad.abs().sum()) > 0


def test_arcface_margin_zero_is_scaled_softmax_and_margin_beyond_pi_stays_monotonic() -> None:
    head = ArcFace(8, 3, trainable=False, scale=10.0, margin=0.0)
    x, y = _batch(12, 8, 3, mixup=False)
    logits = 10.0 * head.cosine(x)
    expected = -(y * torch.log_softmax(logits, 1)).sum(1).mean()
    torch.testing.assert_close(head(x, y), expected)
    from asdbench.losses.arcface import arcface_logits

    cos = torch.linspace(-1, 1, 201)[:, None]
    target = arcface_logits(cos, torch.ones_like(cos), 1.0, 0.5)[:, 0]
    assert bool((target[1:] >= target[:-1]).all())  # a larger cosine never gets a smaller logit


def test_frozen_centres_are_buffers_and_bad_options_name_the_option() -> None:
    for head in (AdaProj(16, 4, trainable=False, subspace_dim=2), ArcFace(16, 4, trainable=False)):
        assert not list(head.parameters()) and "centres" in dict(head.named_buffers())
    with pytest.raises(ConfigError, match="subspace_dim"):
        resolve("loss", "adaproj").factory(16, 4, True, subspace_dim=17)
    with pytest.raises(ConfigError, match="margin"):
        resolve("loss", "arcface").factory(16, 4, True, margin=-0.1)
    with pytest.raises(ConfigError, match="unknown option"):
        resolve("loss", "arcface").factory(16, 4, True, sub_clusters=3)


@pytest.mark.parametrize("spec, regular, ssl", [
    ("combined:loss=adaproj", "AdaProj", "AdaProj"),
    ("combined:loss=arcface", "ArcFace", "ArcFace"),
    ("combined:ssl_loss=adaproj,adaproj.subspace_dim=4", "SubClusterAdaCos", "AdaProj"),
    ("baseline:regular_loss=arcface,arcface.scale=30", "ArcFace", None),
])
def test_losses_serve_as_regular_and_ssl_heads_with_mixup_labels(spec: str, regular: str, ssl: str | None) -> None:
    c, samples = 4, 8000
    model, pipeline = build_training_model(resolve_system(spec), samples, c)
    assert type(model.heads["regular"]).__name__ == regular and model.heads["regular"].n_classes == c
    assert not any(p.requires_grad for p in model.heads["regular"].parameters())  # frozen regular centres
    if ssl is None:
        assert "ssl" not in model.heads
    else:
        assert type(model.heads["ssl"]).__name__ == ssl and model.heads["ssl"].n_classes == 9 * c
        params = list(model.heads["ssl"].parameters())
        if ssl == "AdaProj":  # frozen subspaces in every head, as in the author's code
            assert not params and "centres" in dict(model.heads["ssl"].named_buffers())
        else:
            assert params and all(p.requires_grad for p in params)
    if "subspace_dim=4" in spec:
        assert model.heads["ssl"].subspace_dim == 4
    if "scale=30" in spec:
        assert model.heads["regular"].scale == 30.0


def test_adaproj_trainable_subspaces_follow_the_head_rule() -> None:
    model, _ = build_training_model(resolve_system("combined:loss=adaproj,adaproj.trainable_subspaces=true"), 8000, 4)
    assert not list(model.heads["regular"].parameters())  # the regular head stays frozen
    assert [p.requires_grad for p in model.heads["ssl"].parameters()] == [True]
    model, _ = build_training_model(resolve_system(
        "combined:loss=adaproj,adaproj.trainable_subspaces=true,ssl_trainable_centres=false"), 8000, 4)
    assert not list(model.heads["ssl"].parameters())
    with pytest.raises(ConfigError, match="trainable_subspaces"):
        resolve("loss", "adaproj").factory(16, 4, True, trainable_subspaces="yes")


def test_unknown_loss_in_a_spec_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown loss 'adaprojj'.*adaproj"):
        resolve_system("combined:loss=adaprojj")
