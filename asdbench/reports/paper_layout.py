"""The paper's layout of a leaderboard (Wilkinghoff 2024, Table 1), with the paper's numbers.

Rows are dataset / split / domain / metric, columns the leaderboard's rows (systems, ensembles,
any other row kind), cells mean ± std over seeds. Runs on different datasets become different
row groups (a run's dataset comes from its run.json: ``DCASE2023``, ``synthetic``, ...).

A reference table (``--reference FILE``, or the ``[paper] reference_csv`` of the experiment file
a run came from) has the columns ``dataset,split,domain,system,metric,mean,std`` in percent with
``metric`` ``auc`` or ``pauc`` (the paper's domain-only selections, see docs/metrics.md). With
it every seeds column gets three: ours, the paper's and the difference (ours - paper, in
percentage points). Reference rows are matched on the run's dataset, or on
``reference_dataset`` (to hold a synthetic run against DCASE2023); when none of our datasets is
in the reference, its rows are shown with the paper's numbers only.

LaTeX is written by hand rather than through pandas' ``Styler.to_latex``: the Styler emits
``\\multirow`` (an extra package), ``\\cline`` (which breaks booktabs' rule spacing), an extra
header row for the index names and raw ``±``/``Δ`` that pdflatex cannot typeset.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..results.runs import RunResults
from .formatting import (
    DECIMALS,
    ColumnGroup,
    latex_escape,
    latex_number,
    mean_std,
    render_records,
    render_text_table,
)
from .leaderboard import (
    DOMAIN_ORDER,
    LOWER_IS_BETTER,
    SHORT_NAMES,
    Cell,
    build_leaderboard,
)

__all__ = [
    "REFERENCE_COLUMNS",
    "Reference",
    "PaperTable",
    "read_reference",
    "configured_reference",
    "build_paper_table",
    "render_paper_table",
]

PathLike = str | os.PathLike[str]

REFERENCE_COLUMNS = ("dataset", "split", "domain", "system", "metric", "mean", "std")
REFERENCE_METRICS = {"auc": "hmean_auc_domain_only", "pauc": "hmean_pauc_domain_only"}
"""Reference metric names -> our aggregate names (the paper's Table 1 selections)."""
PAPER_METRICS = ("hmean_auc_domain_only", "hmean_pauc_domain_only")
ROW_NAMES = {"hmean_auc_domain_only": "AUC", "hmean_pauc_domain_only": "pAUC"}

RowKey = tuple[str, str, str, str]  # dataset, split, domain, metric


@dataclass
class Reference:
    path: Path
    table: pd.DataFrame  # REFERENCE_COLUMNS, metric in our names, mean/std as fractions

    def lookup(self) -> dict[tuple[str, str, str, str, str], tuple[float, float]]:
        """(dataset, split, domain, system, metric) -> (mean, std)."""
        cols = ["dataset", "split", "domain", "system", "metric", "mean", "std"]
        return {tuple(r[:5]): (r[5], r[6]) for r in self.table[cols].itertuples(index=False, name=None)}


def read_reference(path: PathLike, what: str = "--reference") -> Reference:
    """Read and check a reference table; every problem is one line naming the file."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{what}: reference table {p} not found")
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{what}: {p} is not a CSV file ({exc})") from None
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: {p} lacks column(s) {', '.join(missing)} (needs {','.join(REFERENCE_COLUMNS)})")
    unknown = sorted(set(frame["metric"]) - set(REFERENCE_METRICS))
    if unknown:
        raise DataError(f"{what}: {p}: unknown metric {unknown[0]!r} (known: {', '.join(REFERENCE_METRICS)})")
    try:
        frame["mean"] = frame["mean"].astype(float) / 100.0
        frame["std"] = pd.to_numeric(frame["std"].replace("", "nan")).astype(float) / 100.0
    except ValueError as exc:
        raise DataError(f"{what}: {p}: mean/std must be numbers in percent ({exc})") from None
    frame["metric"] = frame["metric"].map(REFERENCE_METRICS)
    return Reference(p, frame.loc[:, list(REFERENCE_COLUMNS)])


def configured_reference(runs: Sequence[RunResults]) -> tuple[Path | None, list[str]]:
    """The ``[paper] reference_csv`` of the first run whose experiment file named one, and notes
    for runs whose named file is gone."""
    notes: list[str] = []
    for run in runs:
        name = (run.config.get("reference") or {}).get("reference_csv")
        if not name:
            continue
        candidates = [Path(name)] if Path(name).is_absolute() else [run.path / name, Path(name)]
        for candidate in candidates:
            if candidate.is_file():
                return candidate, notes
        notes.append(f"{run.path}: its experiment's reference_csv {name} was not found; use --reference FILE")
    return None, notes


@dataclass
class PaperTable:
    rows: list[RowKey]
    columns: list[str]  # leaderboard row labels
    ours: dict[tuple[RowKey, str], Cell]
    paper: dict[tuple[RowKey, str], tuple[float, float]]
    best: set[tuple[RowKey, str]]
    reference: Reference | None = None
    notes: list[str] = field(default_factory=list)
    seeds_columns: set[str] = field(default_factory=set)  # the columns the reference can match

    @property
    def with_reference(self) -> bool:
        return self.reference is not None


def _row_order(key: RowKey, metrics: list[str]) -> tuple:
    dataset, split, domain, metric = key
    return (
        dataset,
        {"dev": 0, "eval": 1}.get(split, 2),
        split,
        DOMAIN_ORDER.index(domain) if domain in DOMAIN_ORDER else 9,
        metrics.index(metric) if metric in metrics else 99,
    )


def build_paper_table(
    runs: Sequence[RunResults],
    *,
    metrics: Sequence[str] | None = None,
    backend: str | None = None,
    splits: Sequence[str] | None = None,
    reference: Reference | None = None,
    reference_dataset: str | None = None,
) -> PaperTable:
    """Our cells by (dataset, split, domain, metric) x leaderboard row, plus the reference's."""
    names = list(metrics) if metrics else list(PAPER_METRICS)
    by_dataset: dict[str, list[RunResults]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run)
    table = PaperTable([], [], {}, {}, set(), reference)
    system_of: dict[str, str] = {}
    for dataset, group in by_dataset.items():
        board = build_leaderboard(group, metrics=names, backend=backend, splits=splits)
        for row in board.rows:
            if row.label not in table.columns:
                table.columns.append(row.label)
            if row.key.trial == "seeds":
                table.seeds_columns.add(row.label)
                system_of[row.label] = row.key.system
            for col, cell in zip(board.columns, row.cells, strict=True):
                if cell.n:
                    key = (dataset, col.split or "", col.domain, col.metric)
                    table.ours[(key, row.label)] = cell
    if reference is not None:
        _attach_reference(table, reference, reference_dataset, system_of, set(by_dataset), splits)
    table.rows = sorted({key for key, _ in table.ours} | {key for key, _ in table.paper},
                        key=lambda k: _row_order(k, names))
    _mark_best(table)
    return table


def _attach_reference(table: PaperTable, reference: Reference, reference_dataset: str | None,
                      system_of: dict[str, str], datasets: set[str], splits: Sequence[str] | None) -> None:
    lookup = reference.lookup()
    ref_datasets = list(dict.fromkeys(reference.table["dataset"]))
    if reference_dataset is not None and reference_dataset not in ref_datasets:
        raise DataError(f"--reference-dataset: {reference.path} has no dataset {reference_dataset!r} "
                        f"(it has: {', '.join(ref_datasets)})")
    # our rows: the run's own dataset, or the one the user holds them against
    for (key, label) in list(table.ours):
        if label not in system_of:
            continue
        dataset, split, domain, metric = key
        found = lookup.get((reference_dataset or dataset, split, domain, system_of[label], metric))
        if found is not None:
            table.paper[(key, label)] = found
    # only when none of our datasets is in the reference: its rows, with the paper's numbers only
    matched = reference_dataset is not None or any(d in ref_datasets for d in datasets)
    unmatched = [] if matched else ref_datasets
    for (dataset, split, domain, system, metric), value in lookup.items():
        if dataset not in unmatched or (splits and split not in splits):
            continue
        for label, sys_name in system_of.items():
            if sys_name == system:
                table.paper[((dataset, split, domain, metric), label)] = value
    if unmatched:
        table.notes.append(
            f"paper rows of {', '.join(unmatched)} have no run of ours (our data: {', '.join(sorted(datasets))}); "
            "--reference-dataset NAME holds our runs against one of them")


def _mark_best(table: PaperTable) -> None:
    """The best of our values in each row (after rounding, ties all marked), as the paper bolds."""
    for key in table.rows:
        shown = {
            label: round(100 * cell.mean, DECIMALS)
            for label in table.columns
            if (cell := table.ours.get((key, label))) is not None and math.isfinite(cell.mean)
        }
        if len(shown) < 2:
            continue
        pick = min if key[3] in LOWER_IS_BETTER else max
        target = pick(shown.values())
        table.best |= {(key, label) for label, v in shown.items() if v == target}


# -- rendering ---------------------------------------------------------------------------------

PARTS = ("ours", "paper", "Δ")


def _parts(table: PaperTable, label: str) -> tuple[str, ...]:
    return PARTS if table.with_reference and label in table.seeds_columns else ("ours",)


def _texts(table: PaperTable, key: RowKey, label: str) -> list[str]:
    cell = table.ours.get((key, label))
    ours = mean_std(cell.mean, cell.std, cell.n) if cell is not None else "-"
    if _parts(table, label) == ("ours",):
        return [ours]
    ref = table.paper.get((key, label))
    if ref is None:
        return [ours, "-", "-"]
    mean, std = ref
    paper = mean_std(mean, std, 2 if math.isfinite(std) else 1)
    diff = "-" if cell is None else f"{100 * (cell.mean - mean):+.{DECIMALS}f}"
    return [ours, paper, diff]


def _row_name(metric: str) -> str:
    return ROW_NAMES.get(metric) or SHORT_NAMES.get(metric, metric)


def _lead(table: PaperTable) -> list[list[str]]:
    """dataset / split / domain / metric, each shown only where it changes (as in the paper)."""
    out, previous = [], ("", "", "")
    for key in table.rows:
        dataset, split, domain, metric = key
        shown = [
            dataset if dataset != previous[0] else "",
            split if (dataset, split) != previous[:2] else "",
            domain if (dataset, split, domain) != previous else "",
            _row_name(metric),
        ]
        previous = (dataset, split, domain)
        out.append(shown)
    return out


def _note(table: PaperTable) -> str:
    ns = {c.n for c in table.ours.values()}
    what = "mean ± std over seeds, in %" if max(ns, default=0) > 1 else "values in %"
    note = f"{what}; AUC/pAUC: harmonic means over sections of the domain's clips; best of ours in bold"
    if table.reference is not None:
        note += f"; paper: {table.reference.path.name}, Δ = ours - paper (points)"
    return note


def _records(table: PaperTable) -> list[dict[str, Any]]:
    records = []
    for key in table.rows:
        for label in table.columns:
            cell = table.ours.get((key, label))
            ref = table.paper.get((key, label))
            if cell is None and ref is None:
                continue
            records.append({
                "dataset": key[0], "split": key[1], "domain": key[2], "metric": key[3], "column": label,
                "mean": cell.mean if cell else float("nan"),
                "std": cell.std if cell and cell.n > 1 else float("nan"),
                "n": cell.n if cell else 0, "best": (key, label) in table.best,
                "paper_mean": ref[0] if ref else float("nan"), "paper_std": ref[1] if ref else float("nan"),
                "diff": (cell.mean - ref[0]) if cell and ref else float("nan"),
            })
    return records


RECORD_COLUMNS = ("dataset", "split", "domain", "metric", "column", "mean", "std", "n", "best",
                  "paper_mean", "paper_std", "diff")


def _latex(table: PaperTable, note: str) -> str:
    spans = [(label, len(_parts(table, label))) for label in table.columns]
    n_num = sum(n for _, n in spans)
    lines = [f"\\begin{{tabular}}{{llll{'r' * n_num}}}", "\\toprule"]
    grouped = any(n > 1 for _, n in spans)
    if grouped:
        heads, rules, start = [], [], 5
        for label, n in spans:
            heads.append(f"\\multicolumn{{{n}}}{{c}}{{{latex_escape(label)}}}" if n > 1 else latex_escape(label))
            if n > 1:
                rules.append(f"\\cmidrule(lr){{{start}-{start + n - 1}}}")
            start += n
        lines.append(" & ".join(["", "", "", ""] + heads) + r" \\")
        lines.append(" ".join(rules))
        sub = [p if n > 1 else "" for label, n in spans for p in _parts(table, label)]
        sub = [s.replace("Δ", "$\\Delta$") for s in sub]
        lines.append(" & ".join(["dataset", "split", "domain", "metric"] + sub) + r" \\")
    else:
        lines.append(" & ".join(["", "", "", ""] + [f"\\multicolumn{{{n_num}}}{{c}}{{system}}"]) + r" \\")
        lines.append(f"\\cmidrule(lr){{5-{4 + n_num}}}")
        lines.append(" & ".join(["dataset", "split", "domain", "metric"]
                                + [latex_escape(label) for label in table.columns]) + r" \\")
    lines.append("\\midrule")
    for i, (key, lead) in enumerate(zip(table.rows, _lead(table), strict=True)):
        if i and lead[0]:
            lines.append("\\midrule")
        cells = [latex_escape(x) for x in lead]
        for label in table.columns:
            texts = [latex_number(t) for t in _texts(table, key, label)]
            if (key, label) in table.best:
                texts[0] = f"\\textbf{{{texts[0]}}}"
            cells += texts
        lines.append(" & ".join(cells) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    ascii_note = note.replace("±", "+-").replace("Δ", "Delta")
    return "\n".join(lines) + "\n" + f"% {ascii_note}\n"


def render_paper_table(table: PaperTable, fmt: str, *, width: int | None = None) -> str:
    """The paper layout in ``plain``, ``github``, ``latex``, ``csv`` or ``json``."""
    note = _note(table)
    if fmt in ("csv", "json"):
        return render_records(_records(table), fmt, RECORD_COLUMNS)
    if fmt == "latex":
        return _latex(table, note)
    lead_headers = ["dataset", "split", "domain", "metric"]
    headers, groups, j = list(lead_headers), [], len(lead_headers)
    for label in table.columns:
        parts = _parts(table, label)
        headers += [f"{label} {p}" if len(parts) > 1 else label for p in parts]
        groups.append(ColumnGroup(label if len(parts) > 1 else "", tuple(range(j, j + len(parts))),
                                  parts if len(parts) > 1 else (label,)))
        j += len(parts)
    if not table.with_reference:  # one group of systems, cut where too wide
        groups = [ColumnGroup("", tuple(range(len(lead_headers), len(headers))), tuple(table.columns))]
    body = [lead + [t for label in table.columns for t in _texts(table, key, label)]
            for key, lead in zip(table.rows, _lead(table), strict=True)]
    bold = set()
    for i, key in enumerate(table.rows):
        j = len(lead_headers)
        for label in table.columns:
            if (key, label) in table.best:
                bold.add((i, j))
            j += len(_parts(table, label))
    if fmt == "plain":
        note = note.replace("; best of ours in bold", "")
    return render_text_table(headers, body, fmt, bold=bold, numeric_from=len(lead_headers), note=note,
                             width=width, groups=groups, marks_mean="best of ours in the row")
