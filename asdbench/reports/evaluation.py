"""Render the metric rows of one scored submission (``asdbench evaluate``).

Text formats: a per-section table with the official evaluator's columns, then a summary of the
split aggregates (percent, one decimal as every table). ``csv``/``json``: the tidy rows of :func:`score_clips`,
unrounded, so they equal what the runner writes to results.csv.
"""

from __future__ import annotations

import math

import pandas as pd

from ..results.tables import METRIC_COLUMNS
from ..scoring.metrics import ALL, MIXED
from .formatting import DECIMALS, percent, render_records, render_text_table

__all__ = ["render_evaluation"]

SECTION_COLUMNS = (
    ("AUC (all)", "auc", MIXED),
    ("AUC (source)", "auc", "source"),
    ("AUC (target)", "auc", "target"),
    ("pAUC", "pauc", MIXED),
    ("precision (source)", "precision", "source"),
    ("precision (target)", "precision", "target"),
    ("recall (source)", "recall", "source"),
    ("recall (target)", "recall", "target"),
    ("F1 (source)", "f1", "source"),
    ("F1 (target)", "f1", "target"),
)
SUMMARY_ROWS = (
    ("AUC, h-mean", "hmean_auc"),
    ("pAUC, h-mean", "hmean_pauc"),
    ("AUC domain-only, h-mean", "hmean_auc_domain_only"),
    ("pAUC domain-only, h-mean", "hmean_pauc_domain_only"),
    ("F1, h-mean", "hmean_f1"),
)


def _lookup(rows: pd.DataFrame) -> dict[tuple[str, str, str, str, str], float]:
    cols = ["split", "machine", "section", "domain", "metric", "value"]
    return {tuple(r[:5]): r[5] for r in rows[cols].itertuples(index=False, name=None)}


def _text(rows: pd.DataFrame, fmt: str) -> str:
    values = _lookup(rows)
    out: list[str] = []
    for split in sorted(set(rows["split"])):
        in_split = rows[(rows["split"] == split) & (rows["section"] != ALL)]
        sections = sorted(set(zip(in_split["machine"], in_split["section"], strict=True)))
        cols = [
            c
            for c in SECTION_COLUMNS
            if any((split, m, s, c[2], c[1]) in values for m, s in sections)
        ]
        body = [
            [m, s]
            + [percent(values.get((split, m, s, dom, met), math.nan)) for _, met, dom in cols]
            for m, s in sections
        ]
        title = f"{split}: per machine type and section (%)"
        out.append(title if fmt != "latex" else f"% {title}")
        out.append(
            render_text_table(
                ["machine", "section"] + [c[0] for c in cols], body, fmt, numeric_from=2
            )
        )
        summary = []
        for label, metric in SUMMARY_ROWS:
            cells = [
                values.get((split, ALL, ALL, d, metric), math.nan)
                for d in ("source", "target", MIXED)
            ]
            if any(math.isfinite(c) for c in cells):
                summary.append([label] + [percent(c) for c in cells])
        out.append(
            render_text_table(
                ["aggregate over sections", "source", "target", "mixed"], summary, fmt
            )
        )
        score = values.get((split, ALL, ALL, MIXED, "official_score"), math.nan)
        ci = values.get((split, ALL, ALL, MIXED, "official_score_ci95"), math.nan)
        line = f"{split} official score: {percent(score)} %"
        if math.isfinite(ci):
            half = percent(ci)
            shown = f"< {0.5 * 10.0**-DECIMALS:g}" if float(half) == 0 else half
            line += f" (official jackknife ci95: ± {shown} %)"
        out.append((f"% {line}" if fmt == "latex" else line) + "\n")
    return "\n".join(out)


def render_evaluation(rows: pd.DataFrame, fmt: str) -> str:
    """``rows``: the output of :func:`score_clips`."""
    if fmt in ("csv", "json"):
        return render_records(rows.to_dict("records"), fmt, METRIC_COLUMNS)
    return _text(rows, fmt)
