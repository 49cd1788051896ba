"""Per machine type: a multi-panel ROC figure (pAUC region marked) and a score-histogram figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..scoring.roc import (
    MAX_FPR,
    partial_roc_auc,
    roc_auc,
    roc_points,
    two_classes,
)
from .plots import Figures, Representative, figure_class, stem


def _labelled(rep: Representative) -> pd.DataFrame:
    assert rep.scores is not None
    return rep.scores[rep.scores["label"].notna()]


def _where(frame: pd.DataFrame, **equal: str) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def _machines(reps: list[Representative]) -> list[tuple[str, str]]:
    return sorted({(s, m) for r in reps for s, m in zip(_labelled(r)["split"], _labelled(r)["machine"], strict=True)})


def roc_figures(reps: list[Representative], figures: Figures) -> None:
    """``roc_<split>_<machine>``: one panel per section, a curve per system."""
    Figure = figure_class()
    for split, machine in _machines(reps):
        sections = sorted({s for r in reps for s in _where(_labelled(r), split=split, machine=machine)["section"]})
        cols = min(3, len(sections))
        rows = math.ceil(len(sections) / cols)
        fig = Figure(figsize=(4.0 * cols, 3.8 * rows))
        for k, section in enumerate(sections):
            ax = fig.add_subplot(rows, cols, k + 1)
            ax.axvspan(0, MAX_FPR, color="tab:orange", alpha=0.12, label=f"pAUC region (FPR ≤ {MAX_FPR:g})")
            for rep in reps:
                part = _where(_labelled(rep), split=split, machine=machine, section=section)
                y = part["label"].to_numpy(dtype=int)
                if not two_classes(y):
                    continue
                s = part["score"].to_numpy(dtype=float)
                fpr, tpr = roc_points(y, s)
                ax.plot(fpr, tpr, label=f"{rep.label}: AUC {100 * roc_auc(y, s):.1f}, "
                                        f"pAUC {100 * partial_roc_auc(y, s):.1f}")
            ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.01)
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.set_title(f"section {section} (all clips)", fontsize=9)
            ax.legend(fontsize=6, loc="lower right")
        fig.suptitle(f"ROC, {split} {machine}", fontsize=10)
        fig.tight_layout()
        figures.save(fig, stem("roc", split, machine))


def histogram_figures(reps: list[Representative], figures: Figures) -> None:
    """``hist_<split>_<machine>``: systems as rows, section x domain as columns."""
    Figure = figure_class()
    for split, machine in _machines(reps):
        parts = {r.label: _where(_labelled(r), split=split, machine=machine) for r in reps}
        panels = sorted({(s, d) for p in parts.values() for s, d in zip(p["section"], p["domain"], strict=True)
                         if isinstance(d, str)})
        if not panels:
            continue
        rows = [label for label, p in parts.items() if len(p)]
        fig = Figure(figsize=(3.4 * len(panels), 2.6 * len(rows)))
        for i, label in enumerate(rows):
            part = parts[label]
            bins = np.histogram_bin_edges(part["score"].to_numpy(dtype=float), bins=30)
            for j, (section, domain) in enumerate(panels):
                ax = fig.add_subplot(len(rows), len(panels), i * len(panels) + j + 1)
                sel = part[(part["section"] == section) & (part["domain"] == domain)]
                for value, name, color in ((0, "normal", "tab:blue"), (1, "anomaly", "tab:red")):
                    scores = sel.loc[sel["label"] == value, "score"].to_numpy(dtype=float)
                    if scores.size:
                        ax.hist(scores, bins=bins, alpha=0.55, color=color, label=f"{name} ({scores.size})")
                ax.set_title(f"{label}\nsection {section}, {domain}", fontsize=7)
                ax.tick_params(labelsize=6)
                if i == len(rows) - 1:
                    ax.set_xlabel("anomaly score", fontsize=7)
                if j == 0:
                    ax.set_ylabel("clips", fontsize=7)
                if len(sel):
                    ax.legend(fontsize=6)
        fig.suptitle(f"anomaly scores, {split} {machine}", fontsize=10)
        fig.tight_layout()
        figures.save(fig, stem("hist", split, machine))
