"""PNG figures of a run: leaderboard bars, ROC curves per section, score histograms per domain.

Uses matplotlib's object API (``Figure`` + Agg canvas) and never pyplot, so it neither needs a
display nor changes the global backend. Per-clip scores come from
``<run>/<system>/<trial>/<backend>/scores.csv``; each system is drawn from one representative
trial: the ensemble when it exists, otherwise its lowest seed.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AsdbenchError, DataError
from .atomic import atomic_write_bytes
from .layout import ENSEMBLE, safe_name, scores_table_path
from .leaderboard import build_leaderboard
from .metrics import ALL
from .roc import MAX_FPR, roc_auc, roc_points, two_classes
from .runs import RunResults, load_run
from .tables import read_scores_table

__all__ = ["PlotReport", "plot_run"]

PathLike = str | os.PathLike[str]


@dataclass
class PlotReport:
    files: list[Path]
    notes: list[str]


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise AsdbenchError("plotting needs matplotlib: install asdbench[plot]") from None
    return Figure


def _save(fig: Any, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def _leaderboard_figure(run: RunResults, backend: str | None, out: Path) -> Path | None:
    board = build_leaderboard([run], metrics=["official_score"], backend=backend)
    if not board.rows or not board.columns:
        return None
    Figure = _figure_class()
    n_cols = len(board.columns)
    fig = Figure(figsize=(max(4.0, 1.1 * len(board.rows) + 2), 3.6 * n_cols))
    for j, col in enumerate(board.columns):
        ax = fig.add_subplot(n_cols, 1, j + 1)
        labels = [r.label for r in board.rows]
        means = np.array([100 * r.cells[j].mean if r.cells[j].n else np.nan for r in board.rows])
        errs = np.array([100 * r.cells[j].std if r.cells[j].n > 1 else 0.0 for r in board.rows])
        x = np.arange(len(labels))
        colors = ["tab:orange" if r.key.trial == ENSEMBLE else "tab:blue" for r in board.rows]
        ax.bar(x, np.nan_to_num(means), yerr=errs, color=colors, capsize=4)
        finite = means[np.isfinite(means)]
        if finite.size:
            low = max(0.0, float(np.min(finite - errs[np.isfinite(means)])) - 5)
            ax.set_ylim(low, min(100.0, float(np.max(finite + errs[np.isfinite(means)])) + 3))
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel("official score (%)")
        ax.set_title(f"{col.split}: official score, mean ± std over seeds")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out / "leaderboard.png")


def _representatives(
    run: RunResults, backend: str | None
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """label -> scores table of its representative trial; notes for missing tables."""
    frame = run.results if backend is None else run.results[run.results["backend"] == backend]
    backends = list(dict.fromkeys(frame["backend"]))
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for system in run.systems:
        for be in backends:
            seeds = set(frame.loc[(frame["system"] == system) & (frame["backend"] == be), "seed"])
            if not seeds:
                continue
            ordered = ([ENSEMBLE] if ENSEMBLE in seeds else []) + sorted(
                (s for s in seeds if s != ENSEMBLE),
                key=lambda s: int(s) if s.lstrip("-").isdigit() else 0,
            )
            label = system if len(backends) == 1 else f"{system} [{be}]"
            for seed in ordered:
                path = scores_table_path(run.path, system, seed, be)
                if path.is_file():
                    trial = "ensemble" if seed == ENSEMBLE else f"seed {seed}"
                    tables[f"{label} ({trial})"] = read_scores_table(path)
                    break
            else:
                notes.append(
                    f"no scores.csv for {label} (looked in {scores_table_path(run.path, system, ordered[0], be)})"
                )
    return tables, notes


def _roc_figures(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    Figure = _figure_class()
    written = []
    sections = sorted(
        {
            (s, m, c)
            for t in tables.values()
            for s, m, c in zip(t["split"], t["machine"], t["section"], strict=True)
        }
    )
    for split, machine, section in sections:
        fig = Figure(figsize=(5.2, 5.0))
        ax = fig.add_subplot(1, 1, 1)
        drawn = 0
        for label, table in tables.items():
            part = table[
                (table["split"] == split)
                & (table["machine"] == machine)
                & (table["section"] == section)
                & table["label"].notna()
            ]
            y = part["label"].to_numpy(dtype=int)
            if not two_classes(y):
                continue
            s = part["score"].to_numpy(dtype=float)
            fpr, tpr = roc_points(y, s)
            ax.plot(fpr, tpr, label=f"{label}: AUC {100 * roc_auc(y, s):.1f}")
            drawn += 1
        if not drawn:
            continue
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.axvline(MAX_FPR, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{split} {machine} section {section} (all clips)")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        name = f"roc_{safe_name(split)}_{safe_name(machine)}_section_{section}.png"
        written.append(_save(fig, out / name))
    return written


def _histogram_figures(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    Figure = _figure_class()
    written = []
    for label, table in tables.items():
        known = table[table["label"].notna()]
        for (split, machine, section), part in known.groupby(
            ["split", "machine", "section"], sort=True
        ):
            scores = part["score"].to_numpy(dtype=float)
            bins = np.histogram_bin_edges(scores, bins=30)
            fig = Figure(figsize=(9.0, 3.4))
            for k, domain in enumerate(("source", "target")):
                ax = fig.add_subplot(1, 2, k + 1)
                dom = part[part["domain"] == domain]
                for value, name, color in ((0, "normal", "tab:blue"), (1, "anomaly", "tab:red")):
                    sel = dom.loc[dom["label"] == value, "score"].to_numpy(dtype=float)
                    if sel.size:
                        ax.hist(
                            sel, bins=bins, alpha=0.55, color=color, label=f"{name} ({sel.size})"
                        )
                ax.set_title(f"{domain}")
                ax.set_xlabel("anomaly score")
                if k == 0:
                    ax.set_ylabel("clips")
                if len(dom):
                    ax.legend(fontsize=7)
            fig.suptitle(f"{label}: {split} {machine} section {section}", fontsize=9)
            fig.tight_layout()
            name = f"hist_{safe_name(label)}_{safe_name(split)}_{safe_name(machine)}_section_{section}.png"
            written.append(_save(fig, out / name))
    return written


def plot_run(
    run_dir: PathLike, out_dir: PathLike | None = None, *, backend: str | None = None
) -> PlotReport:
    """Write all figures of a run to ``out_dir`` (default ``<run>/plots``)."""
    _figure_class()  # fail early, with the install hint, when matplotlib is missing
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / "plots"
    if backend is not None and not (run.results["backend"] == backend).any():
        raise DataError(f"--backend: no results for {backend!r} in {run.path}")
    files: list[Path] = []
    notes: list[str] = []
    board = _leaderboard_figure(run, backend, out)
    if board is None:
        notes.append(
            f"no official_score rows (machine {ALL}) in {run.path}/results.csv: no leaderboard chart"
        )
    else:
        files.append(board)
    tables, missing = _representatives(run, backend)
    notes += missing
    if tables:
        files += _roc_figures(tables, out)
        files += _histogram_figures(tables, out)
    if not files:
        raise DataError(f"{run.path}: nothing to plot ({'; '.join(notes)})")
    return PlotReport(files, notes)
