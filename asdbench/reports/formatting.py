"""Render tables as plain text, GitHub Markdown, LaTeX, CSV or JSON (one place for all CLIs).

Text formats get pre-formatted cell strings plus the set of cells to mark as best: bold in
GitHub (``**x**``) and LaTeX (``\\textbf{x}``), a trailing ``*`` in plain text (every other cell of
the column gets a space there, so digits stay aligned). Plain tables fit a given width by
breaking into blocks of columns. Machine-readable formats get records with unrounded numbers.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

__all__ = [
    "FORMATS",
    "TEXT_FORMATS",
    "DECIMALS",
    "ColumnGroup",
    "percent",
    "mean_std",
    "terminal_width",
    "text_width",
    "latex_escape",
    "latex_number",
    "render_text_table",
    "render_records",
]

TEXT_FORMATS = ("plain", "github", "latex")
FORMATS = TEXT_FORMATS + ("csv", "json")

DECIMALS = 1
"""Decimals of every percentage asdbench prints (tables, status lines, paired differences)."""
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


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins, 80 when unknown, e.g. in a pipe)."""
    return shutil.get_terminal_size((80, 24)).columns


def percent(value: float, decimals: int = DECIMALS) -> str:
    """``0.8423 -> "84.2"``; NaN -> ``"-"``."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100.0 * value:.{decimals}f}"


def mean_std(mean: float, std: float, n: int, decimals: int = DECIMALS) -> str:
    """``"84.2 ± 0.8"`` as in the paper; the ``±`` part only when more than one value exists."""
    if n == 0 or not math.isfinite(mean):
        return "-"
    if n > 1 and math.isfinite(std):
        return f"{percent(mean, decimals)} {PM} {percent(std, decimals)}"
    return percent(mean, decimals)


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_number(text: str) -> str:
    """A table cell for LaTeX: escaped, ``±`` as ``$\\pm$``, a signed difference in math mode
    (a real minus sign, not a hyphen)."""
    if text[:1] in "+-" and text[1:].replace(".", "", 1).isdigit():
        return f"${text}$"
    parts = text.split(f" {PM} ")
    if len(parts) == 2:
        return f"{latex_escape(parts[0])} $\\pm$ {latex_escape(parts[1])}"
    return latex_escape(text)


def _latex(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    bold: set[tuple[int, int]],
    numeric_from: int,
) -> str:
    spec = "l" * numeric_from + "r" * (len(headers) - numeric_from)
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in headers) + r" \\")
    lines.append("\\midrule")
    for i, row in enumerate(rows):
        cells = []
        for j, text in enumerate(row):
            cell = latex_number(text)
            cells.append(f"\\textbf{{{cell}}}" if (i, j) in bold else cell)
        lines.append(" & ".join(cells) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ColumnGroup:
    """Columns that belong together (e.g. one split) and become one block when a table is too wide.

    ``columns`` are indices into the table's headers; ``headers`` their shorter names inside the
    block (the block's ``title`` says what they have in common)."""

    title: str
    columns: tuple[int, ...]
    headers: tuple[str, ...]


def _split_mean_std(text: str) -> tuple[str, str]:
    mean, _, std = text.partition(f" {PM} ")
    return mean, std


def _aligned_numbers(rows: Sequence[Sequence[str]], marks: set[tuple[int, int]], numeric_from: int) -> list[list[str]]:
    """Pad every numeric cell of a column to one layout: means right-aligned, ``± std`` left-aligned,
    and a best marker (``*``) where a space would be (after the std, or after a lone mean), so
    the marker never shifts the digits."""
    out = [list(r) for r in rows]
    n_cols = max((len(r) for r in rows), default=0)
    for j in range(numeric_from, n_cols):
        parts = [_split_mean_std(r[j]) for r in rows]
        mean_w = max((len(m) for m, _ in parts), default=0)
        std_w = max((len(s) for _, s in parts), default=0)
        marked = any((i, j) in marks for i in range(len(rows)))
        for i, (mean, std) in enumerate(parts):
            mark = ("*" if (i, j) in marks else " ") if marked else ""
            if std:
                cell = f"{mean.rjust(mean_w)} {PM} {std.ljust(std_w)}{mark}"
            else:  # the marker takes the place of the space before "±"
                cell = (mean.rjust(mean_w) + mark).ljust(mean_w + (3 + std_w if std_w else 0) + len(mark))
            out[i][j] = cell
    return out


def _wrapped_header(header: str, cells: Sequence[str]) -> str:
    """A numeric column's header on several lines where it is wider than its numbers."""
    width = max((len(c) for c in cells), default=0)
    if len(header) <= width:
        return header
    return "\n".join(textwrap.wrap(header, width=max(width, 1), break_long_words=False))


def _plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]], marks: set[tuple[int, int]], numeric_from: int) -> str:
    body = _aligned_numbers(rows, marks, numeric_from)
    names = [
        h if j < numeric_from else _wrapped_header(h, [r[j] for r in body])
        for j, h in enumerate(headers)
    ]
    align = ["left"] * numeric_from + ["right"] * (len(headers) - numeric_from)
    return tabulate(body, headers=names, tablefmt="simple", colalign=align,
                    disable_numparse=True, preserve_whitespace=True)


