"""k-NN + SMOTE, local-density k-NN, Gaussian mixture and LOF against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from test_backends import _knn_brute, _unit, make_split

from asdbench.backends import GMMBackend, KNNSMOTEBackend, LocalDensityKNNBackend, LOFBackend
from asdbench.errors import ConfigError, DataError
from asdbench.plugins import resolve

GROUPS = ("fan/section_00", "valve/section_00")
NEW = [KNNSMOTEBackend, LocalDensityKNNBackend, GMMBackend, LOFBackend]


def _cos_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 - _unit(a) @ _unit(b).T


# --------------------------------------------------------------------------------------------
# k-NN + SMOTE
# --------------------------------------------------------------------------------------------


def _on_a_smote_segment(s: np.ndarray, target: np.ndarray, neighbours: int) -> bool:
    """Whether unit vector ``s`` is the direction of ``x_i + u (x_j - x_i)``, u in [0, 1], for a
    target clip ``x_i`` and one of its ``neighbours`` nearest (Euclidean) other target clips."""
    dist = np.linalg.norm(target[:, None] - target[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    for i in range(len(target)):
        for j in np.argsort(dist[i])[:neighbours]:
            coef, *_ = np.linalg.lstsq(np.stack([target[i], target[j]], axis=1), s, rcond=None)
            if np.allclose(np.stack([target[i], target[j]], axis=1) @ coef, s, atol=1e-9) and (coef >= -1e-9).all():
                return True
    return False


def test_knn_smote_oversamples_target_to_source_size_on_smote_segments_and_scores_like_brute_force_knn():
    x, g, d, xt, gt = make_split(seed=20, n_source=60, n_target=8)
    backend = KNNSMOTEBackend(k=2, smote_neighbors=3, seed=5).fit(x, g, d)
    for group in GROUPS:
        rows = g == group
        target = _unit(x[rows & (d == "target")])
        memory = backend.models_[group].memories["target"]
        assert memory.shape == (60, x.shape[1])  # imbalanced-learn's "auto": as many as the source
        np.testing.assert_allclose(memory[:8], target, atol=1e-12)  # the real clips come first
        np.testing.assert_allclose(np.linalg.norm(memory, axis=1), 1.0, atol=1e-12)
        assert all(_on_a_smote_segment(s, target, 3) for s in memory[8:])
        assert not all(_on_a_smote_segment(s, target, 1) for s in memory[8:])  # the 3 neighbours are used
        test = gt == group
        scores = backend.score_samples(xt[test], gt[test])
        expected = [_knn_brute(v, [x[rows & (d == "source")], memory], 2) for v in xt[test]]
        np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_knn_smote_is_seeded_and_target_size_is_respected():
    x, g, d, xt, gt = make_split(seed=21, n_source=40, n_target=6)
    one = KNNSMOTEBackend(seed=1).fit(x, g, d).score_samples(xt, gt)
    np.testing.assert_array_equal(one, KNNSMOTEBackend(seed=1).fit(x, g, d).score_samples(xt, gt))
    assert not np.array_equal(one, KNNSMOTEBackend(seed=2).fit(x, g, d).score_samples(xt, gt))
    sized = KNNSMOTEBackend(target_size=25).fit(x, g, d)
    assert sized.models_[GROUPS[0]].memories["target"].shape[0] == 25
    # fewer than two target clips: nothing to interpolate, the plain k-NN memory
    one_target = d.copy()
    one_target[np.flatnonzero((g == GROUPS[0]) & (d == "target"))[1:]] = "source"
    assert KNNSMOTEBackend().fit(x, g, one_target).models_[GROUPS[0]].memories["target"].shape[0] == 1


# --------------------------------------------------------------------------------------------
# k-NN with local-density rescaling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("density_k", [1, 4])
def test_local_density_knn_matches_brute_force(density_k):
    """The authors' ratio normalisation: min over training clips y of d(x, y) / rho(y), rho(y) the
    mean distance of y to its K nearest other training clips (domains pooled)."""
    x, g, d, xt, gt = make_split(seed=22, n_source=50, n_target=6)
    backend = LocalDensityKNNBackend(density_k=density_k).fit(x, g, d)
    raw_nearest_differs = 0
    for group in GROUPS:
        memory = x[g == group]
        dist = _cos_dist(memory, memory)
        rho = [np.mean(sorted(np.delete(dist[j], j))[:density_k]) for j in range(len(memory))]
        test = np.flatnonzero(gt == group)
        scores = backend.score_samples(xt[test], gt[test])
        for score, v in zip(scores, xt[test], strict=True):
            to_memory = _cos_dist(v[None], memory)[0]
            ratios = [to_memory[j] / rho[j] for j in range(len(memory))]
            assert score == pytest.approx(min(ratios), rel=1e-10)
            nearest = int(np.argmin(to_memory))
            raw_nearest_differs += int(to_memory[nearest] / rho[nearest] > min(ratios) * (1 + 1e-9))
        loo = []  # training scores: the minimum over the *other* training clips
        for i in range(len(memory)):
            loo.append(min(dist[i, j] / rho[j] for j in range(len(memory)) if j != i))
        np.testing.assert_allclose(backend.training_scores_[g == group], loo, rtol=1e-10)
    assert raw_nearest_differs > 0  # the minimum of the ratios is not the raw neighbour's ratio


def test_local_density_default_k_is_the_authors_16():
    assert LocalDensityKNNBackend().density_k == 16
    assert resolve("backend", "knn-density").factory().density_k == 16


def test_local_density_rescaling_puts_a_sparse_domain_on_the_dense_domains_scale():
    rng = np.random.default_rng(0)
    dense = _unit(np.array([1.0, 0, 0]) + 0.02 * rng.normal(size=(200, 3)))
    sparse = _unit(np.array([0, 1.0, 0]) + 0.2 * rng.normal(size=(10, 3)))
    x = np.concatenate([dense, sparse])
    d = np.array(["source"] * 200 + ["target"] * 10)
    g = np.array([GROUPS[0]] * 210)
    test = np.concatenate([_unit(np.array([1.0, 0, 0]) + 0.02 * rng.normal(size=(50, 3))),
                           _unit(np.array([0, 1.0, 0]) + 0.2 * rng.normal(size=(50, 3)))])
    tg = np.array([GROUPS[0]] * 100)
    plain = resolve("backend", "knn").factory().fit(x, g, np.array(["source"] * 210)).score_samples(test, tg)
    # density_k below the sparse domain's 10 clips, so that a sparse clip's density is its own
    # domain's (with the default 16 it reaches into the dense domain)
    rescaled = LocalDensityKNNBackend(density_k=5).fit(x, g, d).score_samples(test, tg)
    # raw distances differ by an order of magnitude between the domains; rescaled ones do not
    assert np.median(plain[50:]) / np.median(plain[:50]) > 10
    assert 0.2 < np.median(rescaled[50:]) / np.median(rescaled[:50]) < 5


# --------------------------------------------------------------------------------------------
# Gaussian mixture
# --------------------------------------------------------------------------------------------


def test_gmm_single_full_component_is_the_regularised_gaussian_density():
    x, g, d, xt, gt = make_split(seed=23, n_source=80, n_target=8, dim=8)
    backend = GMMBackend(reg_covar=1e-3).fit(x, g, d)
    for group in GROUPS:
        train = _unit(x[g == group])
        cov = np.cov(train, rowvar=False, bias=True) + 1e-3 * np.eye(train.shape[1])
        test = gt == group
        expected = -multivariate_normal(train.mean(axis=0), cov).logpdf(_unit(xt[test]))
        np.testing.assert_allclose(backend.score_samples(xt[test], gt[test]), expected, rtol=1e-8)


def test_gmm_mixture_scores_are_the_negative_log_of_the_weighted_component_densities():
    x, g, d, xt, gt = make_split(seed=24, n_source=80, n_target=8, dim=6)
    backend = GMMBackend(n_components=3, covariance_type="diag", seed=4).fit(x, g, d)
    model = backend.models_[GROUPS[1]]
    test = gt == GROUPS[1]
    v = _unit(xt[test])
    density = sum(w * multivariate_normal(mu, np.diag(var)).pdf(v)
                  for w, mu, var in zip(model.weights, model.means, model.covariances, strict=True))
    np.testing.assert_allclose(backend.score_samples(xt[test], gt[test]), -np.log(density), rtol=1e-8)
    assert len(model.weights) == 3 and model.weights.sum() == pytest.approx(1.0)
    again = GMMBackend(n_components=3, covariance_type="diag", seed=4).fit(x, g, d)
    np.testing.assert_array_equal(again.score_samples(xt, gt), backend.score_samples(xt, gt))


# --------------------------------------------------------------------------------------------
# Local outlier factor
# --------------------------------------------------------------------------------------------


def _np_lof(train: np.ndarray, query: np.ndarray | None, k: int) -> np.ndarray:
    """Breunig et al.'s LOF with cosine distance; ``query=None``: the training clips themselves."""
    dist = _cos_dist(train, train)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1)[:, :k]
    k_distance = np.take_along_axis(dist, neighbours[:, -1:], axis=1)[:, 0]

    def lrd(distances: np.ndarray, nn: np.ndarray) -> np.ndarray:
        reach = np.maximum(np.take_along_axis(distances, nn, axis=1), k_distance[nn])
        return 1.0 / reach.mean(axis=1)

    train_lrd = lrd(dist, neighbours)
    if query is None:
        return train_lrd[neighbours].mean(axis=1) / train_lrd
    qd = _cos_dist(query, train)
    qn = np.argsort(qd, axis=1)[:, :k]
    return train_lrd[qn].mean(axis=1) / lrd(qd, qn)


