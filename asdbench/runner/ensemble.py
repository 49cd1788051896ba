"""The ensemble row of a system: the mean of its seeds' anomaly scores (paper §4.4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..results.layout import ENSEMBLE, backend_dir
from .trial import score_and_write


def build_ensemble(run_dir: Path, system: str, seeds: list[int], backend: str, dataset_version: str) -> dict | None:
    """Average the finished seeds' scores per clip; writes ``<system>/ensemble/<backend>/``.

    Returns None when fewer than two seeds finished (an ensemble of one is not an ensemble)."""
    from ..results.files import read_scores_table

    tests, trains = [], []
    for seed in seeds:
        bdir = backend_dir(run_dir, system, seed, backend)
        if not (bdir / "metrics.csv").exists():
            continue
        tests.append(read_scores_table(bdir / "scores.csv"))
        trains.append(read_scores_table(bdir / "train_scores.csv"))
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
    result = score_and_write(test_table, test_scores, train_table, train_scores, out, dataset_version)
    result["seeds"] = len(tests)
    return result


def ensemble_metrics(run_dir: Path, system: str, backend: str) -> pd.DataFrame | None:
    path = backend_dir(run_dir, system, ENSEMBLE, backend) / "metrics.csv"
    if not path.exists() or path.stat().st_size == 0:
        return None
    return pd.read_csv(path, dtype={"section": str})
