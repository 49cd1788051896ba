"""Connecting to Ray for ``--executor ray``: fast, with a reason, before any run directory exists.

Ray's own connection loop retries an unreachable or unauthorised address for minutes with no
message a user can act on. So the address is probed first: a TCP connection (seconds), then one
request to the head's GCS (which answers an authentication failure at once). Only then does
``ray.init`` connect, and the cluster's nodes are checked against what a trial will ask for
(``ray_resources``). The address is ``--address``, else ``RAY_ADDRESS`` (what ``ray job submit``
sets), else a new local instance on 127.0.0.1 that lives as long as the run.

While connected, stdout is the terminal's stderr: Ray prints worker output (``log_to_driver``)
and some of its own lines to stdout, which must hold nothing but asdbench's own output (the
leaderboard, ``--format json``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .config import RunConfig
from .ray_env import job_runtime_env
from .ray_resources import NodeInfo, TaskResources, alive_nodes, check_feasible, plan_line

CONNECT_TIMEOUT_S = 15.0
DEFAULT_GCS_PORT = 6379
DEFAULT_CLIENT_PORT = 10001
# A local Ray instance only passes small records around: no need for Ray's default object store
# (30% of RAM in shared memory).
LOCAL_RAY_OBJECT_STORE_BYTES = 128 * 1024**2


@dataclass
class RaySession:
    """A connection to Ray that a run submits its trials through."""

    ray: Any
    where: str  # how the user named the cluster, for messages: "--address H:P", "RAY_ADDRESS=H:P", ...
    address: str | None  # None: a local instance started for this run
    nodes: list[NodeInfo]
    request: TaskResources
    task_env: dict[str, Any] | None = None  # runtime env per task when someone else connected
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What run.json records about the cluster of one execution."""
        return {"address": self.address or "local instance", "ray": getattr(self.ray, "__version__", "?"),
                "nodes": [vars(n) for n in self.nodes],
                "task": {"cpus": self.request.cpus, "gpus": self.request.gpus}, **self.extra}


def cluster_address(config: RunConfig) -> tuple[str | None, str]:
    """(address, how it was given): ``--address``, else ``RAY_ADDRESS``, else a new local instance."""
    if config.address:
        return config.address, f"--address {config.address}"
    env = os.environ.get("RAY_ADDRESS")
    if env:
        return env, f"RAY_ADDRESS={env}"
    return None, "a new local Ray instance"


def _host_port(address: str) -> tuple[str, int, bool]:
    """(host, port, is Ray Client) of ``HOST[:PORT]`` or ``ray://HOST[:PORT]``."""
    client = address.startswith("ray://")
    rest = address[len("ray://"):] if client else address
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    try:
        number = int(port) if port else (DEFAULT_CLIENT_PORT if client else DEFAULT_GCS_PORT)
    except ValueError:
        raise ConfigError(f"--address {address}: expected HOST:PORT (or ray://HOST:PORT)") from None
    if not host:
        raise ConfigError(f"--address {address}: expected HOST:PORT (or ray://HOST:PORT)")
    return host.strip("[]"), number, client


def auth_hint() -> str:
    """What to do about a refused token, for this process's authentication settings."""
    where = ("copy the head node's ~/.ray/auth_token here, or set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH); "
             "`ray get-auth-token` on the head prints it")
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return ("the cluster requires a token (Ray 2.60's `ray start --head` turns token authentication on when "
                f"the head has ~/.ray/auth_token) and this process sends none: export RAY_AUTH_MODE=token and {where}")
    return f"the cluster refused this process's token: use the head node's token ({where})"


def probe(address: str, where: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a ConfigError within ``timeout`` seconds unless a Ray head answers at ``address``."""
    if address in ("auto", "local"):
        return  # Ray looks these up itself, on this machine
    host, port, client = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise ConfigError(f"{where}: no Ray head node answers at {host}:{port} ({reason} after at most "
                          f"{timeout:.0f} s); start one with `ray start --head --port={port}` or check the "
                          "address and the firewall") from None
    if not client:
        _probe_gcs(f"{host}:{port}", where, timeout)


def _probe_gcs(address: str, where: str, timeout: float) -> None:
    try:
        from ray._raylet import GcsClient  # one GCS request; ray.init would retry for minutes
        from ray.exceptions import AuthenticationError
    except ImportError:  # another Ray version: let ray.init find out
        return
    outcome: dict[str, BaseException | None] = {}

    def ask() -> None:
        try:
            GcsClient(address=address)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    worker = threading.Thread(target=ask, daemon=True, name="asdbench-ray-probe")
    worker.start()
    worker.join(timeout)
    if "error" not in outcome:
        raise ConfigError(f"{where}: {address} accepts connections but no Ray GCS answered within {timeout:.0f} s "
                          "(is it the head node's --port?)")
    error = outcome["error"]
    if isinstance(error, AuthenticationError):
        raise ConfigError(f"{where}: authentication refused; {auth_hint()}")
    if error is not None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{where}: {address} does not answer as a Ray head node ({first})")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 and ``sys.stdout`` point at stderr (Ray's threads and child processes
    included) until the block ends."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def ray_session(config: RunConfig, report: Any = None) -> Iterator[RaySession]:
    """Connect (or start a local instance), check the cluster against the trials' request, and
    yield the session; disconnect (or stop the instance) at the end. Raises a ConfigError, before
    anything else happens, when Ray is missing, the cluster unreachable or the request infeasible."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray: Ray is not installed (pip install 'asdbench[ray]')") from None
    env = job_runtime_env(config.ray_runtime_env)
    with stdout_to_stderr():
        if ray.is_initialized():  # a Python caller connected already: use its connection as is
            nodes = alive_nodes(ray.nodes())
            request = check_feasible(config, nodes, "the connected Ray cluster")
            yield RaySession(ray, "the connected Ray cluster", "connected by the caller", nodes, request,
                             task_env=env or None)
            return
        address, where = cluster_address(config)
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, "runtime_env": env or None}
        if address is None:
            options.update(address="local", object_store_memory=LOCAL_RAY_OBJECT_STORE_BYTES,
                           _node_ip_address="127.0.0.1")
        else:
            probe(address, where)
            options["address"] = address
        try:
            ray.init(**options)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError, AuthenticationError, ...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"--executor ray: cannot start or reach Ray at {where} ({first})") from None
        try:
            nodes = alive_nodes(ray.nodes())
            request = check_feasible(config, nodes, where)
            if report is not None:
                report(plan_line(request, nodes))
            yield RaySession(ray, where, address, nodes, request)
        finally:
            ray.shutdown()
