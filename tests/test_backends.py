"""Back-ends against brute-force / reference computations, per-group isolation and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis
from sklearn.cluster import KMeans
from sklearn.covariance import LedoitWolf

from asdbench.backends import KMeansBackend, KNNBackend, MahalanobisBackend, NotFittedError
from asdbench.errors import ConfigError, DataError
from asdbench.plugins import resolve

DIM = 32


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_split(seed: int = 0, groups: tuple[str, ...] = ("fan/section_00", "valve/section_00"),
               n_source: int = 120, n_target: int = 10, n_test: int = 40, dim: int = DIM):
    """Training and test embeddings with per-group, per-domain offsets (un-normalised)."""
    rng = np.random.default_rng(seed)
    tr_x, tr_g, tr_d, te_x, te_g = [], [], [], [], []
    for gi, group in enumerate(groups):
        centre = rng.normal(size=dim) * 3
        shift = rng.normal(size=dim)
        src = centre + rng.normal(size=(n_source, dim))
        tgt = centre + shift + rng.normal(size=(n_target, dim))
        test = centre + 0.5 * shift + 1.3 * rng.normal(size=(n_test, dim))
        scale = 1.0 + gi  # back-ends must not care about the embedding length
        tr_x += [src * scale, tgt * scale]
        tr_g += [group] * (n_source + n_target)
        tr_d += ["source"] * n_source + ["target"] * n_target
        te_x.append(test * scale)
        te_g += [group] * n_test
    return (np.concatenate(tr_x), np.array(tr_g), np.array(tr_d), np.concatenate(te_x), np.array(te_g))


# --------------------------------------------------------------------------------------------
# k-means (the paper's back-end)
# --------------------------------------------------------------------------------------------


def test_kmeans_centroids_match_sklearn_and_centres_add_target_embeddings():
    x, g, d, _, _ = make_split()
    backend = KMeansBackend(seed=7).fit(x, g, d)
    for group in ("fan/section_00", "valve/section_00"):
        rows = g == group
        src = _unit(x[rows & (d == "source")])
        ref = KMeans(n_clusters=16, init="k-means++", n_init=10, max_iter=300, random_state=7).fit(src)
        np.testing.assert_allclose(backend.cluster_centers_[group], ref.cluster_centers_, atol=1e-12)
        # kept as they are (not re-normalised): a mean of several unit vectors is shorter than 1
        norms = np.linalg.norm(backend.cluster_centers_[group], axis=1)
        assert norms.max() <= 1 + 1e-12 and np.sum(norms < 0.99) >= 8
        tgt = _unit(x[rows & (d == "target")])
        np.testing.assert_allclose(backend.centres_[group], np.vstack([ref.cluster_centers_, tgt]), atol=1e-12)
        assert backend.centres_[group].shape == (16 + 10, DIM)


def test_kmeans_scores_equal_brute_force_min_cosine_distance():
    x, g, d, xt, gt = make_split(seed=1)
    backend = KMeansBackend(seed=0).fit(x, g, d)
    scores = backend.score_samples(xt, gt)
    assert scores.shape == (xt.shape[0],)
    for i in range(xt.shape[0]):
        u = xt[i] / np.sqrt(np.sum(xt[i] ** 2))
        expected = min(1.0 - float(np.dot(u, c)) for c in backend.centres_[gt[i]])
        assert scores[i] == pytest.approx(expected, abs=1e-12)
    # test clips lie farther from the training data than the training clips do
    assert scores.mean() > backend.score_samples(x, g).mean()


def test_kmeans_threshold_is_90th_percentile_of_training_scores_and_decide_uses_it():
    x, g, d, xt, gt = make_split(seed=2)
    backend = KMeansBackend(seed=0).fit(x, g, d)
    train_scores = backend.score_samples(x, g)
    # every target training clip is a centre of its own group: distance 0
    np.testing.assert_allclose(train_scores[d == "target"], 0.0, atol=1e-12)
    for group in backend.groups_:
        assert backend.threshold_[group] == pytest.approx(np.percentile(train_scores[g == group], 90), abs=1e-12)
        assert np.mean(train_scores[g == group] > backend.threshold_[group]) == pytest.approx(0.1, abs=0.01)
    scores = backend.score_samples(xt, gt)
    expected = np.array([s > backend.threshold_[grp] for s, grp in zip(scores, gt, strict=True)], dtype=int)
    decisions = backend.decide(scores, gt)
    np.testing.assert_array_equal(decisions, expected)
    assert set(np.unique(decisions)) <= {0, 1}
    assert 0 < decisions.sum() < decisions.size


def test_kmeans_with_fewer_source_clips_than_clusters_uses_each_clip_as_centroid():
    x, g, d, _, _ = make_split(seed=3, groups=("pump/section_00",), n_source=5, n_target=3)
    backend = KMeansBackend().fit(x, g, d)
    centroids = backend.cluster_centers_["pump/section_00"]
    assert centroids.shape == (5, DIM)
    src = _unit(x[d == "source"])
    np.testing.assert_allclose(np.sort(centroids, axis=0), np.sort(src, axis=0), atol=1e-12)


def test_kmeans_is_reproducible_and_seed_matters():
    x, g, d, xt, gt = make_split(seed=4)
    a = KMeansBackend(seed=1).fit(x, g, d).score_samples(xt, gt)
    b = KMeansBackend(seed=1).fit(x, g, d).score_samples(xt, gt)
    np.testing.assert_array_equal(a, b)
    c = KMeansBackend(seed=2, n_init=1).fit(x, g, d).score_samples(xt, gt)
    assert not np.array_equal(a, c)


def test_kmeans_at_dcase_size_one_section():
    """990 source + 10 target clips of 256-d embeddings, as for one DCASE2023 section."""
    x, g, d, xt, gt = make_split(seed=5, groups=("bearing/section_00",), n_source=990, n_target=10, n_test=200, dim=256)
    backend = KMeansBackend().fit(x.astype(np.float32), g, d)
    assert backend.centres_["bearing/section_00"].shape == (26, 256)
    scores = backend.score_samples(xt.astype(np.float32), gt)
    assert scores.dtype == np.float64 and np.all((scores >= 0) & (scores <= 2))


# --------------------------------------------------------------------------------------------
# k-NN and Mahalanobis
# --------------------------------------------------------------------------------------------


def _knn_brute(x: np.ndarray, memories: list[np.ndarray], k: int) -> float:
    u = x / np.linalg.norm(x)
    best = np.inf
    for mem in memories:
        if len(mem) == 0:
            continue
        dists = sorted(1.0 - float(np.dot(u, m / np.linalg.norm(m))) for m in mem)
        best = min(best, float(np.mean(dists[: min(k, len(dists))])))
    return best


@pytest.mark.parametrize("k", [1, 3, 15])
def test_knn_matches_brute_force(k):
    x, g, d, xt, gt = make_split(seed=6, n_target=4)
    backend = KNNBackend(k=k).fit(x, g, d)
    scores = backend.score_samples(xt, gt)
    for i in range(0, xt.shape[0], 7):
        rows = g == gt[i]
        expected = _knn_brute(xt[i], [x[rows & (d == "source")], x[rows & (d == "target")]], k)
        assert scores[i] == pytest.approx(expected, abs=1e-12)


def test_knn_threshold_uses_leave_one_out_training_scores():
    x, g, d, _, _ = make_split(seed=7, n_target=3)
    backend = KNNBackend(k=2).fit(x, g, d)
    for group in backend.groups_:
        idx = np.flatnonzero(g == group)
        loo = []
        for i in idx:
            others = idx[idx != i]
            loo.append(_knn_brute(x[i], [x[others[d[others] == "source"]], x[others[d[others] == "target"]]], 2))
        assert backend.threshold_[group] == pytest.approx(np.percentile(loo, 90), abs=1e-12)
        assert backend.threshold_[group] > 0.05


def test_mahalanobis_matches_scipy_with_pooled_ledoit_wolf_covariance():
    x, g, d, xt, gt = make_split(seed=8, n_target=10)
    backend = MahalanobisBackend().fit(x, g, d)
    scores = backend.score_samples(xt, gt)
    for group in backend.groups_:
        rows = g == group
        u = _unit(x[rows])
        dom = d[rows]
        means = {dm: u[dom == dm].mean(axis=0) for dm in ("source", "target")}
        centred = u - np.stack([means[dm] for dm in dom])
        precision = np.linalg.inv(LedoitWolf(assume_centered=True).fit(centred).covariance_)
        np.testing.assert_allclose(backend.precisions_[group], precision, rtol=1e-6, atol=1e-6 * np.abs(precision).max())
        for i in np.flatnonzero(gt == group)[::5]:
            v = xt[i] / np.linalg.norm(xt[i])
            expected = min(scipy_mahalanobis(v, means[dm], precision) for dm in means)
            assert scores[i] == pytest.approx(expected, rel=1e-6)


def test_mahalanobis_empirical_covariance_option():
    x, g, d, xt, gt = make_split(seed=9, n_source=300)
    backend = MahalanobisBackend(covariance="empirical").fit(x, g, d)
    scores = backend.score_samples(xt, gt)
    assert np.all(np.isfinite(scores)) and np.all(scores > 0)
    assert not np.allclose(scores, MahalanobisBackend().fit(x, g, d).score_samples(xt, gt))


# --------------------------------------------------------------------------------------------
# Shared behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [KMeansBackend, KNNBackend, MahalanobisBackend])
def test_groups_do_not_leak_into_each_other(cls):
    x, g, d, xt, gt = make_split(seed=10, groups=("fan/section_00", "valve/section_00"))
    alone = g == "fan/section_00"
    only_fan = cls().fit(x[alone], g[alone], d[alone])
    both = cls().fit(x, g, d)
    x_changed = x.copy()
    x_changed[~alone] = np.random.default_rng(0).normal(size=x_changed[~alone].shape)
    both_changed = cls().fit(x_changed, g, d)
    fan = gt == "fan/section_00"
    ref = only_fan.score_samples(xt[fan], gt[fan])
    np.testing.assert_allclose(both.score_samples(xt, gt)[fan], ref, atol=1e-12)
    np.testing.assert_allclose(both_changed.score_samples(xt[fan], gt[fan]), ref, atol=1e-12)
    assert both.threshold_["fan/section_00"] == pytest.approx(only_fan.threshold_["fan/section_00"], abs=1e-12)


@pytest.mark.parametrize("cls", [KMeansBackend, KNNBackend, MahalanobisBackend])
def test_scores_follow_input_order(cls):
    x, g, d, xt, gt = make_split(seed=11)
    backend = cls().fit(x, g, d)
    perm = np.random.default_rng(1).permutation(xt.shape[0])
    np.testing.assert_allclose(backend.score_samples(xt[perm], gt[perm]), backend.score_samples(xt, gt)[perm], atol=1e-12)


def test_errors_name_the_problem():
    x, g, d, xt, gt = make_split(seed=12)
    backend = KMeansBackend()
    with pytest.raises(NotFittedError, match="fit"):
        backend.score_samples(xt, gt)
    backend.fit(x, g, d)
    with pytest.raises(DataError, match="'gearbox/section_00'.*fitted groups: fan/section_00, valve/section_00"):
        backend.score_samples(xt[:2], np.array(["fan/section_00", "gearbox/section_00"]))
    with pytest.raises(DataError, match="'gearbox/section_00'"):
        backend.decide(np.zeros(1), np.array(["gearbox/section_00"]))
    with pytest.raises(DataError, match="16 dimensions but the back-end was fitted on 32"):
        backend.score_samples(xt[:, :16], gt)
    with pytest.raises(DataError, match="one entry per embedding"):
        backend.score_samples(xt, gt[:-1])
    with pytest.raises(DataError, match="2-D"):
        backend.score_samples(xt[0], gt[:1])
    with pytest.raises(DataError, match="no training embeddings"):
        KMeansBackend().fit(np.zeros((0, DIM)), np.array([], dtype=str), np.array([], dtype=str))
    with pytest.raises(DataError, match="'source' or 'target', got 'other'"):
        KMeansBackend().fit(x, g, np.where(d == "target", "other", d))
    with pytest.raises(DataError, match="empty name"):
        KMeansBackend().fit(x, np.where(np.arange(len(g)) == 3, "", g), d)
    with pytest.raises(DataError, match="NaN"):
        KMeansBackend().fit(np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), g, d)
    only_target = np.where(g == "valve/section_00", "target", d)
    with pytest.raises(DataError, match="'valve/section_00' has no source-domain"):
        KMeansBackend().fit(x, g, only_target)
    with pytest.raises(ConfigError, match="n_clusters"):
        KMeansBackend(n_clusters=0).fit(x, g, d)


def test_registered_factories_take_seed_and_reject_bad_options():
    x, g, d, xt, gt = make_split(seed=13)
    made = {name: resolve("backend", name).factory(seed=3) for name in ("kmeans", "knn", "mahalanobis")}
    assert isinstance(made["kmeans"], KMeansBackend) and made["kmeans"].seed == 3
    assert made["kmeans"].get_params() == {"n_clusters": 16, "n_init": 10, "max_iter": 300, "seed": 3, "percentile": 90.0}
    assert made["knn"].get_params() == {"k": 1, "percentile": 90.0}
    # several back-ends score one set of embeddings; none of them changes the arrays
    x_before = x.copy()
    scores = {name: b.fit(x, g, d).score_samples(xt, gt) for name, b in made.items()}
    np.testing.assert_array_equal(x, x_before)
    assert all(s.shape == (xt.shape[0],) for s in scores.values())
    with pytest.raises(ConfigError, match="unknown option 'clusters' for back-end 'kmeans'"):
        resolve("backend", "kmeans").factory(clusters=4)
    with pytest.raises(ConfigError, match="option k must be a positive integer"):
        resolve("backend", "knn").factory(k=0)
    with pytest.raises(ConfigError, match="covariance must be one of"):
        resolve("backend", "mahalanobis").factory(covariance="oas")
    with pytest.raises(ConfigError, match="percentile"):
        resolve("backend", "kmeans").factory(percentile=150)
