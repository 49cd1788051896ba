"""Where trials run: in this process, in parallel local processes, or as Ray tasks.

Every executor calls the same :func:`run_trial` and writes into the same run directory, so
``--resume`` and the results do not depend on the executor. A worker that crashes or is lost
fails only its own trial.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import RunConfig
from .trial import Trial, run_trial, set_threads, torch_threads_for

OnDone = Callable[[Trial, dict[str, Any]], None]


def _failure(trial: Trial, exc: BaseException) -> dict[str, Any]:
    return {"system": trial.system, "seed": trial.seed, "status": "failed",
            "error": f"worker lost: {type(exc).__name__}: {exc}", "timings": {}}


def _process_worker(config: dict[str, Any], trial: Trial, run_dir: str, threads: int) -> dict[str, Any]:
    set_threads(threads)
    return run_trial(RunConfig(**config), trial, Path(run_dir))


def run_processes(config: RunConfig, trials: Iterable[Trial], run_dir: Path, on_done: OnDone) -> None:
    """``--workers N``: N local processes (spawned, so no forked torch state), cores split evenly."""
    threads = torch_threads_for(config.workers)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=config.workers, mp_context=context) as pool:
        futures = {pool.submit(_process_worker, config.to_dict(), t, str(run_dir), threads): t for t in trials}
        for future in cf.as_completed(futures):
            trial = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # BrokenProcessPool and friends
                record = _failure(trial, exc)
            on_done(trial, record)


def run_ray(config: RunConfig, trials: Iterable[Trial], run_dir: Path, on_done: OnDone) -> None:
    """``--executor ray``: one Ray task per trial on the cluster at ``--address`` (or a local one).

    Each task asks for ``ray_num_cpus`` CPUs (default: all of a local machine's cores / workers)
    and one GPU when ``--device cuda``. The run directory must be on a file system that every
    node sees (as for any shared experiment folder)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray: Ray is not installed (pip install 'asdbench[ray]')") from None
    if not ray.is_initialized():
        ray.init(address=config.address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    threads = torch_threads_for(config.workers)
    num_gpus = 1 if config.device.startswith("cuda") else 0
    task = ray.remote(num_cpus=threads, num_gpus=num_gpus, max_retries=0)(_process_worker)
    refs = {task.remote(config.to_dict(), t, str(run_dir), threads): t for t in trials}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            trial = refs[ref]
            try:
                record = ray.get(ref)
            except Exception as exc:  # RayTaskError, WorkerCrashedError, node lost, ...
                record = _failure(trial, exc)
            on_done(trial, record)