@pytest.mark.parametrize("k", [5, 20])
def test_lof_matches_the_papers_definition(k):
    x, g, d, xt, gt = make_split(seed=25, n_source=60, n_target=6)
    backend = LOFBackend(n_neighbors=k).fit(x, g, d)
    for group in GROUPS:
        test = gt == group
        np.testing.assert_allclose(backend.score_samples(xt[test], gt[test]), _np_lof(x[g == group], xt[test], k), rtol=1e-6)
        np.testing.assert_allclose(backend.training_scores_[g == group], _np_lof(x[g == group], None, k), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Shared: registration, per-group isolation, options
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", NEW)
def test_new_backends_keep_groups_apart_and_follow_input_order(cls):
    x, g, d, xt, gt = make_split(seed=26, n_source=50, n_target=6)
    alone = g == GROUPS[0]
    fan = gt == GROUPS[0]
    ref = cls().fit(x[alone], g[alone], d[alone]).score_samples(xt[fan], gt[fan])
    both = cls().fit(x, g, d)
    np.testing.assert_allclose(both.score_samples(xt, gt)[fan], ref, rtol=1e-9)
    perm = np.random.default_rng(1).permutation(xt.shape[0])
    np.testing.assert_allclose(both.score_samples(xt[perm], gt[perm]), both.score_samples(xt, gt)[perm], rtol=1e-12)
    assert all(np.isfinite(both.threshold_[group]) for group in GROUPS)


@pytest.mark.parametrize("name, cls, option", [
    ("knn-smote", KNNSMOTEBackend, {"smote_neighbors": 0}),
    ("knn-density", LocalDensityKNNBackend, {"density_k": 0}),
    ("gmm", GMMBackend, {"covariance_type": "round"}),
    ("lof", LOFBackend, {"metric": "manhattan"}),
])
def test_registered_new_backends_take_seed_and_name_bad_options(name, cls, option):
    assert isinstance(resolve("backend", name).factory(seed=3), cls)
    key = next(iter(option))
    with pytest.raises(ConfigError, match=f"{name} back-end option {key}"):
        resolve("backend", name).factory(**option)
    with pytest.raises(ConfigError, match=f"unknown option 'colour' for back-end '{name}'"):
        resolve("backend", name).factory(colour=1)


def test_lof_needs_two_training_clips():
    x = _unit(np.random.default_rng(0).normal(size=(3, 4)))
    with pytest.raises(DataError, match="'fan/section_00' has 1 training embedding"):
        LOFBackend().fit(x, np.array(["fan/section_00", "valve/section_00", "valve/section_00"]),
                         np.array(["source"] * 3))
