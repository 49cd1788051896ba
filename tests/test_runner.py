"""The runner end to end on a tiny synthetic dataset: run dir contract, resume, failures, config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.components import Augmenter
from asdbench.hookspecs import hookimpl
from asdbench.runner.config import make_config
from asdbench.runner.execute import execute
from asdbench.testing import registered_plugin

TINY = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu"]


def _run(args, tiny_synthetic, tmp_path, columns=100):
    return CliRunner().invoke(main, ["run", "--data", str(tiny_synthetic), "--out", str(tmp_path / "runs"), *TINY, *args],
                              env={"COLUMNS": str(columns)})


def test_run_writes_the_run_directory_contract(tiny_synthetic, tmp_path, isolated_home):
    result = _run(["--ssl", "baseline", "regular+featex", "--seeds", "2", "--name", "r"], tiny_synthetic, tmp_path)
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "r"
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "finished"
    assert meta["config"]["systems"] == ["baseline", "regular+featex"] and meta["seeds"] == [0, 1]
    assert {"asdbench", "torch", "numpy", "plugins"} <= set(meta["versions"])
    repo = Path(__file__).resolve().parents[1]
    if (repo / ".git").exists():  # tests run from a checkout: run.json names its commit
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        assert meta["versions"]["asdbench_git"]["commit"] == head
    assert meta["dataset"]["length_policy"]["samples"] == 8000
    assert meta["systems"]["regular+featex"]["heads"] == ["regular", "ssl"]
    assert meta["systems"]["regular+featex"]["ssl_label_factor"] == 3
    for key in ("baseline/seed-0", "baseline/seed-1", "regular+featex/seed-0", "regular+featex/seed-1"):
        trial = meta["trials"][key]
        assert trial["status"] == "done" and trial["timings"]["train_s"] > 0
        folder = run / key
        state = torch.load(folder / "weights.pt", weights_only=True)
        assert any(k.endswith("weight") for k in state)
        assert not (folder / "checkpoint.pt").exists()
        history = pd.read_csv(folder / "history.csv")
        assert list(history.epoch) == [1] and {"loss", "loss_regular", "l2", "scale_regular", "lr",
                                                "seconds", "clips_per_s"} <= set(history.columns)
        assert trial["history"] == {"file": "history.csv", "epochs": 1, "final_loss": round(history.loss[0], 6)}
        csvs = sorted(p.name for p in (folder / "kmeans").glob("anomaly_score_*.csv"))
        assert csvs == ["anomaly_score_ToyDrone_section_00_test.csv", "anomaly_score_fan_section_00_test.csv"]
        rows = (folder / "kmeans" / "anomaly_score_fan_section_00_test.csv").read_text().splitlines()
        assert len(rows) == 16 and rows[0].startswith("section_00_")
    results = pd.read_csv(run / "results.csv")
    assert list(results.columns) == ["system", "seed", "backend", "split", "machine", "section", "domain", "metric", "value"]
    official = results[(results.metric == "official_score")]
    assert set(official.seed.astype(str)) == {"0", "1", "ensemble"}
    assert set(official.split) == {"dev", "eval"}
    assert official.value.between(0, 1).all()
    assert (run / "baseline" / "ensemble" / "kmeans" / "decision_result_fan_section_00_test.csv").exists()
    assert "baseline" in result.stdout and "official" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100  # the leaderboard fits COLUMNS
    assert "dev split" in result.stdout and "eval split" in result.stdout
    assert not list(run.rglob("*.tmp"))


def test_evaluate_reproduces_the_runs_eval_numbers(tiny_synthetic, tmp_path, isolated_home):
    assert _run(["--ssl", "baseline", "--name", "e"], tiny_synthetic, tmp_path).exit_code == 0
    run = tmp_path / "runs" / "e"
    result = CliRunner().invoke(main, ["evaluate", str(run / "baseline" / "seed-0" / "kmeans"),
                                       "--ground-truth", str(tiny_synthetic), "--format", "json"])
    assert result.exit_code == 0, result.output
    evaluated = pd.DataFrame(json.loads(result.stdout))
    results = pd.read_csv(run / "results.csv", dtype={"section": str})
    ours = results[(results.split == "eval") & (results.seed.astype(str) == "0")]
    merged = ours.merge(evaluated, on=["split", "machine", "section", "domain", "metric"], suffixes=("_run", "_eval"))
    assert len(merged) == len(ours) > 10
    assert (merged.value_run - merged.value_eval).abs().max() < 1e-12 or (
        merged[["value_run", "value_eval"]].isna().all(axis=1) | ((merged.value_run - merged.value_eval).abs() < 1e-12)).all()
    official = merged[(merged.metric == "official_score") & (merged.machine == "*")]
    assert len(official) == 1


class _Exploding(Augmenter):
    """Fails on purpose, to check that a failing trial does not stop the sweep."""

    stage = "waveform"
    factor = 1

    def __call__(self, data, labels, generator):
        raise RuntimeError("exploded on purpose")


class _ExplodingPlugin:
    @hookimpl
    def register_augmenters(self, register):
        register("explode", _Exploding)


def test_failing_trial_is_recorded_and_the_sweep_goes_on(tiny_synthetic, tmp_path, isolated_home):
    with registered_plugin(_ExplodingPlugin(), "exploding"):
        result = _run(["--ssl", "explode", "baseline", "--name", "f"], tiny_synthetic, tmp_path)
    assert result.exit_code == 1
    meta = json.loads((tmp_path / "runs" / "f" / "run.json").read_text())
    assert meta["status"] == "failed"
    assert meta["trials"]["explode/seed-0"]["status"] == "failed"
    assert "exploded on purpose" in meta["trials"]["explode/seed-0"]["error"]
    assert meta["trials"]["baseline/seed-0"]["status"] == "done"
    assert "1 trial(s) failed: explode/seed-0" in result.output


def test_unknown_system_is_a_one_line_error(tiny_synthetic, tmp_path, isolated_home):
    result = _run(["--ssl", "nonsense"], tiny_synthetic, tmp_path)
    assert result.exit_code == 2
    assert "unknown system or augmenter 'nonsense'" in result.output
    assert "Traceback" not in result.output


def test_config_file_and_command_line_override(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('systems = ["baseline", "featex"]\nseeds = 3\nepochs = 4\nbackends = ["kmeans", "knn"]\n')
    cfg = make_config(config, {"epochs": 2, "seeds": None})
    assert cfg.systems == ["baseline", "featex"] and cfg.seeds == [0, 1, 2]
    assert cfg.epochs == 2 and cfg.backends == ["kmeans", "knn"]
    config.write_text('epochz = 3\n')
    with pytest.raises(Exception, match="unknown key.*epochz"):
        make_config(config, {})


def test_low_memory_switches_off_host_memory_reuse(tmp_path):
    from asdbench.errors import ConfigError
    from asdbench.runner.trial import train_config

    config = tmp_path / "exp.toml"
    config.write_text("low_memory = true\n")
    assert train_config(make_config(config, {}), seed=0).reuse_host_memory is False
    assert train_config(make_config(None, {"low_memory": None}), seed=0).reuse_host_memory is True
    config.write_text('low_memory = "yes"\n')
    with pytest.raises(ConfigError, match="low_memory: expected true or false, got 'yes'"):
        make_config(config, {})


@pytest.mark.parametrize("path", sorted(Path(__file__).parents[1].glob("benchmarks/*.toml")))
def test_shipped_experiment_files_resolve(path):
    from asdbench.systems import resolve_system

    cfg = make_config(path, {})
    for spec in cfg.systems:
        resolve_system(spec)


def test_sigkill_then_resume_keeps_finished_trials(tiny_synthetic, tmp_path):
    from asdbench.allocator import without_allocator  # the allocator's own choice is checked below

    env = {**without_allocator(os.environ), "ASDBENCH_HOME": str(tmp_path / "home")}
    run = tmp_path / "runs" / "k"
    cmd = [sys.executable, "-m", "asdbench", "run", "--data", str(tiny_synthetic), "--out", str(tmp_path / "runs"),
           "--name", "k", "--ssl", "baseline", "regular+featex", *TINY, "--epochs", "3"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = run / "baseline" / "seed-0" / "trial.json"
    deadline = time.time() + 240
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert first.exists(), proc.stderr.read().decode() if proc.poll() is not None else "timed out"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stamp = first.stat().st_mtime_ns
    meta = json.loads((run / "run.json").read_text())  # still valid JSON after the kill
    assert meta["status"] == "running"
    resumed = subprocess.run([sys.executable, "-m", "asdbench", "run", "--resume", "--out", str(tmp_path / "runs"),
                              "--name", "k", "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "skipping finished trial baseline/seed-0" in resumed.stderr
    assert first.stat().st_mtime_ns == stamp
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "finished" and len(meta["resumed_at"]) == 1
    # The command runs under the preferred allocator (asdbench/allocator.py) and says so.
    from asdbench.allocator import allocator_name, preload_choice

    preferred = preload_choice(env)
    expected = allocator_name(preferred) if preferred else "system"
    assert meta["versions"]["allocator"]["name"] == expected
    assert json.loads(first.read_text())["allocator"] == expected
    assert all(t["status"] == "done" for t in meta["trials"].values())
    results = pd.read_csv(run / "results.csv")
    assert set(results.system) == {"baseline", "regular+featex"}
    assert not list(run.rglob("*.tmp")) and not list(run.rglob(".*.tmp"))


def test_execute_api_matches_cli_contract(tiny_synthetic, tmp_path, isolated_home):
    cfg = make_config(None, {"systems": ["baseline"], "data": str(tiny_synthetic), "epochs": 1, "batch_size": 8,
                             "backends": ["kmeans", "knn"], "device": "cpu"})
    outcome = execute(cfg, tmp_path / "api", show_progress=False)
    assert outcome.failed == [] and set(outcome.results.backend) == {"kmeans", "knn"}
    # Every row of embeddings.npz is indexed, and the saved back-ends re-score them exactly.
    from asdbench.backends.persist import load_backend
    from asdbench.results.tables import read_scores_table

    trial = tmp_path / "api" / "baseline" / "seed-0"
    index = pd.read_csv(trial / "embeddings.csv", dtype={"section": str})
    with np.load(trial / "embeddings.npz") as npz:
        train, test = npz["train"], npz["test"]
    assert list(index.columns) == ["matrix", "row", "file", "path", "machine", "section", "split", "subset",
                                   "domain", "label", "attribute"]
    assert (index.matrix == "train").sum() == len(train) and (index.matrix == "test").sum() == len(test)
    assert set(index[index.matrix == "train"].subset) == {"train"} and set(index.section) == {"00"}
    rows = index[index.matrix == "test"].reset_index(drop=True)
    groups = (rows.machine + "/section_" + rows.section).to_numpy()
    for name in ("kmeans", "knn"):
        saved = load_backend(trial / name)
        scores = saved.score_samples(test, groups)
        expected = read_scores_table(trial / name / "scores.csv").set_index("file")
        np.testing.assert_array_equal(scores, expected.loc[rows.file, "score"].to_numpy())
        np.testing.assert_array_equal(saved.decide(scores, groups), expected.loc[rows.file, "decision"].to_numpy())


def test_third_party_strategy_trains_next_to_builtins(tiny_synthetic, tmp_path, isolated_home):
    pytest.importorskip("asdbench_pitchtime")
    result = _run(["--ssl", "baseline", "regular+mixup+pitchtime+featex", "--name", "p"], tiny_synthetic, tmp_path)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "runs" / "p" / "run.json").read_text())
    resolved = meta["systems"]["regular+mixup+pitchtime+featex"]
    assert [a["name"] for a in resolved["augmenters"]] == ["mixup", "pitchtime", "featex"]
    assert resolved["ssl_label_factor"] == 15
    assert "asdbench_pitchtime" in meta["versions"]["plugins"]
    board = CliRunner().invoke(main, ["compare", str(tmp_path / "runs" / "p"), "--format", "csv"])
    assert board.exit_code == 0 and "regular+mixup+pitchtime+featex" in board.output and "baseline" in board.output


def test_new_losses_backends_and_augmenters_run_end_to_end(tiny_synthetic, tmp_path, isolated_home):
    """Issue 17 in one trial: AdaProj regular head, ArcFace SSL head, SpecAugment + class-mix,
    four more back-ends scoring the same embeddings."""
    spec = "regular+specaugment+classmix:loss=adaproj,adaproj.subspace_dim=8,ssl_loss=arcface"
    backends = ["knn-smote", "knn-density", "gmm", "lof"]
    result = _run(["--ssl", spec, "--backend", *backends, "--name", "new"], tiny_synthetic, tmp_path)
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "new"
    meta = json.loads((run / "run.json").read_text())
    resolved = meta["systems"][spec]
    assert resolved["losses"] == {"regular": "adaproj", "ssl": "arcface"} and resolved["ssl_label_factor"] == 2
    assert [a["name"] for a in resolved["augmenters"]] == ["specaugment", "classmix"]
    assert meta["trials"][f"{spec}/seed-0"]["status"] == "done"
    official = pd.read_csv(run / "results.csv").query("metric == 'official_score'")
    assert set(official.backend) == set(backends) and official.value.between(0, 1).all()
    for backend in backends:  # every new back-end saved its fitted state beside the scores
        assert len(list(run.glob(f"*/seed-0/{backend}/backend.json"))) == 1
