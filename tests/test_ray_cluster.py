"""The Ray executor against a real local cluster (``ray.cluster_utils.Cluster``: a head without
CPUs, so that no trial runs next to the driver, and two worker nodes of one CPU each; no
dashboard; shut down at the end of the module).

The test strategies (a worker that dies, a node that is lost under a trial, a trial killed after
its epoch-2 checkpoint, a hang) live in a throw-away plugin folder that reaches the workers only
through ``--ray-runtime-env`` (``working_dir``): the cluster's processes do not see the test's
``sys.path``, so a trial that finds the plugin proves the runtime environment was shipped.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from plugin_dist import write_plugin_dist

from asdbench import plugins
from asdbench.cli import main

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'asdbench[ray]'")

pytestmark = pytest.mark.slow

TINY = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu", "--threads", "1"]
OBJECT_STORE = 80 * 1024**2

FLAKY_PLUGIN = """
    import os
    from pathlib import Path

    from asdbench.components import Augmenter
    from asdbench.hookspecs import hookimpl


    class Crash(Augmenter):
        '''Kills its worker process the first CRASHES times it is called (counted in a file).'''
        stage = "waveform"
        factor = 1

        def __call__(self, data, labels, generator):
            marker = Path(os.environ["ASDBENCH_TEST_CRASH_COUNT"])
            calls = marker.read_text().count("x") if marker.exists() else 0
            if calls < int(os.environ.get("ASDBENCH_TEST_CRASHES", "2")):
                marker.write_text("x" * (calls + 1))
                print("crash plugin: exiting now", flush=True)
                os._exit(1)
            return data, labels


    class StallOnce(Augmenter):
        '''The first time (a marker file) it leaves a marker and waits for its node to be removed
        (90 s at most, so that a test that fails to remove it still ends).'''
        stage = "waveform"
        factor = 1

        def __call__(self, data, labels, generator):
            marker = Path(os.environ["ASDBENCH_TEST_DIR"]) / "stalled"
            if not marker.exists():
                marker.write_text("stalled")
                import time
                time.sleep(90)
            return data, labels


    class KillAfterCheckpoint(Augmenter):
        '''Kills its worker once the trial's checkpoint holds epoch 2, on the first attempt only (a
        marker file); returns its input unchanged and draws nothing, so the numbers are those of
        the same system without it. Does nothing outside the test's Ray workers.'''
        stage = "waveform"
        factor = 1
        seen = {}

        def __call__(self, data, labels, generator):
            test_dir = os.environ.get("ASDBENCH_TEST_DIR")
            if test_dir is None or (Path(test_dir) / "killed").exists():
                return data, labels
            for checkpoint in Path(test_dir).glob("*/kill/seed-0/checkpoint.pt"):
                stamp = checkpoint.stat().st_mtime_ns
                if self.seen.get(checkpoint) != stamp:  # load each new checkpoint once
                    import torch
                    self.seen[checkpoint] = stamp
                    if torch.load(checkpoint, weights_only=True)["epoch"] + 1 >= 2:
                        (Path(test_dir) / "killed").write_text("killed")
                        print("kill plugin: exiting after the epoch-2 checkpoint", flush=True)
                        os._exit(1)
            return data, labels


    class Hang(Augmenter):
        stage = "waveform"
        factor = 1

        def __call__(self, data, labels, generator):
            import time
            time.sleep(3600)


    @hookimpl
    def register_augmenters(register):
        register("crash", Crash, "kills the worker process (test)")
        register("hang", Hang, "never returns (test)")
        register("stall", StallOnce, "waits for its node to go away, once (test)")
        register("kill", KillAfterCheckpoint, "kills the worker after the epoch-2 checkpoint, once (test)")
