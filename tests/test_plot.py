"""`asdbench plot`: PNG figures from a run directory built with the runner's file helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.evaluation import score_clips
from asdbench.evaluation.files import backend_dir, write_results_table, write_trial_outputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def clip_scores(system_shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for split, machine in (("dev", "fan"), ("eval", "valve")):
        for i in range(40):
            label = int(i % 4 == 0)
            rows.append(
                dict(
                    file=f"section_00_{i:04d}.wav",
                    machine=machine,
                    section="00",
                    split=split,
                    domain="source" if i < 30 else "target",
                    label=label,
                    score=float(rng.normal() + system_shift * label),
                    decision=int(rng.random() < 0.2),
                )
            )
    return pd.DataFrame(rows)


def make_run(root: Path, with_ensemble: bool = True) -> Path:
    run = root / "run"
    results = []
    for system, shift in (("baseline", 1.0), ("statex+featex", 2.0)):
        tables = []
        for seed in (0, 1):
            clips = clip_scores(shift, seed)
            tables.append(clips)
            write_trial_outputs(backend_dir(run, system, seed, "kmeans"), clips)
            results.append(
                score_clips(clips, dataset_version="2023").assign(
                    system=system, seed=str(seed), backend="kmeans"
                )
            )
        if with_ensemble:
            ens = tables[0].assign(score=(tables[0].score + tables[1].score) / 2)
            write_trial_outputs(backend_dir(run, system, "ensemble", "kmeans"), ens)
            results.append(
                score_clips(ens, dataset_version="2023").assign(
                    system=system, seed="ensemble", backend="kmeans"
                )
            )
    write_results_table(run / "results.csv", pd.concat(results))
    return run


def test_plot_writes_nonempty_pngs(tmp_path: Path):
    run = make_run(tmp_path)
    result = CliRunner().invoke(main, ["plot", str(run), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert "leaderboard.png" in files
    assert "roc_dev_fan_section_00.png" in files and "roc_eval_valve_section_00.png" in files
    assert "hist_statex+featex__ensemble__eval_valve_section_00.png" in files
    assert (
        len(files) == 1 + 2 + 2 * 2
    )  # leaderboard, ROC per section, histograms per system x section
    for name in files:
        data = (tmp_path / "figs" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    assert f"wrote {len(files)} figures" in result.stdout


def test_plot_default_folder_and_seed_fallback(tmp_path: Path):
    run = make_run(tmp_path, with_ensemble=False)
    result = CliRunner().invoke(main, ["plot", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "plots" / "hist_baseline__seed_0__dev_fan_section_00.png").is_file()


def test_missing_scores_tables_are_reported(tmp_path: Path):
    run = make_run(tmp_path, with_ensemble=False)
    for path in run.glob("baseline/*/kmeans/scores.csv"):
        path.unlink()
    result = CliRunner().invoke(main, ["plot", str(run)])
    assert result.exit_code == 0
    assert "Note: no scores.csv for baseline" in result.stderr
    assert not list((run / "plots").glob("hist_baseline*"))


def test_missing_matplotlib_gives_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = make_run(tmp_path, with_ensemble=False)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    result = CliRunner().invoke(main, ["plot", str(run)])
    assert result.exit_code == 2
    assert result.stderr == "Error: plotting needs matplotlib: install asdbench[plot]\n"


def test_not_a_run_directory(tmp_path: Path):
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "no results.csv" in result.stderr
