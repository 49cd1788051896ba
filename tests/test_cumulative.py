"""Cumulative-ensemble scoring (`compare --cumulative-ensemble`) against scikit-learn on the mean
of the first k seeds' scores, from a hand-built run directory with per-clip score files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from asdbench.cli import main
from asdbench.reports.cumulative import NOTE, cumulative_results
from asdbench.results.layout import backend_dir
from asdbench.results.runs import load_run
from asdbench.results.tables import RESULTS_COLUMNS, write_results_table, write_scores_table
from asdbench.scoring.metrics import score_clips

SEEDS = (0, 1, 2)


def clip_frame(n: int, subset: str) -> pd.DataFrame:
    labels = [0] * n if subset == "train" else [i % 2 for i in range(n)]
    return pd.DataFrame({
        "file": [f"section_00_{'source' if i % 4 < 2 else 'target'}_{subset}_{i:04d}.wav" for i in range(n)],
        "machine": "fan", "section": "00", "split": "dev",
        "domain": ["source" if i % 4 < 2 else "target" for i in range(n)],
        "label": labels, "group": "fan/section_00",
    })


def make_run(root: Path) -> tuple[Path, dict[int, np.ndarray], pd.DataFrame]:
    rng = np.random.default_rng(7)
    test, train = clip_frame(40, "test"), clip_frame(24, "train")
    scores, rows = {}, []
    for seed in SEEDS:
        scores[seed] = test["label"].to_numpy() * 0.3 + rng.normal(size=len(test))  # noisy, seed-dependent
        bdir = backend_dir(root, "baseline", seed, "kmeans")
        write_scores_table(bdir / "scores.csv", test.assign(score=scores[seed], decision=0))
        write_scores_table(bdir / "train_scores.csv", train.assign(score=rng.normal(size=len(train)), decision=0))
        metrics = score_clips(test.assign(score=scores[seed], decision=0), dataset_version="2023")
        rows.append(metrics.assign(system="baseline", seed=str(seed), backend="kmeans"))
    write_results_table(root / "results.csv", pd.concat(rows)[list(RESULTS_COLUMNS)])
    (root / "run.json").write_text(json.dumps({"systems": ["baseline"], "dataset": {"version": "2023"}}))
    return root, scores, test


def _value(frame: pd.DataFrame, seed: int, domain: str, metric: str) -> float:
    row = frame[(frame["seed"] == str(seed)) & (frame["section"] == "00") & (frame["domain"] == domain)
                & (frame["metric"] == metric)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def test_seed_k_is_scored_as_the_mean_of_the_first_k_seeds(tmp_path) -> None:
    run_dir, scores, test = make_run(tmp_path / "run")
    plain = load_run(run_dir).results
    cumulative = cumulative_results(load_run(run_dir)).results
    # DCASE semantics: a domain's AUC takes that domain's normals and every anomaly (docs/metrics.md)
    source = ((test["domain"] == "source") | (test["label"] == 1)).to_numpy()
    for k, seed in enumerate(SEEDS):
        mean = np.mean([scores[s] for s in SEEDS[: k + 1]], axis=0)
        expected = roc_auc_score(test["label"][source], mean[source])
        assert abs(_value(cumulative, seed, "source", "auc") - expected) < 1e-12
    assert _value(cumulative, 0, "source", "auc") == _value(plain, 0, "source", "auc")
    assert _value(cumulative, 2, "source", "auc") != _value(plain, 2, "source", "auc")


def test_compare_says_that_it_shows_cumulative_ensembles(tmp_path) -> None:
    run_dir, _, _ = make_run(tmp_path / "run")
    result = CliRunner().invoke(main, ["compare", str(run_dir), "--cumulative-ensemble"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == NOTE
    plain = CliRunner().invoke(main, ["compare", str(run_dir)])
    assert NOTE not in plain.stdout and plain.stdout != result.stdout.split("\n", 1)[1]
