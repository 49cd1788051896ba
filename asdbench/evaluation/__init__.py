"""Evaluation: official DCASE metrics, challenge-format files, leaderboards, paired tests, plots.

The runner needs :func:`score_clips` and the file helpers in :mod:`asdbench.evaluation.files`;
``docs/metrics.md`` defines every metric name.
"""

from __future__ import annotations

from typing import Any

# Imported on first use (PEP 562): ``import asdbench.evaluation.runs`` (compare) must not load
# the metrics' scipy / scikit-learn imports.
_EXPORTS = {
    "read_challenge_files": ".challenge", "read_ground_truth": ".challenge", "write_challenge_files": ".challenge",
    "DATASET_VERSIONS": ".metrics", "MetricWarning": ".metrics", "OfficialRule": ".metrics",
    "harmonic_mean": ".metrics", "official_rule": ".metrics", "score_clips": ".metrics", "section_metrics": ".metrics",
    "partial_roc_auc": ".roc", "roc_auc": ".roc",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
