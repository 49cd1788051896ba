"""The ensemble row of a system: the mean of its seeds' anomaly scores (paper §4.4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..results.layout import ENSEMBLE, METRICS_FILE, SCORES_FILE, TRAIN_SCORES_FILE, backend_dir
from ..results.tables import read_metrics_table, read_scores_table
from .scoring_step import score_and_write


def build_ensemble(run_dir: Path, system: str, seeds: list[int], backend: str, dataset_version: str,
                   percentile: float) -> dict | None:
    """Average the finished seeds' scores per clip; writes ``<system>/ensemble/<backend>/``,
    deciding with the back-end's ``percentile`` like its trials.

    Returns None when fewer than two seeds finished (an ensemble of one is not an ensemble)."""
    tests, trains = [], []
    for seed in seeds:
        bdir = backend_dir(run_dir, system, seed, backend)
        if not (bdir / METRICS_FILE).exists():
            continue
        tests.append(read_scores_table(bdir / SCORES_FILE))
        trains.append(read_scores_table(bdir / TRAIN_SCORES_FILE))
    if len(tests) < 2:
        return None
    test_table = tests[0].drop(columns=["score", "decision"])
    train_table = trains[0].drop(columns=["score", "decision"])
    for table in tests[1:]:
        if not np.array_equal(table["file"].to_numpy(), test_table["file"].to_numpy()):
            raise ValueError(f"{system}: seeds scored different test clips; cannot ensemble")
    test_scores = np.mean([t["score"].to_numpy(dtype=float) for t in tests], axis=0)
    train_scores = np.mean([t["score"].to_numpy(dtype=float) for t in trains], axis=0)
    out = backend_dir(run_dir, system, ENSEMBLE, backend)
    result = score_and_write(test_table, test_scores, train_table, train_scores, out, dataset_version, percentile)
    result["seeds"] = len(tests)
    return result


def ensemble_metrics(run_dir: Path, system: str, backend: str) -> pd.DataFrame | None:
    return read_metrics_table(backend_dir(run_dir, system, ENSEMBLE, backend) / METRICS_FILE)