def text_width(text: str) -> int:
    """Widest line of ``text`` in terminal columns."""
    return max((len(line) for line in text.splitlines()), default=0)


def _block(headers: Sequence[str], rows: Sequence[Sequence[str]], marks: set[tuple[int, int]],
           numeric_from: int, columns: Sequence[int], names: Sequence[str]) -> str:
    """The lead columns plus ``columns`` (renamed to ``names``) as one plain table."""
    keep = list(range(numeric_from)) + list(columns)
    sub_rows = [[r[j] for j in keep] for r in rows]
    sub_marks = {(i, keep.index(j)) for i, j in marks if j in keep}
    return _plain_table(list(headers[:numeric_from]) + list(names), sub_rows, sub_marks, numeric_from)


def _fitted_blocks(headers: Sequence[str], rows: Sequence[Sequence[str]], marks: set[tuple[int, int]],
                   numeric_from: int, width: int, groups: Sequence[ColumnGroup]) -> list[str]:
    """One block per group, a group cut into consecutive parts where it alone is too wide."""
    blocks: list[str] = []
    for group in groups:
        pending = list(zip(group.columns, group.headers, strict=True))
        part = 0
        while pending:
            take = 1
            while take < len(pending):
                cols, names = zip(*pending[: take + 1], strict=True)
                if text_width(_block(headers, rows, marks, numeric_from, cols, names)) > width:
                    break
                take += 1
            cols, names = zip(*pending[:take], strict=True)
            title = group.title if part == 0 else f"{group.title} (continued)"
            table = _block(headers, rows, marks, numeric_from, cols, names)
            blocks.append(f"{title}\n{table}" if title else table)
            pending = pending[take:]
            part += 1
    return blocks


def render_text_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    fmt: str,
    *,
    bold: Iterable[tuple[int, int]] = (),
    numeric_from: int = 1,
    note: str | None = None,
    width: int | None = None,
    groups: Sequence[ColumnGroup] = (),
    marks_mean: str = "best in column",
) -> str:
    """One table in ``plain``, ``github`` or ``latex``; ``bold`` holds (row, column) indices.

    ``plain`` with a ``width``: a table wider than ``width`` is printed as one block per group
    (all numeric columns form one group when none are given), each cut further if needed, every
    block repeating the lead columns; the note is wrapped to the width."""
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
        if marks:
            note = f"* {marks_mean}" + (f"; {note}" if note else "")
        text = _plain_table(headers, rows, marks, numeric_from)
        if width is not None and width > 0 and text_width(text) > width:
            if not groups:
                numeric = tuple(range(numeric_from, len(headers)))
                groups = [ColumnGroup("", numeric, tuple(headers[j] for j in numeric))]
            text = "\n\n".join(_fitted_blocks(headers, rows, marks, numeric_from, width, groups))
        if note and width is not None and width > 0:
            note = textwrap.fill(note, width=width, break_on_hyphens=False)
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
