"""``asdbench run``: train and score systems x seeds, then print the leaderboard."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigError
from ..results.layout import RUN_FILE
from ..runner.config import DEFAULT_THREADS
from .completion import complete_backends, complete_datasets, complete_systems
from .options import GreedyCommand


def _parse_seeds(value: str | None) -> list[int] | None:
    """``--seeds 3`` means seeds 0,1,2; ``--seeds 4,7,9`` lists them."""
    if value is None:
        return None
    try:
        if "," in value:
            return [int(v) for v in value.split(",") if v.strip()]
        count = int(value)
    except ValueError:
        raise ConfigError(f"--seeds: expected a count or a comma-separated list of integers, got {value!r}") from None
    if count < 1:
        raise ConfigError(f"--seeds must be >= 1, got {count}")
    return list(range(count))


@click.command(cls=GreedyCommand, greedy=("--ssl", "--backend"))
@click.option("--ssl", "systems", multiple=True, metavar="SPEC...", shell_complete=complete_systems,
              help="Systems to train, one leaderboard row each, e.g. `--ssl baseline featex regular+featex`. "
                   "Default: baseline combined.")
@click.option("--seeds", help="Number of seeds (0..N-1) or a comma-separated list. Default 1.")
@click.option("--preset", type=click.Choice(["quick", "paper"]), help="Synthetic data preset. Default quick.")
@click.option("--data", type=click.Path(path_type=Path), help="Root of a DCASE dataset on disk (default: the embedded synthetic dataset).")
@click.option("--dataset", shell_complete=complete_datasets, help="Dataset plugin name (synthetic, dcase, dcase2020 ... dcase2025).")
@click.option("--data-seed", type=int, help="Seed of the synthetic data and of the DCASE2023 random crops. Default 0.")
@click.option("--train-from-test", type=float, help="Move this fraction of normal test clips to training (test-only data).")
@click.option("--epochs", type=int, help="Training epochs. Default 10.")
@click.option("--init-weights", type=click.Path(path_type=Path),
              help="Start from these embedder weights: .npz in the Keras key scheme of the author's code "
                   "(docs/fidelity.md) or a trial's weights.pt. With --epochs 0 the run only extracts and scores.")
@click.option("--batch-size", type=int, help="Default 64.")
@click.option("--lr", type=float, help="Adam learning rate. Default 1e-3.")
@click.option("--embedder", help="Embedder plugin. Default two-branch.")
@click.option("--loss", help="Loss plugin for the heads. Default sub-cluster-adacos.")
@click.option("--backend", "backends", multiple=True, metavar="NAME...", shell_complete=complete_backends, help="Back-end(s) scoring the embeddings. Default kmeans.")
@click.option("--device", help="auto, cpu or cuda. Default auto.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16", "auto"]), help="Training precision. Default fp32.")
@click.option("--low-memory", is_flag=True, default=None,
              help="Under glibc's malloc, free host memory after every step: 1-2 GB less peak RSS at the "
                   "paper preset, ~1.5x slower steps on CPU. No effect under jemalloc or tcmalloc (the default "
                   "where installed), which need less memory anyway.")
@click.option("--threads", type=int,
              help="Intra-op threads of one trial, on every executor. Changes numbers (float reductions), so "
                   f"it is part of the experiment. Default {DEFAULT_THREADS}.")
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Where trials run. Default local.")
@click.option("--workers", type=int, help="Parallel local processes, --threads threads each. Default 1.")
@click.option("--address", help="Ray cluster address for --executor ray (default: RAY_ADDRESS, else a new local Ray).")
@click.option("--cpus-per-trial", type=int,
              help="Ray: CPUs one trial holds. Default --threads on CPUs; with --device cuda the smallest "
                   "CPUs/GPUs of the GPU nodes (one trial per GPU).")
@click.option("--max-retries", type=int,
              help="Ray: re-run a trial whose worker died (preemptible nodes) up to N times, from its last "
                   "epoch checkpoint. Default 0.")
@click.option("--trial-timeout", type=float, help="Ray: stop a trial that runs longer than this many seconds.")
@click.option("--ray-runtime-env", "ray_runtime_env", type=click.Path(path_type=Path),
              help="Ray: JSON or YAML runtime environment for the workers (working_dir, py_modules, pip, env_vars).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML experiment file; command-line options override it.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True, help="Folder that holds run directories.")
@click.option("--name", help="Run directory name inside --out. Default run-<timestamp>.")
@click.option("--resume", is_flag=True, help="Continue the run --out/--name (default: the newest run in --out); finished trials are kept. "
                   "--ssl and --seeds add systems and seeds; other options must match the run; changed data is refused.")
@click.option("--format", "fmt", type=click.Choice(["plain", "github", "latex", "csv", "json"]), default="plain", show_default=True,
              help="Leaderboard format printed at the end.")
@click.option("--metric", "metrics", multiple=True,
              help="Leaderboard metric (repeatable), as `asdbench compare --metric`. Default: the official score "
                   "and its parts (AUC source, AUC target, pAUC) per split.")
@click.option("--split", "splits", multiple=True, type=click.Choice(["dev", "eval"]),
              help="Leaderboard: only these splits (repeatable).")
@click.option("--by", type=click.Choice(["machine"]), default=None, help="Leaderboard: one row per machine type and system.")
@click.option("--tensorboard", is_flag=True, default=None,
              help="Also write the training curves as TensorBoard logs to RUN/tensorboard (needs tensorboard).")
@click.option("--quiet", "-q", is_flag=True, help="No progress: only failures, skipped finished trials and the leaderboard.")
@click.option("--verbose", "-v", is_flag=True,
              help="One line per epoch (loss, run ETA) even on a terminal, above the bars.")
@click.option("--resample", is_flag=True, default=None,
              help="Resample clips at another sample rate to the dataset's (DCASE folders; TOML: dataset_options).")
@click.option("--strict-data", is_flag=True, default=None,
              help="Any skipped or unreadable data file is an error (TOML: strict_data = true).")
@click.option("--dry-run", is_flag=True, help="Check everything, print the resolved experiment and exit; writes nothing.")
def run(systems, seeds, preset, data, dataset, data_seed, train_from_test, epochs, init_weights, batch_size, lr, embedder, loss,
        backends, device, precision, low_memory, threads, executor, workers, address, cpus_per_trial, max_retries,
        trial_timeout, ray_runtime_env, config_file, out, name, resume, fmt, metrics, splits, by, tensorboard, quiet, verbose, resample, strict_data,
        dry_run) -> None:
    """Train and evaluate systems x seeds and print a leaderboard.

    With no options: the baseline and the proposed approach (combined), one seed, on the embedded
    synthetic dataset (quick preset).
    """
    from ..reports.leaderboard import check_metrics
    from ..runner.config import given_values, make_config, resume_config
    from ..runner.execute import execute
    from ..runner.orchestrator import default_run_name
    from ..runner.preflight import check_run_name, plan_run
    from ..runner.processes import RunInterrupted
    from ..runner.resume import load_stored_config
    from .leaderboard_output import print_leaderboard

    check_run_name(name)
    check_metrics(metrics)
    if quiet and verbose:
        raise ConfigError("--quiet and --verbose contradict each other: use one")
    overrides = {
        "systems": list(systems) or None, "seeds": _parse_seeds(seeds), "preset": preset,
        "data": str(data.resolve()) if data else None, "dataset": dataset, "data_seed": data_seed,
        "train_from_test": train_from_test, "epochs": epochs, "batch_size": batch_size, "lr": lr,
        "init_weights": str(init_weights.resolve()) if init_weights else None, "embedder": embedder, "loss": loss, "backends": list(backends) or None, "device": device,
        "precision": precision, "low_memory": low_memory, "threads": threads, "executor": executor,
        "workers": workers, "address": address, "cpus_per_trial": cpus_per_trial, "max_retries": max_retries,
        "trial_timeout": trial_timeout,
        "ray_runtime_env": _runtime_env(ray_runtime_env), "strict_data": strict_data,
        "tensorboard": tensorboard,
    }
    if resume:
        run_dir = out / name if name else _newest_run(out)
        stored = load_stored_config(run_dir)
        given = given_values(config_file, overrides)
        if resample:
            given["dataset_options"] = {**stored.dataset_options, "resample": True}
        config = resume_config(stored, given)
    else:
        config = make_config(config_file, overrides)
        if resample:
            config.dataset_options = {**config.dataset_options, "resample": True}
        run_dir = out / (name or default_run_name())
    plan = plan_run(config, run_dir, resume)
    if dry_run:
        click.echo(plan.describe(), nl=False)
        click.echo(f"dry run: nothing written (the run directory would be {run_dir})", err=True)
        return
    click.echo(f"run directory: {run_dir}", err=True)
    try:
        outcome = execute(config, run_dir, resume=resume, show_progress=not quiet, plan=plan, verbose=verbose)
    except RunInterrupted as exc:
        click.echo(f"interrupted by {exc}: run and unfinished trials marked 'interrupted' in {run_dir / RUN_FILE}; "
                   f"resume with: asdbench run --resume --out {out} --name {run_dir.name}", err=True)
        sys.exit(exc.exit_code)
    if outcome.results.empty:
        click.echo(f"no trial finished: {len(outcome.failed)} trial(s) failed (details in {run_dir / RUN_FILE})", err=True)
        for key, error in outcome.errors.items():
            click.echo(f"  {key}: {error}", err=True)
        sys.exit(1)
    print_leaderboard([run_dir], fmt, metrics=metrics, by_machine=by == "machine", splits=splits)
    if outcome.failed:
        click.echo(f"{len(outcome.failed)} trial(s) failed: {', '.join(outcome.failed)} (details in {run_dir / RUN_FILE})", err=True)
        sys.exit(1)


def _runtime_env(path: Path | None) -> dict | None:
    if path is None:
        return None
    from ..runner.ray_env import load_runtime_env

    return load_runtime_env(path)


def _newest_run(out: Path) -> Path:
    runs = sorted((p for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise ConfigError(f"--resume: no run directory with a run.json in {out}")
    return runs[-1].parent
