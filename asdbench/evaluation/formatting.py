"""Render tables as plain text, GitHub Markdown, LaTeX, CSV or JSON (one place for all CLIs).

Text formats get pre-formatted cell strings plus the set of cells to mark as best: bold in
GitHub (``**x**``) and LaTeX (``\\textbf{x}``), a trailing ``*`` in plain text. Machine-readable
formats get records with unrounded numbers.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate

__all__ = [
    "FORMATS",
    "TEXT_FORMATS",
    "percent",
    "mean_std",
    "render_text_table",
    "render_records",
]

TEXT_FORMATS = ("plain", "github", "latex")
FORMATS = TEXT_FORMATS + ("csv", "json")

PM = "±"
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def percent(value: float, decimals: int = 1) -> str:
    """``0.8423 -> "84.2"``; NaN -> ``"-"``."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100.0 * value:.{decimals}f}"


def mean_std(mean: float, std: float, n: int, decimals: int = 1) -> str:
    """``"84.2 ± 0.8"`` as in the paper; the ``±`` part only when more than one value exists."""
    if n == 0 or not math.isfinite(mean):
        return "-"
    if n > 1 and math.isfinite(std):
        return f"{percent(mean, decimals)} {PM} {percent(std, decimals)}"
    return percent(mean, decimals)


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_cell(text: str) -> str:
    parts = text.split(f" {PM} ")
    if len(parts) == 2:
        return f"{_latex_escape(parts[0])} $\\pm$ {_latex_escape(parts[1])}"
    return _latex_escape(text)


def _latex(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    bold: set[tuple[int, int]],
    numeric_from: int,
) -> str:
    spec = "l" * numeric_from + "r" * (len(headers) - numeric_from)
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
    lines.append(" & ".join(_latex_escape(h) for h in headers) + r" \\")
    lines.append("\\midrule")
    for i, row in enumerate(rows):
        cells = []
        for j, text in enumerate(row):
            cell = _latex_cell(text)
            cells.append(f"\\textbf{{{cell}}}" if (i, j) in bold else cell)
        lines.append(" & ".join(cells) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def render_text_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    fmt: str,
    *,
    bold: Iterable[tuple[int, int]] = (),
    numeric_from: int = 1,
    note: str | None = None,
) -> str:
    """One table in ``plain``, ``github`` or ``latex``; ``bold`` holds (row, column) indices."""
    marks = set(bold)
    if fmt == "latex":
        text = _latex(headers, rows, marks, numeric_from)
        return text + (f"% {note}\n" if note else "")
    if fmt == "github":
        body = [
            [f"**{c}**" if (i, j) in marks else c for j, c in enumerate(r)]
            for i, r in enumerate(rows)
        ]
        align = ["left"] * numeric_from + ["right"] * (len(headers) - numeric_from)
        text = tabulate(
            body, headers=list(headers), tablefmt="github", colalign=align, disable_numparse=True
        )
        return text + "\n" + (f"\n{note}\n" if note else "")
    if fmt == "plain":
        body = [
            [f"{c}*" if (i, j) in marks else c for j, c in enumerate(r)] for i, r in enumerate(rows)
        ]
        align = ["left"] * numeric_from + ["right"] * (len(headers) - numeric_from)
        text = tabulate(
            body, headers=list(headers), tablefmt="simple", colalign=align, disable_numparse=True
        )
        if marks:
            note = "* best in column" + (f"; {note}" if note else "")
        return text + "\n" + (f"{note}\n" if note else "")
    raise ValueError(f"not a text format: {fmt!r}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return value


def render_records(records: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str]) -> str:
    """Records as CSV (header, full float precision, empty for NaN) or a JSON list."""
    if fmt == "json":
        clean = [{k: _json_safe(r.get(k)) for k in columns} for r in records]
        return json.dumps(clean, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        import pandas as pd

        frame = pd.DataFrame(list(records), columns=list(columns))
        frame.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    raise ValueError(f"not a record format: {fmt!r}")