"""


@pytest.fixture(scope="module")
def cluster():
    """A head without CPUs (the driver's node) and two worker nodes of 1 CPU each, without token
    authentication."""
    from ray.cluster_utils import Cluster

    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": OBJECT_STORE,
                                                          "include_dashboard": False})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        nodes.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@pytest.fixture
def shipped_plugin(tmp_path, monkeypatch):
    """The crash plugin in a folder (module + dist-info) on the driver's sys.path only, and a
    runtime-environment file that ships it to the workers."""
    folder = write_plugin_dist(tmp_path / "ship", "asdbench_flaky", FLAKY_PLUGIN)
    env_file = tmp_path / "runtime-env.yaml"
    env_file.write_text(f"working_dir: ship\nenv_vars:\n  ASDBENCH_TEST_CRASH_COUNT: '{tmp_path / 'crashes'}'\n"
                        f"  ASDBENCH_TEST_DIR: '{tmp_path}'\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv(plugins.ENV_LOAD, raising=False)
    plugins.reset()
    yield env_file
    monkeypatch.undo()
    plugins.reset()


def _run(args, **env):
    return CliRunner().invoke(main, ["run", *args], env=env or None)


def test_a_cluster_trial_equals_the_local_one_a_killed_worker_fails_alone_and_resume_moves_on(
        cluster, shipped_plugin, tiny_synthetic, tmp_path, isolated_home):
    common = ["--data", str(tiny_synthetic), "--out", str(tmp_path), *TINY]
    local = _run([*common, "--ssl", "baseline", "--name", "local"])
    assert local.exit_code == 0, local.output

    # RAY_ADDRESS (as `ray job submit` sets it) instead of --address; JSON on stdout
    result = _run([*common, "--ssl", "baseline", "crash", "--executor", "ray", "--name", "r", "--format", "json",
                   "--ray-runtime-env", str(shipped_plugin)], RAY_ADDRESS=cluster.address)
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)  # nothing but the leaderboard on stdout
    assert {r["system"] for r in rows} == {"baseline"}
    assert "crash plugin: exiting now" in result.stderr  # worker output reaches the driver's stderr
    assert not ray.is_initialized()
    run = tmp_path / "r"
    meta = json.loads((run / "run.json").read_text())
    assert meta["executions"][0]["ray"]["address"] == cluster.address
    assert meta["executions"][0]["ray"]["task"] == {"cpus": 1, "gpus": 0}

    # the same numbers as the local executor at the same thread count
    pd.testing.assert_frame_equal(pd.read_csv(run / "results.csv"), pd.read_csv(tmp_path / "local" / "results.csv"))
    done = json.loads((run / "baseline" / "seed-0" / "trial.json").read_text())
    assert done["status"] == "done" and done["runtime"]["threads"] == 1 and done["runtime"]["device"] == "cpu"
    assert done["runtime"]["versions"]["plugins"]["asdbench_flaky"]["distribution"] == "asdbench-flaky"
    node_ids = {n["NodeID"] for n in ray_nodes(cluster)}
    assert done["worker"]["node_id"] in node_ids

    # the killed worker: only its trial failed, with where it ran and its last log lines
    crashed = json.loads((run / "crash" / "seed-0" / "trial.json").read_text())
    assert crashed["status"] == "failed" and crashed["error"].startswith("worker lost: WorkerCrashedError")
    assert crashed["worker"]["node_id"] in node_ids and crashed["worker"]["worker_id"]
    assert Path(crashed["worker"]["ray_log_err"]).name.startswith(f"worker-{crashed['worker']['worker_id']}")
    assert crashed["log_tail"][0].startswith("--- crash/seed-0 attempt 1 on ")
    assert "crash plugin: exiting now" in crashed["ray_log_out_tail"]
    assert "crash/seed-0 failed on " in result.stderr and crashed["log_tail"][0] in result.stderr
    finished = (run / "baseline" / "seed-0" / "trial.json").stat().st_mtime_ns

    # --resume on "another" cluster (--address given now), with a retry: the crash trial dies
    # once more, Ray retries it, the second attempt trains; the finished trial is not touched
    resumed = _run(["--resume", "--out", str(tmp_path), "--name", "r", "--quiet", "--address", cluster.address,
                    "--max-retries", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert "skipping finished trial baseline/seed-0" in resumed.stderr
    assert (run / "baseline" / "seed-0" / "trial.json").stat().st_mtime_ns == finished
    retried = json.loads((run / "crash" / "seed-0" / "trial.json").read_text())
    assert retried["status"] == "done" and retried["worker"]["attempt"] == 2
    meta = json.loads((run / "run.json").read_text())
    assert meta["config"]["address"] == cluster.address and meta["config"]["max_retries"] == 1
    assert len(meta["executions"]) == 2 and meta["status"] == "finished"
    assert set(pd.read_csv(run / "results.csv").system) == {"baseline", "crash"}


def ray_nodes(cluster) -> list[dict]:
    ray.init(address=cluster.address)
    try:
        return ray.nodes()
    finally:
        ray.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _remove_node_under(cluster, folder: Path, marker: Path, removed: dict, timeout: float = 120) -> None:
    """Once the trial in ``folder`` stalls (``marker``), kill the node it runs on, as a lost
    machine would go (no graceful shutdown)."""
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{marker} did not appear within {timeout:.0f} s")
            time.sleep(0.2)
        node_id = json.loads((folder / "worker.json").read_text())["node_id"]
        nodes = [n for n in cluster.worker_nodes if n.node_id == node_id]
        assert nodes, f"the trial runs on {node_id}, not a worker node of the test cluster"
        cluster.remove_node(nodes[0], allow_graceful=False)
        removed["node_id"] = node_id
    except BaseException as exc:  # noqa: BLE001 - re-raised by the test
        removed["error"] = exc


def test_a_lost_node_fails_only_its_trial_and_resume_redoes_only_that_one(cluster, shipped_plugin, tiny_synthetic,
                                                                          tmp_path, isolated_home):
    run = tmp_path / "n"
    stalled = run / "stall" / "seed-0"
    removed: dict = {}
    watcher = threading.Thread(target=_remove_node_under, args=(cluster, stalled, tmp_path / "stalled", removed),
                               daemon=True)
    common = ["--data", str(tiny_synthetic), "--out", str(tmp_path), *TINY, "--name", "n"]
    started = time.monotonic()
    watcher.start()
    try:
        result = _run([*common, "--ssl", "baseline", "stall", "--executor", "ray", "--address", cluster.address,
                       "--ray-runtime-env", str(shipped_plugin)])
        watcher.join(10)
        assert "error" not in removed, removed
        assert result.exit_code == 1, result.output
        assert time.monotonic() - started < 120

        # only the trial on the lost node failed, recorded with that node, its worker and the logs
        lost = json.loads((stalled / "trial.json").read_text())
        assert lost["status"] == "failed" and lost["error"].startswith("worker lost: NodeDiedError: "), lost["error"]
        assert lost["worker"]["node_id"] == removed["node_id"] and lost["worker"]["worker_id"]
        assert Path(lost["worker"]["ray_log_err"]).name.startswith(f"worker-{lost['worker']['worker_id']}")
        assert lost["log"] == str(stalled / "worker.log") and lost["log_tail"][0].startswith("--- stall/seed-0 attempt 1")
        assert "stall/seed-0 failed on " in result.stderr
        done = json.loads((run / "baseline" / "seed-0" / "trial.json").read_text())
        assert done["status"] == "done" and done["worker"]["node_id"] != removed["node_id"]
        meta = json.loads((run / "run.json").read_text())
        finished = (run / "baseline" / "seed-0" / "trial.json").stat().st_mtime_ns

        # a resume that cannot reach its cluster fails at once and leaves the run as it was
        unreachable = _run(["--resume", "--out", str(tmp_path), "--name", "n", "--quiet", "--address",
                            f"127.0.0.1:{_closed_port()}"])
        assert unreachable.exit_code == 2 and "no Ray head node answers at 127.0.0.1:" in unreachable.stderr
        assert json.loads((run / "run.json").read_text()) == meta

        # --resume on the nodes that are left redoes the lost trial only
        resumed = _run(["--resume", "--out", str(tmp_path), "--name", "n", "--quiet", "--address", cluster.address])
        assert resumed.exit_code == 0, resumed.output
        assert "skipping finished trial baseline/seed-0" in resumed.stderr
        assert (run / "baseline" / "seed-0" / "trial.json").stat().st_mtime_ns == finished
        redone = json.loads((stalled / "trial.json").read_text())
        assert redone["status"] == "done" and redone["worker"]["node_id"] != removed["node_id"]
        assert set(pd.read_csv(run / "results.csv").system) == {"baseline", "stall"}
        assert json.loads((run / "run.json").read_text())["status"] == "finished"
    finally:
        watcher.join(10)
        if "node_id" in removed:  # the next tests get two worker nodes again
            cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
            cluster.wait_for_nodes()


def test_a_retried_trial_continues_from_its_checkpoint_and_ends_as_an_uninterrupted_one(
        cluster, shipped_plugin, tiny_synthetic, tmp_path, isolated_home):
    import torch

    common = ["--data", str(tiny_synthetic), "--out", str(tmp_path), *TINY, "--epochs", "3", "--ssl", "kill"]
    plain = _run([*common, "--name", "u"])  # the plugin does nothing outside the test's Ray workers
    assert plain.exit_code == 0, plain.output

    result = _run([*common, "--name", "k", "--executor", "ray", "--address", cluster.address, "--max-retries", "1",
                   "--ray-runtime-env", str(shipped_plugin)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "killed").exists()  # the first attempt was killed
    assert "kill plugin: exiting after the epoch-2 checkpoint" in result.stderr
    folder = tmp_path / "k" / "kill" / "seed-0"
    record = json.loads((folder / "trial.json").read_text())
    assert record["status"] == "done" and record["worker"]["attempt"] == 2

    # attempt 1 trained epochs 1 and 2; attempt 2 found their checkpoint and trained epoch 3 only
    log = (folder / "worker.log").read_text().splitlines()
    second = next(i for i, line in enumerate(log) if line.startswith("--- kill/seed-0 attempt 2 "))
    epochs = [[line.split(" ", 1)[1] for line in part if " epoch " in f" {line}"] for part in (log[:second], log[second:])]
    assert epochs == [["epoch 1/3", "epoch 2/3"], ["epoch 3/3"]], log
    assert log[second + 1] == "checkpoint.pt of an earlier attempt found: training continues after its last epoch"
    assert record["history"]["epochs"] == 3 and not (folder / "checkpoint.pt").exists()

    # and it ends exactly where the uninterrupted run ends
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "k" / "results.csv"), pd.read_csv(tmp_path / "u" / "results.csv"))
    weights = [torch.load(tmp_path / name / "kill" / "seed-0" / "weights.pt", weights_only=True) for name in "ku"]
    assert weights[0].keys() == weights[1].keys() and all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    losses = [pd.read_csv(tmp_path / name / "kill" / "seed-0" / "history.csv")[["epoch", "loss"]] for name in "ku"]
    pd.testing.assert_frame_equal(*losses)


def test_infeasible_requests_fail_at_once_and_gpu_nodes_run_one_trial_per_gpu(cluster, tiny_synthetic, tmp_path,
                                                                                isolated_home):
    from asdbench.runner.config import RunConfig
    from asdbench.runner.ray_connect import ray_session
    from asdbench.runner.ray_resources import TaskResources

    args = ["--executor", "ray", "--address", cluster.address, "--data", str(tiny_synthetic), "--out", str(tmp_path),
            "--name", "g"]
    started = time.monotonic()
    result = _run([*args, "--device", "cuda"])
    assert result.exit_code == 2, result.output
    assert time.monotonic() - started < 60
    assert result.stderr.splitlines()[-1].startswith(f"Error: --device cuda: the Ray cluster at --address "
                                                     f"{cluster.address} has no GPUs (")
    assert not (tmp_path / "g").exists()

    gpu_node = cluster.add_node(num_cpus=8, num_gpus=2, object_store_memory=OBJECT_STORE)  # declared GPUs
    try:
        cluster.wait_for_nodes()
        config = RunConfig(executor="ray", address=cluster.address, device="cuda").validate()
        lines: list[str] = []
        with ray_session(config, lines.append) as session:
            assert session.request == TaskResources(cpus=4, gpus=1)
        assert lines[0].startswith("Ray: each trial holds 4 CPU(s) and 1 GPU; up to 2 trial(s) at once on 4 node(s)")
        result = _run([*args, "--device", "cuda", "--cpus-per-trial", "9"])
        assert result.exit_code == 2
        assert "Error: --cpus-per-trial 9: no GPU node of the Ray cluster" in result.stderr
        assert not (tmp_path / "g").exists()
    finally:
        cluster.remove_node(gpu_node)


def test_a_trial_past_its_timeout_is_stopped_and_recorded(cluster, shipped_plugin, tiny_synthetic, tmp_path,
                                                          isolated_home):
    started = time.monotonic()
    result = _run(["--data", str(tiny_synthetic), "--out", str(tmp_path), *TINY, "--ssl", "hang", "--name", "t",
                   "--executor", "ray", "--address", cluster.address, "--trial-timeout", "2",
                   "--ray-runtime-env", str(shipped_plugin)])
    assert result.exit_code != 0, result.output  # every trial failed
    assert time.monotonic() - started < 90
    record = json.loads((tmp_path / "t" / "hang" / "seed-0" / "trial.json").read_text())
    assert record["status"] == "failed" and record["error"].startswith("timed out after --trial-timeout 2 s (")
    assert record["worker"]["attempt"] == 1
    assert "hang/seed-0 failed on " in result.stderr
