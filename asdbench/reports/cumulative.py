"""Cumulative-ensemble scoring, as the author's script did between 2023-07-31 and 2024-03-12.

That script adds every new run's anomaly scores to the previous runs' (``pred += ...``), so the
k-th result it prints is the ensemble of runs 1..k, and a "mean ± std over runs" of those numbers
is a mean over ensembles of growing size, not over independent runs (docs/fidelity.md measures
the difference). :func:`cumulative_results` turns a run's per-seed rows into those numbers: seed
``s_k`` (the k-th seed in increasing order) gets the metrics of the mean of the scores of seeds
``s_1..s_k`` (a sum and a mean rank clips alike, and the decision threshold scales with them).
Reads the trials' ``scores.csv`` / ``train_scores.csv``; writes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..results.layout import ENSEMBLE, RUN_FILE, SCORES_FILE, TRAIN_SCORES_FILE, backend_dir
from ..results.runs import RunResults
from ..results.tables import read_scores_table
from ..scoring.scored import scored_tables

NOTE = ("cumulative ensembles: the row of seed k is the ensemble of the first k seeds "
        "(the author's script 2023-07-31 .. 2024-03-12), so mean ± std is over ensembles of growing size")


def _dataset_version(run: RunResults) -> str:
    version = run.record.scoring_edition
    if version is None:
        raise DataError(f"{run.path / RUN_FILE}: no dataset version to score cumulative ensembles")
    return version


def cumulative_results(run: RunResults) -> RunResults:
    """The run with every system's per-seed rows replaced by cumulative-ensemble rows (the
    ensemble rows are dropped: the last cumulative row is that ensemble)."""
    version = _dataset_version(run)
    frame = run.results
    per_seed = frame[frame["seed"].astype(str) != ENSEMBLE]
    columns = list(frame.columns)
    pieces = []
    for (system, backend), rows in per_seed.groupby(["system", "backend"], sort=False):
        seeds = sorted({int(s) for s in rows["seed"]})
        tests, trains = [], []
        for k, seed in enumerate(seeds):
            bdir = backend_dir(run.path, system, seed, backend)
            try:
                tests.append(read_scores_table(bdir / SCORES_FILE))
                trains.append(read_scores_table(bdir / TRAIN_SCORES_FILE))
            except FileNotFoundError as exc:
                raise DataError(f"{bdir}: per-clip scores missing, cannot form cumulative ensembles ({exc})") from None
            if k == 0:
                pieces.append(rows[rows["seed"].astype(str) == str(seed)])
                continue
            if not np.array_equal(tests[-1]["file"].to_numpy(), tests[0]["file"].to_numpy()):
                raise DataError(f"{system}: seeds {seeds[0]} and {seed} scored different test clips")
            test_scores = np.mean([t["score"].to_numpy(dtype=float) for t in tests], axis=0)
            train_scores = np.mean([t["score"].to_numpy(dtype=float) for t in trains], axis=0)
            _, _, metrics = scored_tables(tests[0].drop(columns=["score", "decision"]), test_scores,
                                          trains[0].drop(columns=["score", "decision"]), train_scores, version)
            pieces.append(metrics.assign(run=run.name, system=system, seed=str(seed), backend=backend)
                          .reindex(columns=columns))
    results = pd.concat(pieces, ignore_index=True) if pieces else frame.iloc[:0]
    return RunResults(run.path, run.name, run.systems, results)
