"""Paired comparison of two systems over matched seeds: is the difference more than noise?

For each leaderboard column, d_k = value_A(seed k) - value_B(seed k) over the integer seeds both
systems have. Reported: mean difference, the paired-t 95% CI ``mean ± t_{0.975, n-1} s / sqrt(n)``
(s: sample std, ddof=1; identical to ``scipy.stats.ttest_rel(...).confidence_interval()``), its
two-sided p-value, and a percentile bootstrap 95% CI of the mean difference (resampling seeds
with replacement, seeded; ``scipy.stats.bootstrap``). The t interval needs 2 matched seeds; the
bootstrap needs 3 (two values
have only three distinct resample means, which would give a falsely narrow interval); below
that the interval is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..results.layout import ENSEMBLE
from ..results.runs import RunResults
from .formatting import DECIMALS, percent, render_records, render_text_table
from .leaderboard import Column, Leaderboard, Row, build_leaderboard

__all__ = ["PairedResult", "paired_t_ci", "bootstrap_ci", "compare_paired", "render_paired"]


@dataclass(frozen=True)
class PairedResult:
    column: Column
    split: str | None
    machine: str
    seeds: tuple[str, ...]
    mean_a: float
    mean_b: float
    diff: float
    t_low: float
    t_high: float
    p_value: float
    boot_low: float
    boot_high: float

    @property
    def n(self) -> int:
        return len(self.seeds)

    def excludes_zero(self) -> str:
        t = self.t_low > 0 or self.t_high < 0
        b = self.boot_low > 0 or self.boot_high < 0
        return {(True, True): "t+boot", (True, False): "t", (False, True): "boot"}.get((t, b), "no")


def paired_t_ci(diffs: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(low, high, two-sided p) of the mean of paired differences; NaN when n < 2."""
    d = np.asarray(diffs, dtype=float)
    n = d.size
    if n < 2:
        return float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        return mean, mean, (0.0 if mean != 0 else 1.0)
    from scipy import stats  # imported here: listing and comparing runs must not pay for scipy

    t_crit = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    p = float(2 * stats.t.sf(abs(mean / se), n - 1))
    return mean - t_crit * se, mean + t_crit * se, p


