"""Evaluation: official DCASE metrics, challenge-format files, leaderboards, paired tests, plots.

The runner needs :func:`score_clips` and the file helpers in :mod:`asdbench.evaluation.files`;
``docs/metrics.md`` defines every metric name.
"""

from __future__ import annotations

from .challenge import read_challenge_files, read_ground_truth, write_challenge_files
from .metrics import (
    DATASET_VERSIONS,
    MetricWarning,
    OfficialRule,
    harmonic_mean,
    official_rule,
    score_clips,
    section_metrics,
)
from .roc import partial_roc_auc, roc_auc

__all__ = [
    "DATASET_VERSIONS",
    "MetricWarning",
    "OfficialRule",
    "harmonic_mean",
    "official_rule",
    "partial_roc_auc",
    "read_challenge_files",
    "read_ground_truth",
    "roc_auc",
    "score_clips",
    "section_metrics",
    "write_challenge_files",
]
