"""Leaderboards: mean ± std over seeds of aggregate metrics, one row per system (and ensemble).

Rows are (run, system, back-end, trial) where trial is ``seeds`` (all integer seeds together) or
``ensemble``; nothing here names a system or back-end, so any new row kind (another trial name)
shows up as it is. Columns are split x domain x metric. The default view is the official score
of each split and its parts (harmonic means over sections of AUC source, AUC target and pAUC);
with explicit metrics every domain they exist on is shown, the official score first. The std is
the population std (``ddof=0``), as the reference code's ``np.std``. ``by_machine`` gives one row
per (split, machine type, system) instead, from the per-machine aggregates.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..results.layout import ENSEMBLE
from ..results.runs import RunResults, config_differences
from ..scoring.metrics import ALL, MIXED, SECTION_METRICS
from .formatting import (
    DECIMALS,
    ColumnGroup,
    mean_std,
    render_records,
    render_text_table,
)

__all__ = [
    "DEFAULT_METRICS",
    "METRIC_PRESETS",
    "RowKey",
    "Column",
    "Cell",
    "Row",
    "Leaderboard",
    "KNOWN_METRICS",
    "check_metrics",
    "expand_metrics",
    "build_leaderboard",
    "render_leaderboard",
    "leaderboard_records",
    "leaderboard_text",
    "LEADERBOARD_RECORD_COLUMNS",
]

DEFAULT_METRICS = ("hmean_auc", "hmean_pauc", "official_score")
DEFAULT_VIEW = (
    ("mixed", "official_score"),
    ("source", "hmean_auc"),
    ("target", "hmean_auc"),
    ("mixed", "hmean_pauc"),
)
"""(domain, metric) columns per split without ``--metric``: the official score and its parts."""
METRIC_PRESETS: dict[str, tuple[str, ...]] = {
    "official": DEFAULT_METRICS,
    "paper": ("hmean_auc_domain_only", "hmean_pauc_domain_only", "official_score"),
}
SHORT_NAMES = {
    "hmean_auc": "AUC",
    "hmean_pauc": "pAUC",
    "hmean_auc_domain_only": "AUC (dom.)",
    "hmean_pauc_domain_only": "pAUC (dom.)",
    "amean_auc": "AUC (a-mean)",
    "amean_pauc": "pAUC (a-mean)",
    "official_score": "official",
    "official_score_ci95": "official ci95",
}
LOWER_IS_BETTER = {"official_score_ci95"}
SPLIT_ORDER = {"dev": 0, "eval": 1}
DOMAIN_ORDER = ("source", "target", MIXED)


@dataclass(frozen=True)
class RowKey:
    run: str
    system: str
    backend: str
    trial: str  # "seeds" or "ensemble"


@dataclass(frozen=True)
class Column:
    split: str | None  # None in by-machine tables (the split is part of the row)
    domain: str
    metric: str
    header: str  # unique in the table: "<split> <label>"
    label: str = ""  # the header without the split, for blocks of one split

    @classmethod
    def make(cls, split: str | None, domain: str, metric: str) -> Column:
        name = SHORT_NAMES.get(metric, metric)
        label = name if domain == MIXED and metric.startswith("official") else f"{domain} {name}"
        return cls(split, domain, metric, label if split is None else f"{split} {label}", label)


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    seeds: tuple[str, ...] = ()


EMPTY = Cell(float("nan"), float("nan"), 0)


@dataclass
class Row:
    key: RowKey
    label: str
    split: str | None
    machine: str
    cells: list[Cell] = field(default_factory=list)

    def n_text(self) -> str:
        ns = sorted({c.n for c in self.cells if c.n})
        if not ns:
            return "0"
        return str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"


@dataclass
class Leaderboard:
    columns: list[Column]
    rows: list[Row]
    by_machine: bool
    best: set[tuple[int, int]] = field(default_factory=set)


def _split_key(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.get(split, 2), split)


KNOWN_METRICS = frozenset(
    {f"{mean}_{m}" for mean in ("hmean", "amean") for m in SECTION_METRICS}
    | {"official_score", "official_score_ci95"}
)
"""Every aggregate metric name results.csv can hold (docs/metrics.md)."""


def check_metrics(requested: Sequence[str]) -> None:
    """Reject unknown ``--metric`` names before any work (``run`` checks them before training)."""
    for item in requested:
        if item not in METRIC_PRESETS and item not in KNOWN_METRICS:
            known = ", ".join(list(METRIC_PRESETS) + sorted(KNOWN_METRICS))
            raise ConfigError(f"--metric: unknown metric {item!r} (known: {known})")


def expand_metrics(requested: Sequence[str] | None) -> list[str]:
    """Metric names from ``--metric`` values; presets ``official`` and ``paper`` expand."""
    if not requested:
        return list(DEFAULT_METRICS)
    out: list[str] = []
    for item in requested:
        for name in METRIC_PRESETS.get(item, (item,)):
            if name not in out:
                out.append(name)
    return out


def _row_labels(keys: list[RowKey], runs_apart: bool = False) -> dict[RowKey, str]:
    """System names, prefixed with the run where one system comes from several runs or where
    the runs differ in config (``runs_apart``)."""
    runs_of: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        runs_of[k.system].add(k.run)
    several_runs = len({k.run for k in keys}) > 1
    backends = {k.backend for k in keys}
    labels = {}
    for k in keys:
        apart = len(runs_of[k.system]) > 1 or (runs_apart and several_runs)
        label = f"{k.run}/{k.system}" if apart else k.system
        if len(backends) > 1:
            label += f" [{k.backend}]"
        if k.trial == ENSEMBLE:
            label += " (ensemble)"
        labels[k] = label
    return labels


def _select(runs: Sequence[RunResults], backend: str | None) -> tuple[pd.DataFrame, list[RowKey]]:
    frames = [r.results for r in runs]
    frame = pd.concat(frames, ignore_index=True)
    if backend is not None:
        frame = frame[frame["backend"] == backend]
        if frame.empty:
            available = sorted(set(pd.concat(frames)["backend"]))
            raise ConfigError(
                f"--backend: no results for {backend!r} (available: {', '.join(available)})"
            )
    frame = frame[frame["section"] == ALL].copy()
    frame["trial"] = np.where(frame["seed"] == ENSEMBLE, ENSEMBLE, "seeds")
    keys: list[RowKey] = []
    for run in runs:
        part = frame[frame["run"] == run.name]
        backends = list(dict.fromkeys(part["backend"]))
        for system in run.systems:
            for be in backends:
                for trial in ("seeds", ENSEMBLE):
                    sel = (
                        (part["system"] == system)
                        & (part["backend"] == be)
                        & (part["trial"] == trial)
                    )
                    if sel.any():
                        keys.append(RowKey(run.name, system, be, trial))
    return frame, keys


CELL_KEY = ["run", "system", "backend", "trial", "split", "machine", "domain", "metric"]


def _cells(frame: pd.DataFrame) -> dict[tuple, Cell]:
    """Mean, population std, count and seeds of the finite values of every (row, column) key."""
    finite = frame[np.isfinite(frame["value"].to_numpy(dtype=float))]
    if finite.empty:
        return {}
    groups = finite.groupby(CELL_KEY, sort=False)
    values = groups["value"]
    return {
        key: Cell(float(mean), float(std), int(count), tuple(seeds))
        for key, mean, std, count, seeds in zip(
            values.mean().index,
            values.mean(),
            values.std(ddof=0),
            values.count(),
            groups["seed"].agg(tuple),
            strict=True,
        )
    }


def _columns(
    frame: pd.DataFrame, metrics: list[str] | None, splits: list[str], by_machine: bool
) -> list[Column]:
    present = set(zip(frame["split"], frame["domain"], frame["metric"], strict=True))
    available = sorted(set(frame["metric"]))
    for m in metrics or ():
        if m not in available:
            raise ConfigError(
                f"--metric: no aggregate metric {m!r} in the results (available: {', '.join(available)})"
            )
    if metrics is None:
        wanted = list(DEFAULT_VIEW)
    else:
        official = [(MIXED, m) for m in metrics if m.startswith("official")]
        wanted = official + [
            (d, m) for d in DOMAIN_ORDER for m in metrics if not m.startswith("official")
        ]
    columns: list[Column] = []
    split_groups: list[str | None] = [None] if by_machine else list(splits)
    for split in split_groups:
        in_split = splits if split is None else [split]
        for domain, m in wanted:
            if any((s, domain, m) in present for s in in_split):
                columns.append(Column.make(split, domain, m))
    return columns


def _mark_best(board: Leaderboard) -> None:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(board.rows):
        groups[(row.split, row.machine)].append(i)
    for j, col in enumerate(board.columns):
        for members in groups.values():
            shown = {
                i: round(100 * board.rows[i].cells[j].mean, DECIMALS)
                for i in members
                if board.rows[i].cells[j].n and math.isfinite(board.rows[i].cells[j].mean)
            }
            if len(shown) < 2:
                continue
            target = min(shown.values()) if col.metric in LOWER_IS_BETTER else max(shown.values())
            board.best |= {(i, j) for i, v in shown.items() if v == target}


def build_leaderboard(
    runs: Sequence[RunResults],
    *,
    metrics: Sequence[str] | None = None,
    by_machine: bool = False,
    backend: str | None = None,
    splits: Sequence[str] | None = None,
) -> Leaderboard:
    """Summarise the aggregate rows of ``runs`` into a leaderboard (see module docstring)."""
    frame, keys = _select(runs, backend)
    all_splits = sorted(set(frame["split"]), key=_split_key)
    if splits:
        unknown = [s for s in splits if s not in all_splits]
        if unknown:
            raise ConfigError(
                f"--split: no results for {unknown[0]!r} (available: {', '.join(all_splits)})"
            )
        all_splits = [s for s in all_splits if s in splits]
    level = frame[frame["machine"] != ALL] if by_machine else frame[frame["machine"] == ALL]
    level = level[level["split"].isin(all_splits)]
    columns = _columns(level, expand_metrics(metrics) if metrics else None, all_splits, by_machine)
    cells = _cells(level)
    labels = _row_labels(keys, runs_apart=bool(config_differences(list(runs))))
    rows: list[Row] = []
    places = (
        [(split, machine) for split in all_splits
         for machine in sorted(set(level.loc[level["split"] == split, "machine"]))]
        if by_machine else [(None, ALL)]
    )
    for split, machine in places:
        for key in keys:
            row_cells = [
                cells.get((*_key(key), c.split or split, machine, c.domain, c.metric), EMPTY)
                for c in columns
            ]
            if any(c.n for c in row_cells):
                rows.append(Row(key, labels[key], split, machine, row_cells))
    board = Leaderboard(columns, rows, by_machine)
    _mark_best(board)
    return board


def _key(key: RowKey) -> tuple[str, str, str, str]:
    return (key.run, key.system, key.backend, key.trial)


LEADERBOARD_RECORD_COLUMNS = (
    "label",
    "run",
    "system",
    "backend",
    "trial",
    "split",
    "machine",
    "domain",
    "metric",
    "column",
    "mean",
    "std",
    "n",
    "best",
)


def leaderboard_records(board: Leaderboard) -> list[dict[str, Any]]:
    """One record per cell, unrounded fractions (not percent), NaN std where n < 2."""
    records = []
    for i, row in enumerate(board.rows):
        for j, (col, cell) in enumerate(zip(board.columns, row.cells, strict=True)):
            if not cell.n:
                continue
            records.append(
                {
                    "label": row.label,
                    "run": row.key.run,
                    "system": row.key.system,
                    "backend": row.key.backend,
                    "trial": row.key.trial,
                    "split": col.split if col.split is not None else row.split,
                    "machine": row.machine,
                    "domain": col.domain,
                    "metric": col.metric,
                    "column": col.header,
                    "mean": cell.mean,
                    "std": cell.std if cell.n > 1 else float("nan"),
                    "n": cell.n,
                    "best": (i, j) in board.best,
                }
            )
    return records


def _note(board: Leaderboard) -> str:
    """What the numbers are: ``±`` is only explained when some cell has more than one value."""
    ns = sorted({c.n for r in board.rows for c in r.cells if c.n})
    if ns and ns[-1] > 1:
        seeds = str(ns[-1]) if ns[0] == ns[-1] or ns[0] == 1 else f"{ns[0]}-{ns[-1]}"
        what = f"mean ± std over {seeds} seeds, in %"
    else:
        what = "values in %"
    return f"{what}; AUC/pAUC: harmonic means over sections"


def _split_groups(board: Leaderboard, lead: int) -> list[ColumnGroup]:
    """One block per split (by-machine tables: one block, the split is in the rows)."""
    order = list(dict.fromkeys(c.split for c in board.columns))
    groups = []
    for split in order:
        idx = [j for j, c in enumerate(board.columns) if c.split == split]
        groups.append(
            ColumnGroup(
                f"{split} split" if split else "",
                tuple(lead + j for j in idx),
                tuple(board.columns[j].label or board.columns[j].header for j in idx),
            )
        )
    return groups


def render_leaderboard(board: Leaderboard, fmt: str, *, width: int | None = None) -> str:
    """The leaderboard in one of the formats of :mod:`.formatting` (percent, one decimal in text).

    ``plain`` with ``width`` fits that many columns: one block per split where the whole table
    is wider."""
    if fmt in ("csv", "json"):
        return render_records(leaderboard_records(board), fmt, LEADERBOARD_RECORD_COLUMNS)
    lead = ["split", "machine", "system", "n"] if board.by_machine else ["system", "n"]
    headers = lead + [c.header for c in board.columns]
    body = []
    for row in board.rows:
        keys = (
            [row.split or "", row.machine, row.label, row.n_text()]
            if board.by_machine
            else [row.label, row.n_text()]
        )
        body.append(keys + [mean_std(c.mean, c.std, c.n) for c in row.cells])
    bold = {(i, j + len(lead)) for i, j in board.best}
    return render_text_table(
        headers,
        body,
        fmt,
        bold=bold,
        numeric_from=len(lead),
        note=_note(board),
        width=width,
        groups=_split_groups(board, len(lead)),
    )


def leaderboard_text(
    run_dirs: Sequence[str | os.PathLike[str]],
    fmt: str = "plain",
    *,
    metrics: Sequence[str] | None = None,
    by_machine: bool = False,
    backend: str | None = None,
    splits: Sequence[str] | None = None,
    width: int | None = None,
) -> str:
    """Load run directories and render their leaderboard (what ``asdbench compare`` prints)."""
    from ..results.runs import load_runs

    board = build_leaderboard(
        load_runs(list(run_dirs)),
        metrics=metrics,
        by_machine=by_machine,
        backend=backend,
        splits=splits,
    )
    return render_leaderboard(board, fmt, width=width)
