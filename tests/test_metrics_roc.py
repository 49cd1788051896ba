"""The fast ROC code must equal scikit-learn's roc_auc_score (AUC and McClish pAUC)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from asdbench.scoring.roc import partial_roc_auc, roc_auc, roc_points


@pytest.mark.parametrize("max_fpr", [None, 0.1, 0.25, 1.0])
def test_equals_sklearn_on_random_data_with_ties(max_fpr):
    rng = np.random.default_rng(0)
    worst = 0.0
    for trial in range(400):
        n = int(rng.integers(2, 80))
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        if trial % 2:  # few distinct values: many ties
            s = rng.integers(0, int(rng.integers(1, 6)), n).astype(float)
        else:
            s = rng.normal(size=n) + y
        ours = roc_auc(y, s) if max_fpr is None else partial_roc_auc(y, s, max_fpr)
        worst = max(worst, abs(ours - roc_auc_score(y, s, max_fpr=max_fpr)))
    assert worst < 1e-14


def test_roc_points_match_sklearn_curve_corners():
    y = np.array([0, 1, 0, 1, 1, 0, 0])
    s = np.array([0.1, 0.8, 0.8, 0.3, 0.9, 0.2, 0.05])
    fpr, tpr = roc_points(y, s)
    ref_fpr, ref_tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(fpr, ref_fpr) and np.allclose(tpr, ref_tpr)


def test_one_class_is_nan_not_an_exception():
    assert math.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    assert math.isnan(partial_roc_auc([1, 1], [0.1, 0.2]))
    with pytest.raises(ValueError):
        roc_points([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="max_fpr"):
        partial_roc_auc([0, 1], [0.1, 0.2], max_fpr=0.0)
