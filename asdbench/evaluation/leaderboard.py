"""Leaderboards: mean ± std over seeds of aggregate metrics, one row per system (and ensemble).

Rows are (run, system, back-end, trial) where trial is ``seeds`` (all integer seeds together) or
``ensemble``. Columns are split x domain x metric (default: the harmonic means of AUC and pAUC
over sections with the official selections, then the official score of the split). The std is
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
from .formatting import mean_std, render_records, render_text_table
from .metrics import ALL, MIXED
from .runs import RunResults

__all__ = [
    "DEFAULT_METRICS",
    "METRIC_PRESETS",
    "RowKey",
    "Column",
    "Cell",
    "Row",
    "Leaderboard",
    "expand_metrics",
    "build_leaderboard",
    "render_leaderboard",
    "leaderboard_records",
    "leaderboard_text",
    "LEADERBOARD_RECORD_COLUMNS",
]

DEFAULT_METRICS = ("hmean_auc", "hmean_pauc", "official_score")
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
ENSEMBLE = "ensemble"


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
    header: str


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    seeds: tuple[str, ...] = ()

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, float]]) -> Cell:
        finite = [(s, v) for s, v in pairs if v is not None and math.isfinite(v)]
        if not finite:
            return cls(float("nan"), float("nan"), 0)
        values = np.array([v for _, v in finite])
        return cls(
            float(values.mean()),
            float(values.std(ddof=0)),
            len(finite),
            tuple(s for s, _ in finite),
        )


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


def _row_labels(keys: list[RowKey]) -> dict[RowKey, str]:
    runs_of: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        runs_of[k.system].add(k.run)
    backends = {k.backend for k in keys}
    labels = {}
    for k in keys:
        label = f"{k.run}/{k.system}" if len(runs_of[k.system]) > 1 else k.system
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


def _index(frame: pd.DataFrame) -> dict[tuple, list[tuple[str, float]]]:
    index: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
    cols = [
        "run",
        "system",
        "backend",
        "trial",
        "split",
        "machine",
        "domain",
        "metric",
        "seed",
        "value",
    ]
    for run, system, be, trial, split, machine, domain, metric, seed, value in frame[
        cols
    ].itertuples(index=False, name=None):
        index[(run, system, be, trial, split, machine, domain, metric)].append((seed, value))
    return index


def _columns(
    frame: pd.DataFrame, metrics: list[str], splits: list[str], by_machine: bool
) -> list[Column]:
    present = set(zip(frame["split"], frame["domain"], frame["metric"], strict=True))
    available = sorted(set(frame["metric"]))
    for m in metrics:
        if m not in available:
            raise ConfigError(
                f"--metric: no aggregate metric {m!r} in the results (available: {', '.join(available)})"
            )
    columns: list[Column] = []
    split_groups: list[str | None] = [None] if by_machine else list(splits)
    for split in split_groups:
        in_split = splits if split is None else [split]
        prefix = "" if split is None else f"{split} "
        for domain in DOMAIN_ORDER:
            for m in metrics:
                if m == "official_score" or not any((s, domain, m) in present for s in in_split):
                    continue
                columns.append(
                    Column(split, domain, m, f"{prefix}{domain} {SHORT_NAMES.get(m, m)}")
                )
        for m in metrics:
            if m == "official_score" and any((s, MIXED, m) in present for s in in_split):
                columns.append(Column(split, MIXED, m, f"{prefix}{SHORT_NAMES[m]}"))
    return columns


def _mark_best(board: Leaderboard) -> None:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(board.rows):
        groups[(row.split, row.machine)].append(i)
    for j, col in enumerate(board.columns):
        for members in groups.values():
            shown = {
                i: round(100 * board.rows[i].cells[j].mean, 1)
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
    names = expand_metrics(metrics)
    columns = _columns(level, names, all_splits, by_machine)
    index = _index(level)
    labels = _row_labels(keys)
    rows: list[Row] = []
    if by_machine:
        for split in all_splits:
            machines = sorted(set(level.loc[level["split"] == split, "machine"]))
            for machine in machines:
                for key in keys:
                    cells = [
                        Cell.of(index.get((*_key(key), split, machine, c.domain, c.metric), []))
                        for c in columns
                    ]
                    if any(c.n for c in cells):
                        rows.append(Row(key, labels[key], split, machine, cells))
    else:
        for key in keys:
            cells = [
                Cell.of(index.get((*_key(key), c.split, ALL, c.domain, c.metric), []))
                for c in columns
            ]
            if any(c.n for c in cells):
                rows.append(Row(key, labels[key], None, ALL, cells))
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


def render_leaderboard(board: Leaderboard, fmt: str) -> str:
    """The leaderboard in one of the formats of :mod:`.formatting` (percent, 1 decimal in text)."""
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
    note = "mean ± std over seeds in %; AUC/pAUC: harmonic means over sections"
    return render_text_table(headers, body, fmt, bold=bold, numeric_from=len(lead) - 1, note=note)


def leaderboard_text(
    run_dirs: Sequence[str | os.PathLike[str]],
    fmt: str = "plain",
    *,
    metrics: Sequence[str] | None = None,
    by_machine: bool = False,
    backend: str | None = None,
    splits: Sequence[str] | None = None,
) -> str:
    """Load run directories and render their leaderboard (what ``asdbench compare`` prints)."""
    from .runs import load_runs

    board = build_leaderboard(
        load_runs(list(run_dirs)),
        metrics=metrics,
        by_machine=by_machine,
        backend=backend,
        splits=splits,
    )
    return render_leaderboard(board, fmt)
