"""Figures of one or more runs for a paper: PNG, PDF or SVG at any dpi.

Written (into ``out``, default ``<first run>/plots``):

- ``leaderboard.<fmt>``: official score per split, every leaderboard row of every run; error bars
  (std over seeds) only where n > 1, n under each bar, on the full 0-100 % axis with chance (50 %)
  marked, so bar heights compare honestly.
- ``curves.<fmt>``: training curves from the trials' ``history.csv`` (mean over seeds, band
  min-max), one panel per column (loss, each head's loss, L2, AdaCos scales).
- ``roc_<split>_<machine>.<fmt>``: per machine type, one panel per section, every system's ROC,
  the pAUC region (FPR <= 0.1) shaded.
- ``hist_<split>_<machine>.<fmt>``: per machine type, score histograms, systems as rows and
  section x domain as columns, normal vs anomalous.
- ``embeddings.<fmt>``: a 2-D map (t-SNE from scikit-learn, UMAP where umap-learn is installed) of
  the train and test embeddings of each system's first seed, coloured by domain, by label and by
  attribute.

matplotlib is used through its object API (``Figure``, never pyplot): no display needed, no
global backend changed. Per-clip scores come from each system's representative trial: the
ensemble when it exists, otherwise its lowest seed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_write_bytes
from ..errors import AsdbenchError, ConfigError, DataError
from ..results.layout import ENSEMBLE, PLOTS_DIR, safe_name, scores_table_path, trial_dir
from ..results.runs import RunResults, config_differences, load_runs
from ..results.tables import read_scores_table
from .leaderboard import build_leaderboard

__all__ = ["FIGURE_FORMATS", "PlotReport", "Figures", "plot_runs", "plot_run", "figure_class"]

PathLike = str | os.PathLike[str]
FIGURE_FORMATS = ("png", "pdf", "svg")
# no timestamps in the files: the same run gives the same bytes
_METADATA = {"png": {}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


@dataclass
class PlotReport:
    files: list[Path]
    notes: list[str]


@dataclass
class Figures:
    """Where and how figures are saved."""

    out: Path
    fmt: str = "png"
    dpi: int = 150
    written: list[Path] = field(default_factory=list)

    def save(self, fig: Any, stem: str) -> Path:
        import matplotlib

        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "asdbench"}):  # fixed SVG element ids
            fig.savefig(buffer, format=self.fmt, dpi=self.dpi, bbox_inches="tight", metadata=_METADATA[self.fmt])
        path = atomic_write_bytes(self.out / f"{stem}.{self.fmt}", buffer.getvalue())
        self.written.append(path)
        return path


def figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise AsdbenchError("plotting needs matplotlib: install asdbench[plot]") from None
    return Figure


@dataclass
class Representative:
    """One system of one run, drawn from one trial."""

    run: RunResults
    system: str
    backend: str
    label: str  # legend text, e.g. "combined (ensemble)"
    scores: pd.DataFrame | None  # scores.csv of the representative trial
    seeds: list[str]  # integer seeds, ascending


def representatives(runs: Sequence[RunResults], backend: str | None) -> tuple[list[Representative], list[str]]:
    """Every (run, system, back-end) with its representative scores; notes for missing tables."""
    several_runs = len(runs) > 1
    reps, notes = [], []
    for run in runs:
        frame = run.results if backend is None else run.results[run.results["backend"] == backend]
        backends = list(dict.fromkeys(frame["backend"]))
        for system in run.systems:
            for be in backends:
                seeds = set(frame.loc[(frame["system"] == system) & (frame["backend"] == be), "seed"])
                if not seeds:
                    continue
                integer = sorted((s for s in seeds if s != ENSEMBLE), key=lambda s: int(s) if s.lstrip("-").isdigit() else 0)
                name = f"{run.name}/{system}" if several_runs else system
                name += f" [{be}]" if len(backends) > 1 else ""
                scores, label = None, name
                for seed in ([ENSEMBLE] if ENSEMBLE in seeds else []) + integer:
                    path = scores_table_path(run.path, system, seed, be)
                    if path.is_file():
                        scores = read_scores_table(path)
                        label = f"{name} ({'ensemble' if seed == ENSEMBLE else f'seed {seed}'})"
                        break
                else:
                    notes.append(f"no scores.csv for {name} (looked in {scores_table_path(run.path, system, (integer or [ENSEMBLE])[0], be)})")
                reps.append(Representative(run, system, be, label, scores, integer))
    return reps, notes


def leaderboard_figure(runs: Sequence[RunResults], backend: str | None, figures: Figures) -> Path | None:
    board = build_leaderboard(runs, metrics=["official_score"], backend=backend)
    if not board.rows or not board.columns:
        return None
    fig = figure_class()(figsize=(max(4.5, 0.9 * len(board.rows) * len(board.columns) + 2.0), 3.8))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(board.columns)
    x = np.arange(len(board.rows))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for j, col in enumerate(board.columns):
        cells = [r.cells[j] for r in board.rows]
        means = np.array([100 * c.mean if c.n else np.nan for c in cells])
        errs = np.array([100 * c.std if c.n > 1 else np.nan for c in cells])
        pos = x - 0.4 + width * (j + 0.5)
        ax.bar(pos, np.nan_to_num(means), width * 0.9, color=colors[j % len(colors)], label=col.split)
        has_err = np.isfinite(errs)
        if has_err.any():
            ax.errorbar(pos[has_err], means[has_err], yerr=errs[has_err], fmt="none", ecolor="black", capsize=3, lw=1)
        for p, mean, err, c in zip(pos, means, errs, cells, strict=True):
            if np.isfinite(mean):
                top = mean + (err if np.isfinite(err) else 0.0)
                ax.text(p, top + 1.5, f"{mean:.1f}", ha="center", va="bottom", fontsize=7)
                ax.text(p, 2, f"n={c.n}", ha="center", va="bottom", fontsize=6, color="white")
    ax.axhline(50, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_ylim(0, 100)
    ax.set_xticks(x, [r.label for r in board.rows], rotation=25, ha="right")
    ax.set_ylabel("official score (%)")
    ax.set_title("official score: mean ± std over seeds (bars without error bar: one value)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=len(board.columns) + 1)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return figures.save(fig, "leaderboard")


def plot_runs(
    run_dirs: Sequence[PathLike],
    out_dir: PathLike | None = None,
    *,
    fmt: str = "png",
    dpi: int = 150,
    backend: str | None = None,
    embedding: str = "auto",
    seed: int = 0,
) -> PlotReport:
    """Write every figure of the runs (see module docstring); ``seed`` seeds the embedding map."""
    from .plot_curves import curves_figure
    from .plot_embeddings import EMBEDDING_METHODS, embedding_figure
    from .plot_scores import histogram_figures, roc_figures

    if fmt not in FIGURE_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FIGURE_FORMATS)}, got {fmt!r}")
    if dpi < 10 or dpi > 2400:
        raise ConfigError(f"--dpi must be between 10 and 2400, got {dpi}")
    if embedding not in EMBEDDING_METHODS:
        raise ConfigError(f"--embedding must be one of {', '.join(EMBEDDING_METHODS)}, got {embedding!r}")
    figure_class()  # fail early, with the install hint, when matplotlib is missing
    runs = load_runs(list(run_dirs))
    if backend is not None and not any((r.results["backend"] == backend).any() for r in runs):
        raise DataError(f"--backend: no results for {backend!r} in {', '.join(str(r.path) for r in runs)}")
    figures = Figures(Path(out_dir) if out_dir is not None else runs[0].path / PLOTS_DIR, fmt, dpi)
    differences = config_differences(runs)
    notes: list[str] = [f"these runs differ in {'; '.join(differences)}"] if differences else []
    if leaderboard_figure(runs, backend, figures) is None:
        notes.append("no official_score rows (machine *) in results.csv: no leaderboard chart")
    reps, missing = representatives(runs, backend)
    notes += missing
    notes += curves_figure(reps, figures)
    with_scores = [r for r in reps if r.scores is not None]
    if with_scores:
        roc_figures(with_scores, figures)
        histogram_figures(with_scores, figures)
    if embedding != "none":
        notes += embedding_figure(reps, figures, embedding, seed)
    if not figures.written:
        raise DataError(f"{', '.join(str(r.path) for r in runs)}: nothing to plot ({'; '.join(notes)})")
    return PlotReport(figures.written, notes)


def plot_run(run_dir: PathLike, out_dir: PathLike | None = None, *, backend: str | None = None) -> PlotReport:
    """All PNG figures of one run (kept for callers of the first API)."""
    return plot_runs([run_dir], out_dir, backend=backend)


def first_seed_dir(rep: Representative) -> Path | None:
    """The trial folder of a representative's lowest seed (embeddings and history live there)."""
    return trial_dir(rep.run.path, rep.system, rep.seeds[0]) if rep.seeds else None


def stem(*parts: str) -> str:
    return "_".join(safe_name(p) for p in parts)
