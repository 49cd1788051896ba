"""Where trials run: in this process, in parallel local processes, or as Ray tasks.

Every executor calls the same :func:`run_trial` and writes into the same run directory, so
``--resume`` and the results do not depend on the executor. A worker that crashes or is lost
fails only its own trial: ``--workers N`` gives every trial its own spawned process (a
``ProcessPoolExecutor`` would mark all pending trials broken when one worker dies), and Ray
tasks run with ``max_retries=0`` so a crashed worker is reported, not silently re-run.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import RunConfig
from .trial import Trial, run_trial, set_threads, torch_threads_for

OnDone = Callable[[Trial, dict[str, Any]], None]

# Environment variables a worker needs to see the same caches and plugins as the driver.
FORWARDED_ENV = ("ASDBENCH_HOME", "ASDBENCH_LOAD_PLUGINS")
# A local Ray instance only passes small records around: no need for Ray's default object store
# (30% of RAM in shared memory).
LOCAL_RAY_OBJECT_STORE_BYTES = 128 * 1024**2


def _failure(trial: Trial, reason: str) -> dict[str, Any]:
    return {"system": trial.system, "seed": trial.seed, "status": "failed",
            "error": f"worker lost: {reason}", "timings": {}}


def _process_worker(config: dict[str, Any], trial: Trial, run_dir: str, threads: int) -> dict[str, Any]:
    set_threads(threads)
    return run_trial(RunConfig(**config), trial, Path(run_dir))


def _process_main(conn: Connection, config: dict[str, Any], trial: Trial, run_dir: str, threads: int) -> None:
    """Entry point of one trial's process: run it and send the record back."""
    try:
        conn.send(_process_worker(config, trial, run_dir, threads))
    finally:
        conn.close()


def run_processes(config: RunConfig, trials: Iterable[Trial], run_dir: Path, on_done: OnDone) -> None:
    """``--workers N``: at most N trials at once, each in its own spawned process (no forked
    torch state), the machine's cores split evenly between them."""
    threads = torch_threads_for(config.workers)
    context = multiprocessing.get_context("spawn")
    pending = list(trials)
    running: dict[Connection, tuple[Any, Trial]] = {}
    while pending or running:
        while pending and len(running) < config.workers:
            trial = pending.pop(0)
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_process_main, args=(sender, config.to_dict(), trial, str(run_dir), threads),
                                      name=f"asdbench-trial-{trial.key}")
            process.start()
            sender.close()  # the child now holds the only writing end: EOF here when it dies
            running[receiver] = (process, trial)
        # Readable = the record arrived, or EOF because the process died without sending one.
        for receiver in wait(list(running)):
            process, trial = running.pop(receiver)  # type: ignore[call-overload]
            record = _receive(receiver)  # type: ignore[arg-type]
            process.join()
            if record is None:
                record = _failure(trial, f"process exited with code {process.exitcode} before reporting a result")
            on_done(trial, record)


def _receive(receiver: Connection) -> dict[str, Any] | None:
    try:
        return receiver.recv()
    except (EOFError, OSError):
        return None
    finally:
        receiver.close()


# -- Ray ---------------------------------------------------------------------------------------

def _describe(exc: BaseException) -> str:
    """``Type: first line of the message`` (Ray's messages go on for pages)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__

def _ray_resources(config: RunConfig, ray: Any) -> tuple[int, int]:
    """(CPUs, GPUs) one trial asks for. ``--device auto`` asks for a GPU when the cluster has any
    (Ray hides GPUs from tasks that did not ask for one)."""
    total = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus_per_node = max((int(n.get("Resources", {}).get("CPU", 0)) for n in nodes), default=os.cpu_count() or 1)
    cpus = max(1, cpus_per_node // max(1, config.workers))
    wants_gpu = config.device.startswith("cuda") or (config.device == "auto" and total.get("GPU", 0) >= 1)
    return cpus, 1 if wants_gpu else 0


def run_ray(config: RunConfig, trials: Iterable[Trial], run_dir: Path, on_done: OnDone) -> None:
    """``--executor ray``: one Ray task per trial on the cluster at ``--address`` (or a new local
    instance, shut down at the end).

    Each task asks for ``CPUs per node // --workers`` CPUs (so ``--workers`` trials share a node)
    and one GPU with ``--device cuda`` (or ``auto`` on a cluster with GPUs). The run directory
    and the clip cache (``ASDBENCH_HOME``) must be on a file system every node sees."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray: Ray is not installed (pip install 'asdbench[ray]')") from None
    trials = list(trials)
    if not trials:  # e.g. --resume of a finished run: nothing to start a cluster for
        return
    # Workers of a local instance we start inherit our environment; a remote cluster gets the
    # variables as the job's runtime environment, a Ray someone else started as the tasks'.
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    task_env: dict[str, Any] | None = None
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if config.address is None:
            options["object_store_memory"] = LOCAL_RAY_OBJECT_STORE_BYTES
        elif env:
            options["runtime_env"] = {"env_vars": env}
        try:
            ray.init(address=config.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = config.address or "a local instance"
            raise ConfigError(f"--executor ray: cannot start or reach Ray at {where} ({exc})") from None
    elif env:
        task_env = {"env_vars": env}
    try:
        cpus, gpus = _ray_resources(config, ray)
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0,
                          runtime_env=task_env)(_process_worker)
        refs = {task.remote(config.to_dict(), t, str(run_dir.resolve()), cpus): t for t in trials}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                trial = refs[ref]
                try:
                    record = ray.get(ref)
                except Exception as exc:  # RayTaskError, WorkerCrashedError, node lost, ...
                    record = _failure(trial, _describe(exc))
                on_done(trial, record)
    finally:
        if started_here:
            ray.shutdown()
