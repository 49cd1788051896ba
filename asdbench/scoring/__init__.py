"""DCASE Task 2 scoring semantics: metrics, ROC, jackknife, challenge files, submissions and the
decision rule. Pure functions of scores and labels; nothing here knows about runs or plugins.

``docs/metrics.md`` defines every metric name.
"""

from __future__ import annotations

from typing import Any

# Imported on first use (PEP 562): reading a run (compare) must not load scipy / scikit-learn.
_EXPORTS = {
    "read_challenge_files": ".challenge", "write_challenge_files": ".challenge",
    "MetricWarning": ".metrics", "OfficialRule": ".metrics",
    "harmonic_mean": ".metrics", "official_rule": ".metrics", "score_clips": ".metrics", "section_metrics": ".metrics",
    "partial_roc_auc": ".roc", "roc_auc": ".roc",
    "decision_thresholds": ".scored", "scored_tables": ".scored", "DECISION_PERCENTILE": ".decision", "threshold": ".decision",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
