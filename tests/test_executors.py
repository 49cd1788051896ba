"""Executors: parallel local processes write the same run directory as the in-process runner,
and a worker that raises or dies fails only its own trial (Ray: tests/test_ray_cluster.py).

A plugin registered in-process is invisible to worker processes, so the failing strategies
live in a throw-away distribution (an entry point on ``PYTHONPATH``) that workers load like any
installed plugin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from plugin_dist import write_plugin_dist

from asdbench import plugins
from asdbench.cli import main

TINY = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu", "--threads", "1"]

CRASH_PLUGIN = """
    import os

    from asdbench.components import Augmenter
    from asdbench.hookspecs import hookimpl


    class Crash(Augmenter):
        stage = "waveform"
        factor = 1

        def __call__(self, data, labels, generator):
            os._exit(1)  # the worker process dies without a word


    class Boom(Augmenter):
        stage = "waveform"
        factor = 1

        def __call__(self, data, labels, generator):
            raise RuntimeError("boom inside the worker")


    @hookimpl
    def register_augmenters(register):
        register("crash", Crash, "kills the worker process (test)")
        register("boom", Boom, "raises inside the worker (test)")
"""


@pytest.fixture
def crash_plugin(tmp_path, monkeypatch):
    """Installs the crashing strategies as an entry-point plugin, for this process and its workers."""
    folder = write_plugin_dist(tmp_path / "site", "asdbench_crashtest", CRASH_PLUGIN)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv(plugins.ENV_LOAD, raising=False)
    plugins.reset()
    assert "crash" in plugins.get_registry().names("augmenter")
    yield folder
    monkeypatch.undo()
    plugins.reset()


def _run(args, data, out):
    return CliRunner().invoke(main, ["run", "--data", str(data), "--out", str(out), *TINY, *args])


def _trials(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())["trials"]


def _check_done(run: Path, key: str) -> None:
    folder = run / key
    assert (folder / "weights.pt").exists() and not (folder / "checkpoint.pt").exists()
    assert json.loads((folder / "trial.json").read_text())["status"] == "done"
    assert len((folder / "kmeans" / "anomaly_score_fan_section_00_test.csv").read_text().splitlines()) == 16


def test_worker_processes_fill_the_run_dir_and_a_dying_worker_fails_only_its_trial(
        tiny_synthetic, tmp_path, isolated_home, crash_plugin):
    result = _run(["--ssl", "crash", "boom", "baseline", "--workers", "2", "--name", "p"], tiny_synthetic, tmp_path)
    assert result.exit_code == 1, result.output
    run = tmp_path / "p"
    trials = _trials(run)
    assert trials["crash/seed-0"]["status"] == "failed"
    assert trials["crash/seed-0"]["error"] == "worker lost: process exited with code 1 before reporting a result"
    assert trials["boom/seed-0"]["status"] == "failed"
    assert "RuntimeError: boom inside the worker" in trials["boom/seed-0"]["error"]
    assert trials["baseline/seed-0"]["status"] == "done"
    _check_done(run, "baseline/seed-0")
    results = pd.read_csv(run / "results.csv")
    assert set(results.system) == {"baseline"}
    assert results[results.metric == "official_score"].value.between(0, 1).all()
    assert "2 trial(s) failed: crash/seed-0, boom/seed-0" in result.output or \
        "2 trial(s) failed: boom/seed-0, crash/seed-0" in result.output


def test_worker_processes_run_seeds_in_parallel(tiny_synthetic, tmp_path, isolated_home):
    result = _run(["--ssl", "baseline", "--seeds", "2", "--workers", "2", "--name", "w"], tiny_synthetic, tmp_path)
    assert result.exit_code == 0, result.output
    run = tmp_path / "w"
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    for key in ("baseline/seed-0", "baseline/seed-1"):
        _check_done(run, key)
    official = pd.read_csv(run / "results.csv").query("metric == 'official_score'")
    assert set(official.seed.astype(str)) == {"0", "1", "ensemble"}
