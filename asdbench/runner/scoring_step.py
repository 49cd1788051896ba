"""The scoring step of a trial: fit every back-end of the run on the training embeddings, score
the test clips, decide, and write the back-end folder (challenge CSVs, score tables, metrics and
the fitted back-end for ``asdbench score``). Ensembles reuse :func:`score_and_write`, so trials
and ensembles decide with one rule (:mod:`asdbench.scoring.scored`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..components import Clip
from ..plugins import resolve
from ..results.tables import write_scored
from ..scoring.decision import DECISION_PERCENTILE
from ..scoring.scored import decision_thresholds, scored_tables
from .config import RunConfig


def clip_table(clips: list[Clip]) -> pd.DataFrame:
    """One row per clip with the columns the metrics and challenge files need."""
    return pd.DataFrame({
        "file": [c.file for c in clips],
        "machine": [c.machine for c in clips],
        "section": [c.section for c in clips],
        "split": [c.split for c in clips],
        "domain": [c.domain for c in clips],
        "label": [None if c.label is None else int(c.label == "anomaly") for c in clips],
        "group": [c.group for c in clips],
    })



def score_backends(config: RunConfig, seed: int, train: list[Clip], test: list[Clip], train_emb: np.ndarray,
                   test_emb: np.ndarray, folder_of: Callable[[str], Path], scoring_edition: str) -> dict[str, Any]:
    """Every back-end of the run, fitted, scored and written to ``folder_of(name)``; returns what
    the trial record keeps per back-end (official scores, timing, whether it was saved)."""
    train_table, test_table = clip_table(train), clip_table(test)
    results = {}
    for backend_name in config.backends:
        t0 = time.perf_counter()
        backend = make_backend(config, backend_name, seed)
        backend.fit(train_emb, train_table["group"].to_numpy(), train_table["domain"].to_numpy())
        train_scores = training_scores(backend, train_emb, train_table["group"].to_numpy())
        test_scores = backend.score_samples(test_emb, test_table["group"].to_numpy())
        bdir = folder_of(backend_name)
        percentile = decision_percentile(backend)
        scored = score_and_write(test_table, test_scores, train_table, train_scores, bdir, scoring_edition,
                                 percentile=percentile)
        saved = _save_backend(bdir, backend_name, {"seed": seed, **config.backend_options.get(backend_name, {})},
                              backend, decision_thresholds(train_table, train_scores, percentile), percentile)
        results[backend_name] = {"scoring_s": round(time.perf_counter() - t0, 3), **scored, **saved}
    return results


def training_scores(backend: Any, embeddings: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The training clips' scores as the back-end defines them (leave-one-out for k-NN)."""
    scores = getattr(backend, "training_scores_", None)
    return np.asarray(scores) if scores is not None else backend.score_samples(embeddings, groups)


def make_backend(config: RunConfig, name: str, seed: int) -> Any:
    """The run's back-end ``name`` with its options, unfitted."""
    return resolve("backend", name).factory(seed=seed, **config.backend_options.get(name, {}))


def decision_percentile(backend: Any) -> float:
    """The percentile of the training scores that decides "anomalous": the back-end's own
    ``percentile`` option where it has one, else the reference's 90 (trials and ensembles alike)."""
    return float(getattr(backend, "percentile", DECISION_PERCENTILE))


def _save_backend(bdir: Path, name: str, options: dict[str, Any], backend: Any, thresholds: dict[str, float],
                  percentile: float) -> dict[str, Any]:
    """Save the fitted back-end for ``asdbench score``; one that cannot be saved is recorded, not fatal."""
    from ..backends.persist import save_backend

    try:
        save_backend(bdir, name, options, backend, thresholds, percentile)
    except NotImplementedError as exc:
        return {"saved": False, "not_saved_because": str(exc)}
    return {"saved": True}


def score_and_write(test_table: pd.DataFrame, test_scores: np.ndarray, train_table: pd.DataFrame,
                    train_scores: np.ndarray, bdir: Path, dataset_version: str,
                    percentile: float = DECISION_PERCENTILE) -> dict[str, Any]:
    """Challenge CSVs, per-clip tables and metric rows of one set of scores."""
    table, train, metrics = scored_tables(test_table, test_scores, train_table, train_scores, dataset_version,
                                          percentile)
    write_scored(bdir, table, train, metrics)
    official = metrics[(metrics["metric"] == "official_score")] if len(metrics) else metrics
    return {"official_score": {row.split: round(float(row.value), 4) for row in official.itertuples()}}
