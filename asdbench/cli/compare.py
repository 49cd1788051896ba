"""``asdbench compare``: leaderboards (mean ± std over seeds) and paired comparisons of runs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError, DataError
from ..reports.formatting import FORMATS, terminal_width
from ..results.run_state import RunState, read_run_state
from .evaluate import emit


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="plain", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["machine"]),
    default=None,
    help="One row per machine type and system.",
)
@click.option(
    "--backend", default=None, help="Only this back-end's results [default: all, labelled]."
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Aggregate metric to show (repeatable), e.g. hmean_auc, amean_f1, official_score, or a "
    "preset: 'official' (default: hmean_auc, hmean_pauc, official_score) or 'paper' "
    "(the domain-only selections of the paper's Table 1).",
)
@click.option("--split", "splits", multiple=True, help="Only these splits (repeatable).")
@click.option(
    "--layout",
    type=click.Choice(["systems", "paper"]),
    default="systems",
    show_default=True,
    help="systems: one row per system; paper: the paper's Table 1 (dataset/split/domain/metric "
    "rows, systems as columns; default metrics: the paper's domain-only AUC and pAUC).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="--layout paper: the paper's numbers (CSV dataset,split,domain,system,metric,mean,std in %) "
    "next to ours [default: the [paper] reference_csv of the run's experiment file].",
)
@click.option(
    "--reference-dataset",
    default=None,
    metavar="NAME",
    help="--layout paper: hold our runs against this dataset of the reference (e.g. DCASE2023 "
    "for a synthetic run) [default: the run's own dataset].",
)
@click.option(
    "--paired",
    nargs=2,
    default=None,
    metavar="A B",
    help="Paired difference A - B over matched seeds, with t and bootstrap 95% CIs.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(100, None),
    default=10000,
    show_default=True,
    help="Bootstrap resamples for --paired.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--cumulative-ensemble",
    is_flag=True,
    help="Score seed k as the ensemble of the first k seeds, as the author's script did "
    "2023-07-31 .. 2024-03-12 (docs/fidelity.md); the output says so.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout."
)
@click.option("--strict", is_flag=True, help="An incomplete run or one with failed trials is an error.")
def compare(
    run_dirs: tuple[Path, ...],
    fmt: str,
    by: str | None,
    backend: str | None,
    metrics: tuple[str, ...],
    splits: tuple[str, ...],
    layout: str,
    reference: Path | None,
    reference_dataset: str | None,
    paired: tuple[str, str] | None,
    n_boot: int,
    seed: int,
    cumulative_ensemble: bool,
    out: Path | None,
    strict: bool,
) -> None:
    """Leaderboard of the systems in RUN_DIR... (each with a results.csv).

    A run that is incomplete or has failed trials gets a line under the table (a ``run_state``
    field in JSON); ``--strict`` makes it an error."""
    from ..reports.leaderboard import build_leaderboard, render_leaderboard
    from ..reports.paired import compare_paired, render_paired
    from ..results.runs import config_differences, load_runs

    if layout != "paper" and (reference is not None or reference_dataset is not None):
        raise ConfigError("--reference and --reference-dataset need --layout paper")
    if layout == "paper" and (paired or by):
        raise ConfigError("--layout paper does not combine with --paired or --by")
    states = incomplete_runs(run_dirs, strict)
    runs = load_runs(list(run_dirs))
    differences = config_differences(runs)
    if differences:
        click.echo(
            f"Warning: these runs differ in {'; '.join(differences)}: their rows are shown apart "
            "(labelled with the run) and are not one experiment",
            err=True,
        )
    note = ""
    if cumulative_ensemble:
        from ..reports.cumulative import NOTE, cumulative_results

        runs = [cumulative_results(run) for run in runs]
        if fmt in ("csv", "json"):
            click.echo(f"note: {NOTE}", err=True)
        else:
            note = f"{'% ' if fmt == 'latex' else ''}{NOTE}\n"
    if layout == "paper":
        emit(note + paper_text(runs, fmt, metrics, backend, splits, reference, reference_dataset), out)
        return
    options = dict(
        metrics=metrics or None, by_machine=by == "machine", backend=backend, splits=splits or None
    )
    if paired:
        a, b = paired
        results = compare_paired(runs, a, b, n_boot=n_boot, seed=seed, **options)
        emit(with_run_states(note + render_paired(results, a, b, fmt), fmt, states), out)
        return
    board = build_leaderboard(runs, **options)
    emit(with_run_states(note + render_leaderboard(board, fmt, width=terminal_width()), fmt, states), out)


def paper_text(
    runs: list,
    fmt: str,
    metrics: tuple[str, ...],
    backend: str | None,
    splits: tuple[str, ...],
    reference: Path | None,
    reference_dataset: str | None,
) -> str:
    """``--layout paper``: the table, with the reference given or configured (notes to stderr)."""
    from ..reports.paper_layout import (
        build_paper_table,
        configured_reference,
        read_reference,
        render_paper_table,
    )

    notes: list[str] = []
    if reference is None:
        reference, notes = configured_reference(runs)
        ref = read_reference(reference, "[paper] reference_csv") if reference else None
    else:
        ref = read_reference(reference)
    if reference_dataset is not None and ref is None:
        raise ConfigError("--reference-dataset needs a reference table (--reference FILE)")
    table = build_paper_table(
        runs,
        metrics=metrics or None,
        backend=backend,
        splits=splits or None,
        reference=ref,
        reference_dataset=reference_dataset,
    )
    for note in notes + table.notes:
        click.echo(f"Note: {note}", err=True)
    return render_paper_table(table, fmt, width=terminal_width())


def incomplete_runs(run_dirs: tuple[Path, ...], strict: bool) -> list[RunState]:
    """The runs that are not complete; with ``strict`` an error naming them."""
    states = [state for state in map(read_run_state, run_dirs) if not state.complete]
    if strict and states:
        raise DataError("--strict: " + "; ".join(state.describe() for state in states))
    return states


def with_run_states(text: str, fmt: str, states: list[RunState]) -> str:
    """``text`` with a line per incomplete run under the table; JSON gets a ``run_state`` field
    per record of such a run; CSV stays parseable (the lines go to stderr)."""
    if not states:
        return text
    if fmt == "json":
        records = json.loads(text)
        by_name = {state.path.resolve().name: state for state in states}
        for record in records if isinstance(records, list) else []:
            state = by_name.get(str(record.get("run", "")).split("#")[0]) if isinstance(record, dict) else None
            if state is not None:
                record["run_state"] = state.to_dict()
        return json.dumps(records, indent=2) + "\n"
    lines = [f"Note: {state.describe()}" for state in states]
    if fmt == "csv":
        for line in lines:
            click.echo(line, err=True)
        return text
    return text + "".join(f"{line}\n" for line in lines)
