"""Token authentication against a real Ray head, set up as docs/scaling.md's cluster recipe says:
``ray get-auth-token --generate`` and ``RAY_AUTH_MODE=token ray start --head`` in the head's home,
a worker node that joins with ``RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<token>``, and ``asdbench run``
from a third home with no token, a wrong one, and the head's.

Everything listens on 127.0.0.1 only. Each ``ray start --block`` runs in a session of its own,
so the head, the node and every process they start are stopped through that session's process
group (never ``ray stop``, which stops every Ray on the machine). ``asdbench`` runs in a
subprocess: Ray keeps the authentication mode and token of a process once it has read them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'asdbench[ray]'")

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
START_S = 60  # a ray start on a loaded 2-core machine
RUN_S = 60  # what the issue allows for a clear error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to ``ray start --block`` (it stops what it started), then SIGKILL to whatever of its
    process group is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``ray start --block ARGS``, returned once it says it is up (or the test fails)."""
    with open(log, "w") as out:
        process = subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1", "--num-cpus=1", *args], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_S
    while "block forever" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"ray start {' '.join(args)} did not come up within {START_S} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[tuple[str, str, Path]]:
    """(address, token, scratch folder) of a head with token authentication and one joined node."""
    base = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths live below it
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    head_env = {**env, "HOME": str(base / "head")}
    (base / "head").mkdir()
    token = subprocess.run([RAY, "get-auth-token", "--generate"], env=head_env, capture_output=True, text=True,
                           timeout=START_S, check=True).stdout.strip()
    assert len(token) == 64 and (base / "head" / ".ray" / "auth_token").read_text() == token
    address = f"127.0.0.1:{_free_port()}"
    started: list[subprocess.Popen] = []
    try:
        started.append(_ray_start(["--head", f"--port={address.rpartition(':')[2]}", "--include-dashboard=false",
                                   f"--temp-dir={base / 'ray'}"],
                                  {**head_env, "RAY_AUTH_MODE": "token"}, base / "head.log"))
        (base / "node").mkdir()
        started.append(_ray_start([f"--address={address}"], {**env, "HOME": str(base / "node"),
                                                              "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
                                  base / "node.log"))
        yield address, token, base
    finally:
        for process in reversed(started):
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)


def _asdbench(base: Path, data: Path, address: str, **auth: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(base / "driver"), ASDBENCH_HOME=str(base / "driver" / "asdbench"), **auth)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "asdbench", "run", "--executor", "ray", "--address", address,
                           "--data", str(data), "--out", str(base / "runs"), "--name", "r", "--device", "cuda"],
                          env=env, capture_output=True, text=True, timeout=RUN_S + 30)
    return done, time.monotonic() - started


def test_a_token_cluster_refuses_a_driver_without_its_token_and_says_what_to_set(token_cluster, tiny_synthetic):
    address, token, base = token_cluster
    fix = ("copy the head node's ~/.ray/auth_token here, or set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH); "
           "`ray get-auth-token` on the head prints it")

    none, seconds = _asdbench(base, tiny_synthetic, address)
    assert none.returncode == 2 and seconds < RUN_S, (seconds, none.stderr[-2000:])
    assert none.stderr.splitlines()[-1] == (
        f"Error: --address {address}: authentication refused; the cluster requires a token (Ray 2.60's "
        "`ray start --head` turns token authentication on when the head has ~/.ray/auth_token) and this process "
        f"sends none: export RAY_AUTH_MODE=token and {fix}")
    assert "Traceback" not in none.stderr

    wrong, seconds = _asdbench(base, tiny_synthetic, address, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64)
    assert wrong.returncode == 2 and seconds < RUN_S, (seconds, wrong.stderr[-2000:])
    assert wrong.stderr.splitlines()[-1] == (
        f"Error: --address {address}: authentication refused; the cluster refused this process's token: use the "
        f"head node's token ({fix})")

    # the recipe's driver environment gets in: the request is checked against both nodes
    right, seconds = _asdbench(base, tiny_synthetic, address, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    assert right.returncode == 2 and seconds < RUN_S, (seconds, right.stderr[-2000:])
    last = right.stderr.splitlines()[-1]
    assert last.startswith(f"Error: --device cuda: the Ray cluster at --address {address} has no GPUs ("), last
    assert last.count(": 1 CPUs, 0 GPUs") == 2, last
    assert not (base / "runs").exists()