def bootstrap_ci(
    diffs: np.ndarray, *, n_boot: int = 10000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean difference (``scipy.stats.bootstrap``, seeded); NaN
    when n < 3."""
    d = np.asarray(diffs, dtype=float)
    if d.size < 3:
        return float("nan"), float("nan")
    from scipy import stats

    result = stats.bootstrap((d,), np.mean, n_resamples=n_boot, confidence_level=confidence,
                             method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _find(board: Leaderboard, name: str) -> list[Row]:
    rows = [r for r in board.rows if r.key.trial == "seeds"]
    exact = [r for r in rows if r.label == name]
    if exact:
        return exact
    by_system = [r for r in rows if r.key.system == name]
    labels = {r.label for r in by_system}
    if len(labels) > 1:
        raise ConfigError(
            f"--paired: {name!r} is ambiguous; use one of: {', '.join(sorted(labels))}"
        )
    if not by_system:
        available = sorted({r.label for r in rows})
        raise ConfigError(
            f"--paired: no system {name!r} with seed trials (available: {', '.join(available)})"
        )
    return by_system


def _seed_values(
    runs: Sequence[RunResults], row: Row, col: Column, split: str, machine: str
) -> dict[str, float]:
    for run in runs:
        if run.name != row.key.run:
            continue
        f = run.results
        sel = (
            (f["system"] == row.key.system)
            & (f["backend"] == row.key.backend)
            & (f["seed"] != ENSEMBLE)
            & (f["split"] == split)
            & (f["machine"] == machine)
            & (f["section"] == "*")
            & (f["domain"] == col.domain)
            & (f["metric"] == col.metric)
        )
        part = f.loc[sel, ["seed", "value"]]
        return {s: float(v) for s, v in part.itertuples(index=False, name=None) if math.isfinite(v)}
    return {}


def compare_paired(
    runs: Sequence[RunResults],
    a: str,
    b: str,
    *,
    metrics: Sequence[str] | None = None,
    by_machine: bool = False,
    backend: str | None = None,
    splits: Sequence[str] | None = None,
    n_boot: int = 10000,
    seed: int = 0,
) -> list[PairedResult]:
    """A minus B for every leaderboard column (and machine type with ``by_machine``)."""
    board = build_leaderboard(
        runs, metrics=metrics, by_machine=by_machine, backend=backend, splits=splits
    )
    rows_a, rows_b = _find(board, a), _find(board, b)
    results: list[PairedResult] = []
    for row_a in rows_a:
        partners = [r for r in rows_b if (r.split, r.machine) == (row_a.split, row_a.machine)]
        for row_b in partners:
            for col in board.columns:
                split = col.split if col.split is not None else row_a.split
                va = _seed_values(runs, row_a, col, split, row_a.machine)
                vb = _seed_values(runs, row_b, col, split, row_a.machine)
                seeds = tuple(sorted(set(va) & set(vb), key=lambda s: (len(s), s)))
                if not seeds:
                    continue
                da = np.array([va[s] for s in seeds])
                db = np.array([vb[s] for s in seeds])
                diffs = da - db
                t_low, t_high, p = paired_t_ci(diffs)
                b_low, b_high = bootstrap_ci(diffs, n_boot=n_boot, seed=seed)
                results.append(
                    PairedResult(
                        col,
                        split,
                        row_a.machine,
                        seeds,
                        float(da.mean()),
                        float(db.mean()),
                        float(diffs.mean()),
                        t_low,
                        t_high,
                        p,
                        b_low,
                        b_high,
                    )
                )
    if not results:
        raise ConfigError(f"--paired: {a!r} and {b!r} share no seed with results")
    return results


PAIRED_RECORD_COLUMNS = (
    "a",
    "b",
    "split",
    "machine",
    "domain",
    "metric",
    "column",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "t_low",
    "t_high",
    "p_value",
    "boot_low",
    "boot_high",
    "excludes_zero",
)


def _pp(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:+.{DECIMALS}f}"


def render_paired(results: Sequence[PairedResult], a: str, b: str, fmt: str) -> str:
    """Differences in percentage points (one decimal, as every table) in text formats, fractions in
    csv/json."""
    if fmt in ("csv", "json"):
        records: list[dict[str, Any]] = [
            {
                "a": a,
                "b": b,
                "split": r.split,
                "machine": r.machine,
                "domain": r.column.domain,
                "metric": r.column.metric,
                "column": r.column.header,
                "n": r.n,
                "mean_a": r.mean_a,
                "mean_b": r.mean_b,
                "diff": r.diff,
                "t_low": r.t_low,
                "t_high": r.t_high,
                "p_value": r.p_value,
                "boot_low": r.boot_low,
                "boot_high": r.boot_high,
                "excludes_zero": r.excludes_zero(),
            }
            for r in results
        ]
        return render_records(records, fmt, PAIRED_RECORD_COLUMNS)
    by_machine = any(r.column.split is None for r in results)
    lead = ["split", "machine", "column"] if by_machine else ["column"]
    headers = lead + ["n", a, b, "A - B", "t 95% CI", "bootstrap 95% CI", "p (t)", "CI excludes 0"]
    body = []
    for r in results:
        keys = [r.split or "", r.machine, r.column.header] if by_machine else [r.column.header]
        body.append(
            keys
            + [
                str(r.n),
                percent(r.mean_a),
                percent(r.mean_b),
                _pp(r.diff),
                f"[{_pp(r.t_low)}, {_pp(r.t_high)}]",
                f"[{_pp(r.boot_low)}, {_pp(r.boot_high)}]",
                "-" if not math.isfinite(r.p_value) else f"{r.p_value:.3g}",
                r.excludes_zero(),
            ]
        )
    note = f"A = {a}, B = {b}; values in %, differences in percentage points over matched seeds"
    return render_text_table(headers, body, fmt, numeric_from=len(lead), note=note)
