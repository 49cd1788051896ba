"""From per-clip anomaly scores to decisions and metric rows: shared by trials, ensembles and the
cumulative ensembles of ``compare``, so all of them apply one decision rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .decision import DECISION_PERCENTILE, threshold


def decision_thresholds(train_table: pd.DataFrame, train_scores: np.ndarray,
                        percentile: float = DECISION_PERCENTILE) -> dict[str, float]:
    """:func:`threshold` of every group of ``train_table``."""
    scores = np.asarray(train_scores, dtype=np.float64)
    groups = train_table["group"].to_numpy()
    return {str(g): threshold(scores[groups == g], percentile) for g in sorted(set(groups.tolist()))}


def decisions(train_table: pd.DataFrame, train_scores: np.ndarray, test_table: pd.DataFrame,
              test_scores: np.ndarray, percentile: float = DECISION_PERCENTILE) -> np.ndarray:
    """Decision = score above the ``percentile``-th percentile (90: the reference, §5) of the
    group's training scores."""
    thresholds = decision_thresholds(train_table, train_scores, percentile)
    limit = test_table["group"].map(thresholds).to_numpy(dtype=float)
    return (test_scores > limit).astype(int)


def scored_tables(test_table: pd.DataFrame, test_scores: np.ndarray, train_table: pd.DataFrame,
                  train_scores: np.ndarray, dataset_version: str,
                  percentile: float = DECISION_PERCENTILE) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(test table with score and decision, train table with score, metric rows)``; the metrics
    cover the test clips whose label and domain are known (none: an empty frame)."""
    from .metrics import score_clips

    table = test_table.copy()
    table["score"] = test_scores
    table["decision"] = decisions(train_table, train_scores, test_table, test_scores, percentile)
    train = train_table.copy()
    train["score"] = train_scores
    train["decision"] = 0
    labelled = table[table["label"].notna() & table["domain"].notna()].copy()
    labelled["label"] = labelled["label"].astype(int)
    metrics = score_clips(labelled, dataset_version=dataset_version) if len(labelled) else pd.DataFrame()
    return table, train, metrics
