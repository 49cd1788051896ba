"""The decision rule, in one place for back-ends, trials, ensembles and ``asdbench score``: a clip
is anomalous when its score is above a percentile of its group's training scores. numpy only,
so a back-end that applies it loads nothing else."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

DECISION_PERCENTILE = 90.0
"""The reference's rule (§5): a clip is anomalous when its score is above the 90th percentile of
its group's training scores. A back-end's ``percentile`` option changes the number."""


def check_percentile(percentile: object) -> float:
    if not isinstance(percentile, (int, float)) or isinstance(percentile, bool) or not 0 <= percentile <= 100:
        raise ConfigError(f"back-end option percentile must be a number in [0, 100], got {percentile!r}")
    return float(percentile)


def threshold(train_scores: np.ndarray, percentile: float = DECISION_PERCENTILE) -> float:
    """The decision threshold of one group: the ``percentile``-th percentile of its training
    scores (numpy's linear interpolation, as in the reference)."""
    return float(np.percentile(np.asarray(train_scores, dtype=np.float64), percentile))
