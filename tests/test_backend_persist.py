"""Fitted back-ends saved as JSON + npz (no pickle) and loaded again give the same scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_backends import make_split

from asdbench.backends.persist import ARRAYS_FILE, STATE_FILE, load_backend, save_backend
from asdbench.errors import DataError
from asdbench.plugins import resolve


@pytest.mark.parametrize("name, options", [("kmeans", {"seed": 3, "n_clusters": 4}), ("knn", {"k": 2}),
                                           ("mahalanobis", {"covariance": "empirical"}),
                                           ("knn-smote", {"seed": 2, "smote_neighbors": 3}), ("knn-density", {"density_k": 3}),
                                           ("gmm", {"seed": 1, "n_components": 2, "covariance_type": "diag"}),
                                           ("lof", {"n_neighbors": 5})])
def test_saved_backend_scores_and_decides_like_the_fitted_one(tmp_path, name, options):
    tr_x, tr_g, tr_d, te_x, te_g = make_split(n_source=30, n_target=5, n_test=12, dim=8)
    fitted = resolve("backend", name).factory(**options).fit(tr_x, tr_g, tr_d)
    save_backend(tmp_path, name, options, fitted, fitted.threshold_, 90.0)
    record = json.loads((tmp_path / STATE_FILE).read_text())
    assert record["name"] == name and record["options"] == options
    assert record["decision"]["thresholds"] == pytest.approx(fitted.threshold_)
    with np.load(tmp_path / ARRAYS_FILE, allow_pickle=False) as npz:  # loads without pickle
        assert all(npz[k].dtype.kind in "biuf" for k in npz.files)
    loaded = load_backend(tmp_path)
    scores = loaded.score_samples(te_x, te_g)
    np.testing.assert_array_equal(scores, fitted.score_samples(te_x, te_g))
    np.testing.assert_array_equal(loaded.decide(scores, te_g), fitted.decide(scores, te_g))
    np.testing.assert_array_equal(loaded.backend.training_scores_, fitted.training_scores_)
    assert type(loaded.backend) is type(fitted)


def test_missing_or_tampered_state_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="backend.json missing"):
        load_backend(tmp_path)
    tr_x, tr_g, tr_d, _, _ = make_split(n_source=20, n_target=4, n_test=4, dim=4)
    fitted = resolve("backend", "kmeans").factory(n_clusters=2).fit(tr_x, tr_g, tr_d)
    save_backend(tmp_path, "kmeans", {"n_clusters": 2}, fitted, fitted.threshold_, 90.0)
    with np.load(tmp_path / ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "0/centroids"}
    np.savez(tmp_path / ARRAYS_FILE, **arrays)
    with pytest.raises(DataError, match="incomplete or malformed.*0/centroids"):
        load_backend(tmp_path)
    np.savez(tmp_path / ARRAYS_FILE, **arrays, bad=np.array([object()], dtype=object))
    with pytest.raises(DataError, match="backend.npz: unreadable"):
        load_backend(tmp_path)
