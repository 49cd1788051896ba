"""Training curves of each system from its trials' ``history.csv``: mean over seeds, band min-max."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..results.layout import HISTORY_FILE, trial_dir
from .plots import Figures, Representative, figure_class

PANELS = (
    ("loss", "total loss"),
    ("loss_regular", "regular head loss"),
    ("loss_ssl", "SSL head loss"),
    ("l2", "L2 term"),
    ("scale_regular", "AdaCos scale, regular head"),
    ("scale_ssl", "AdaCos scale, SSL head"),
)


def _histories(rep: Representative) -> pd.DataFrame:
    frames = []
    for seed in rep.seeds:
        path: Path = trial_dir(rep.run.path, rep.system, seed) / HISTORY_FILE
        if path.is_file():
            frames.append(pd.read_csv(path).assign(seed=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def curves_figure(reps: list[Representative], figures: Figures) -> list[str]:
    """``curves.<fmt>``; returns notes (systems without any history)."""
    data = {}
    notes = []
    for rep in reps:
        frame = _histories(rep)
        if frame.empty:
            notes.append(f"no history.csv for {rep.label.split(' (')[0]}: no training curves")
        else:
            data[rep.label.split(" (")[0]] = frame
    if not data:
        return notes
    from matplotlib.ticker import MaxNLocator

    panels = [(c, t) for c, t in PANELS if any(c in f.columns for f in data.values())]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = figure_class()(figsize=(4.2 * cols, 3.0 * rows))
    for k, (column, title) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        for i, (label, frame) in enumerate(data.items()):
            if column not in frame.columns:
                continue
            color = f"C{i % 10}"  # one colour per system in every panel
            stats = frame.groupby("epoch")[column].agg(["mean", "min", "max", "count"])
            n = int(stats["count"].max())
            ax.plot(stats.index, stats["mean"], marker="o", markersize=3, color=color, label=f"{label} (n={n})")
            if n > 1:
                ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7)
    fig.suptitle("training curves: mean over seeds, band = min-max", fontsize=10)
    fig.tight_layout()
    figures.save(fig, "curves")
    return notes
