"""``asdbench run``: train and score systems x seeds, then print the leaderboard."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ..results.layout import RUN_FILE
from ..runner.config import Option, RunConfig, flag_of
from .completion import complete_backends, complete_datasets, complete_systems
from .options import GreedyCommand

_COMPLETERS = {"systems": complete_systems, "backends": complete_backends, "datasets": complete_datasets}
_TYPES = {int: int, float: float, str: str}


def _default_text(f: dataclasses.Field, opt: Option) -> str | None:
    if opt.default_text is not None:
        return opt.default_text
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
    if default is None or isinstance(default, bool):
        return None
    return " ".join(map(str, default)) if isinstance(default, list) else str(default)


def _config_option(f: dataclasses.Field, hint: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click option of one RunConfig field, from its metadata (:class:`Option`)."""
    opt: Option = f.metadata["cli"]
    flag = flag_of(f.name)
    default = _default_text(f, opt)
    text = opt.help + (f" Default: {default}." if default else "")
    kwargs: dict[str, Any] = {"help": text}
    base = typing.get_args(hint)[0] if typing.get_origin(hint) in (list, types.UnionType, typing.Union) else hint
    if hint is bool:
        kwargs.update(is_flag=True, default=None)
    elif typing.get_origin(hint) is list and opt.parse is None:
        kwargs.update(multiple=True)
    elif opt.path:
        kwargs.update(type=click.Path(path_type=Path))
    elif opt.choices:
        kwargs.update(type=click.Choice(list(opt.choices)))
    elif opt.parse is None and base in _TYPES:
        kwargs.update(type=_TYPES[base])
    if opt.metavar:
        kwargs["metavar"] = opt.metavar
    if opt.complete:
        kwargs["shell_complete"] = _COMPLETERS[opt.complete]
    return click.option(flag, f.name, **kwargs)


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every RunConfig field with CLI metadata as an option, in the order of the fields."""
    hints = typing.get_type_hints(RunConfig)
    for f in reversed([f for f in dataclasses.fields(RunConfig) if "cli" in f.metadata]):
        command = _config_option(f, hints[f.name])(command)
    return command


def config_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Command-line values -> RunConfig overrides (None: not given): lists, absolute paths, parsed text."""
    overrides: dict[str, Any] = {}
    for f in dataclasses.fields(RunConfig):
        if "cli" not in f.metadata:
            continue
        opt: Option = f.metadata["cli"]
        value = values[f.name]
        if isinstance(value, tuple):
            value = list(value) or None
        if value is not None and opt.parse is not None:
            value = opt.parse(value)
        elif value is not None and opt.path:
            value = str(Path(value).resolve())
        overrides[f.name] = value
    return overrides


GREEDY = tuple(flag_of(f.name) for f in dataclasses.fields(RunConfig)
               if "cli" in f.metadata and (f.metadata["cli"].metavar or "").endswith("..."))


@click.command(cls=GreedyCommand, greedy=GREEDY)
@config_options
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
@click.option("--quiet", "-q", is_flag=True, help="No progress: only failures, skipped finished trials and the leaderboard.")
@click.option("--verbose", "-v", is_flag=True,
              help="One line per epoch (loss, run ETA) even on a terminal, above the bars.")
@click.option("--resample", is_flag=True, default=None,
              help="Resample clips at another sample rate to the dataset's (DCASE folders; TOML: dataset_options).")
@click.option("--dry-run", is_flag=True, help="Check everything, print the resolved experiment and exit; writes nothing.")
def run(config_file, out, name, resume, fmt, metrics, splits, by, quiet, verbose, resample, dry_run, **options) -> None:
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
    overrides = config_overrides(options)
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


def _newest_run(out: Path) -> Path:
    runs = sorted((p for p in out.glob(f"*/{RUN_FILE}")), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise ConfigError(f"--resume: no run directory with a run.json in {out}")
    return runs[-1].parent
