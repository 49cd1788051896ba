"""The decision rule reaches every decision file: a back-end's ``percentile`` option decides the
trial's and the ensemble's ``decision_result_*.csv`` and ``scores.csv``, and the thresholds the
trial saves for ``asdbench score`` (one rule: ``asdbench.scoring.decision.threshold``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import asdbench
from asdbench.results.layout import (
    BACKEND_STATE_FILE,
    ENSEMBLE,
    SCORES_FILE,
    TRAIN_SCORES_FILE,
    backend_dir,
)
from asdbench.results.tables import read_scores_table
from asdbench.scoring.challenge import read_challenge_files


@pytest.fixture(scope="module")
def median_run(tiny_synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("decisions")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASDBENCH_HOME", str(out / "home"))
        run = asdbench.run(out=out, name="p50", systems=["baseline"], seeds=[0, 1], data=str(tiny_synthetic),
                           epochs=1, batch_size=8, device="cpu", backends=["knn"], backend_options={"knn": {"percentile": 50}})
    return run.path


def _expected_decisions(folder) -> tuple[pd.DataFrame, np.ndarray]:
    test, train = read_scores_table(folder / SCORES_FILE), read_scores_table(folder / TRAIN_SCORES_FILE)
    expected = np.empty(len(test), dtype=int)
    for (machine, section), rows in test.groupby(["machine", "section"]).groups.items():
        own = train[(train.machine == machine) & (train.section == section)].score.to_numpy()
        limit = np.percentile(own, 50)  # independent of asdbench: numpy's linear interpolation
        expected[test.index.get_indexer(rows)] = (test.loc[rows, "score"].to_numpy() > limit).astype(int)
    return test, expected


@pytest.mark.parametrize("seed", [0, ENSEMBLE])
def test_the_backends_percentile_decides_trials_and_ensembles(median_run, seed):
    folder = backend_dir(median_run, "baseline", seed, "knn")
    test, expected = _expected_decisions(folder)
    np.testing.assert_array_equal(test.decision.to_numpy(), expected)
    assert 0.3 < expected.mean() < 0.9  # the median of the (leave-one-out) training scores, not the 90th percentile
    challenge = read_challenge_files(folder).set_index("file")
    np.testing.assert_array_equal(challenge.loc[test.file, "decision"].to_numpy(), expected)


def test_the_saved_thresholds_are_the_same_rule(median_run):
    folder = backend_dir(median_run, "baseline", 0, "knn")
    saved = json.loads((folder / BACKEND_STATE_FILE).read_text())["decision"]
    assert saved["percentile"] == 50.0
    train = read_scores_table(folder / TRAIN_SCORES_FILE)
    groups = train.machine + "/section_" + train.section
    assert sorted(saved["thresholds"]) == sorted(set(groups))
    for group, value in saved["thresholds"].items():
        assert value == pytest.approx(np.percentile(train.score[groups == group], 50), rel=1e-12)
