"""Ray executor without a cluster: task resources, executor options on --resume, runtime
environments, and the connection's fast, explained failure for an unreachable address (no run
directory left behind). A refused token is tested against a real head in test_ray_auth.py."""

from __future__ import annotations

import json
import socket
import time

import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.errors import ConfigError
from asdbench.runner.config import RunConfig, resume_config
from asdbench.runner.ray_env import job_runtime_env, load_runtime_env
from asdbench.runner.ray_resources import (
    NodeInfo,
    TaskResources,
    check_feasible,
    plan_line,
    task_resources,
)

GPU_NODES = [NodeInfo("10.0.0.1", 16, 4), NodeInfo("10.0.0.2", 8, 2)]
CPU_NODES = [NodeInfo("10.0.0.3", 32, 0), NodeInfo("10.0.0.4", 6, 0)]


def _ray(**options) -> RunConfig:
    return RunConfig(executor="ray", **options).validate()


def test_gpu_trials_take_one_gpu_and_the_smallest_cpu_share_so_every_gpu_runs_one():
    request = task_resources(_ray(device="cuda"), GPU_NODES + CPU_NODES)
    assert request == TaskResources(cpus=4, gpus=1)  # min(16 // 4, 8 // 2)
    assert [request.slots(n) for n in GPU_NODES + CPU_NODES] == [4, 2, 0, 0]
    assert "up to 6 trial(s) at once on 4 node(s)" in plan_line(request, GPU_NODES + CPU_NODES)
    assert task_resources(_ray(device="cuda", cpus_per_trial=2), GPU_NODES) == TaskResources(2, 1)
    assert task_resources(_ray(device="auto"), GPU_NODES).gpus == 1
    assert task_resources(_ray(device="auto"), CPU_NODES).gpus == 0


def test_cpu_trials_hold_their_thread_count_on_every_node_size():
    assert task_resources(_ray(device="cpu"), CPU_NODES) == TaskResources(cpus=2, gpus=0)  # --threads default
    request = task_resources(_ray(device="cpu", threads=3), CPU_NODES)
    assert request == TaskResources(3, 0) and [request.slots(n) for n in CPU_NODES] == [10, 2]
    assert task_resources(_ray(device="cpu", threads=1, cpus_per_trial=4), CPU_NODES) == TaskResources(4, 0)


@pytest.mark.parametrize(("options", "nodes", "message"), [
    ({"device": "cuda"}, CPU_NODES, "--device cuda: the Ray cluster at X has no GPUs (10.0.0.3: 32 CPUs, 0 GPUs"),
    ({"device": "cuda", "cpus_per_trial": 17}, GPU_NODES,
     "--cpus-per-trial 17: no GPU node of the Ray cluster at X has 17 CPUs and a GPU"),
    ({"device": "cpu", "threads": 64}, CPU_NODES,
     "--threads 64 (the CPUs a trial holds without --cpus-per-trial): no node of the Ray cluster at X has 64 CPUs"),
])
def test_requests_no_node_can_satisfy_are_refused_with_the_nodes(options, nodes, message):
    with pytest.raises(ConfigError, match="^") as info:
        check_feasible(_ray(**options), nodes, "X")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("options", "message"), [
    ({"cpus_per_trial": 2}, "--cpus-per-trial only apply to --executor ray"),
    ({"max_retries": 1, "trial_timeout": 60.0}, "--max-retries, --trial-timeout only apply to --executor ray"),
    ({"address": "h:1"}, "--address only applies to --executor ray"),
    ({"executor": "ray", "workers": 2}, "--workers applies to the local executor"),
    ({"executor": "ray", "device": "cuda:1"}, "--device cuda:1: Ray assigns each task its GPU"),
    ({"executor": "ray", "max_retries": -1}, "--max-retries must be an integer >= 0, got -1"),
    ({"executor": "ray", "trial_timeout": 0}, "--trial-timeout must be a number of seconds > 0, got 0"),
    ({"threads": True}, "threads: expected an integer, got True"),
    ({"threads": 0}, "--threads must be an integer >= 1, got 0"),
])
def test_executor_options_are_validated(options, message):
    with pytest.raises(ConfigError) as info:
        RunConfig(**options).validate()
    assert str(info.value).startswith(message)


def test_resume_takes_new_executor_options_and_refuses_other_changes():
    stored = _ray(address="old-head:6379", cpus_per_trial=4, threads=1)
    moved = resume_config(stored, {"address": "new-head:6379", "epochs": 10, "threads": 1})
    assert (moved.address, moved.cpus_per_trial, moved.executor) == ("new-head:6379", 4, "ray")
    local = resume_config(stored, {"executor": "local", "workers": 2})
    assert (local.executor, local.workers, local.address, local.cpus_per_trial) == ("local", 2, None, None)
    with pytest.raises(ConfigError) as info:
        resume_config(stored, {"epochs": 20, "threads": 2, "address": "x:1"})
    assert str(info.value).startswith("--resume: epochs = 20 (the run has 10); threads = 2 (the run has 1); "
                                      "a resumed run keeps its experiment")


def test_runtime_env_files_resolve_local_paths_next_to_the_file(tmp_path, monkeypatch):
    (tmp_path / "ship").mkdir()
    env_file = tmp_path / "env.yaml"
    env_file.write_text("working_dir: ship\nenv_vars:\n  A: '1'\n")
    monkeypatch.setenv("ASDBENCH_HOME", "/shared/home")
    env = load_runtime_env(env_file)
    assert env == {"working_dir": str(tmp_path / "ship"), "env_vars": {"A": "1"}}
    assert job_runtime_env(env)["env_vars"] == {"ASDBENCH_HOME": "/shared/home", "A": "1"}
    (tmp_path / "bad.json").write_text("{working_dir: ")
    with pytest.raises(ConfigError, match=r"^--ray-runtime-env .*bad.json: not valid JSON"):
        load_runtime_env(tmp_path / "bad.json")
    (tmp_path / "missing.json").write_text(json.dumps({"working_dir": "nowhere"}))
    with pytest.raises(ConfigError, match=r"missing.json: .*nowhere does not exist$"):
        load_runtime_env(tmp_path / "missing.json")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("via_env", [False, True], ids=["--address", "RAY_ADDRESS"])
def test_an_unreachable_address_fails_at_once_and_leaves_no_run_directory(tmp_path, monkeypatch, via_env):
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_closed_port()}"
    args = ["run", "--executor", "ray", "--out", str(tmp_path), "--name", "r", "--quiet"]
    if via_env:
        monkeypatch.setenv("RAY_ADDRESS", address)
    else:
        args += ["--address", address]
    started = time.monotonic()
    result = CliRunner().invoke(main, args)
    assert time.monotonic() - started < 20
    assert result.exit_code == 2
    where = f"RAY_ADDRESS={address}" if via_env else f"--address {address}"
    assert result.stderr.splitlines()[-1].startswith(f"Error: {where}: no Ray head node answers at {address} "
                                                     "(Connection refused")
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()
