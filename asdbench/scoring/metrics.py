"""DCASE Task 2 metrics with official semantics, as tidy rows (see docs/metrics.md).

Per split, machine type and section (``machine``/``section`` set):

====================  =======  ============================================================
metric                domain   clips used
====================  =======  ============================================================
auc, pauc             source   source normals + anomalies of *both* domains (official AUC)
auc, pauc             target   target normals + anomalies of both domains (official AUC)
auc, pauc             mixed    all clips of the section (``pauc``/mixed is the official pAUC)
auc_domain_only,      source/  only the clips of that domain (what the reference script and
pauc_domain_only      target   the paper's Table 1 report; never the official numbers)
precision, recall, f1 source/  decisions on the clips of that domain (official evaluator)
                      target
====================  =======  ============================================================

pAUC is always scikit-learn's McClish-standardised partial AUC with max FPR 0.1.

Aggregates (``section == "*"``; ``machine == "*"`` for the whole split, or the machine type for a
per-machine breakdown): ``hmean_<m>`` / ``amean_<m>`` of every per-section metric ``<m>`` over
the sections, per domain (harmonic means floor each value at machine epsilon, as the official
evaluator does); ``official_score`` (domain ``mixed``); at split level also
``official_score_ci95`` (the evaluator's jackknife half-width, see :mod:`.jackknife`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.editions import edition, scoring_edition
from ..data.names import normalize_section
from ..errors import DataError
from .jackknife import official_ci95
from .roc import MAX_FPR, partial_roc_auc, roc_auc

__all__ = [
    "DOMAINS",
    "MIXED",
    "ALL",
    "EPS",
    "MetricWarning",
    "OfficialRule",
    "official_rule",
    "harmonic_mean",
    "arithmetic_mean",
    "section_metrics",
    "score_clips",
]

DOMAINS = ("source", "target")
MIXED = "mixed"
ALL = "*"
EPS = sys.float_info.epsilon  # == np.finfo(float).eps, the official floor

SECTION_METRICS = (
    "auc",
    "pauc",
    "auc_domain_only",
    "pauc_domain_only",
    "precision",
    "recall",
    "f1",
)
_DOMAIN_ORDER = {"source": 0, "target": 1, MIXED: 2}


class MetricWarning(UserWarning):
    """A metric is undefined (one class only) and was left out of the aggregates."""


@dataclass(frozen=True)
class OfficialRule:
    """Which per-section values enter the official score, and which mean combines them."""

    version: str
    components: tuple[tuple[str, str], ...]  # (metric, domain) pairs
    mean: str  # "harmonic" or "arithmetic"

    def combine(self, values: Sequence[float]) -> float:
        if self.mean == "harmonic":
            return harmonic_mean(values)
        return arithmetic_mean(values)


_RULE_2020 = (("auc", MIXED), ("pauc", MIXED))
_RULE_2021 = (
    ("auc_domain_only", "source"),
    ("auc_domain_only", "target"),
    ("pauc_domain_only", "source"),
    ("pauc_domain_only", "target"),
)
_RULE_2022 = (("auc", "source"), ("auc", "target"), ("pauc", MIXED))


def official_rule(dataset_version: str | int) -> OfficialRule:
    """The official score's definition for a DCASE edition.

    2020: arithmetic mean of AUC and pAUC over all sections (no domains). 2021: harmonic mean of
    the per-domain AUCs and pAUCs (each domain scored on its own clips). 2022-2025: harmonic mean
    of AUC(source), AUC(target) (official selection) and pAUC (all clips). ``synthetic`` data is
    scored like 2023.
    """
    version = scoring_edition(dataset_version)
    rule = edition(version).scoring_rule
    if rule == "2020":
        return OfficialRule(version, _RULE_2020, "arithmetic")
    if rule == "2021":
        return OfficialRule(version, _RULE_2021, "harmonic")
    return OfficialRule(version, _RULE_2022, "harmonic")


def harmonic_mean(values: Iterable[float]) -> float:
    """Harmonic mean with every value floored at machine epsilon (official); NaN if empty."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return float("nan")
    x = np.maximum(x, EPS)
    return float(x.size / np.sum(1.0 / x))


def arithmetic_mean(values: Iterable[float]) -> float:
    x = np.asarray(list(values), dtype=float)
    return float(np.mean(x)) if x.size else float("nan")


def _decision_metrics(y: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 with the official evaluator's epsilon guards (never NaN)."""
    tp = float(np.sum((d == 1) & (y == 1)))
    fp = float(np.sum((d == 1) & (y == 0)))
    fn = float(np.sum((d == 0) & (y == 1)))
    precision = tp / max(tp + fp, EPS)
    recall = tp / max(tp + fn, EPS)
    f1 = 2.0 * precision * recall / max(precision + recall, EPS)
    return precision, recall, f1


def section_metrics(
    label: np.ndarray,
    score: np.ndarray,
    domain: np.ndarray,
    decision: np.ndarray | None = None,
) -> list[tuple[str, str, float]]:
    """``(domain, metric, value)`` for the clips of one machine type and section.

    A domain without any clip yields no rows; a selection with only one class yields NaN.
    Decision metrics are computed only when ``decision`` is given without NaN.
    """
    y = np.asarray(label, dtype=int)
    s = np.asarray(score, dtype=float)
    dom = np.asarray(domain).astype(str)
    dec = None
    if decision is not None:
        dec_f = np.asarray(decision, dtype=float)
        if not np.isnan(dec_f).any():
            dec = dec_f.astype(int)
    rows: list[tuple[str, str, float]] = []
    for d in DOMAINS:
        in_domain = dom == d
        if not in_domain.any():
            continue
        official = in_domain | (y == 1)
        rows.append((d, "auc", roc_auc(y[official], s[official])))
        rows.append((d, "pauc", partial_roc_auc(y[official], s[official], MAX_FPR)))
        rows.append((d, "auc_domain_only", roc_auc(y[in_domain], s[in_domain])))
        rows.append((d, "pauc_domain_only", partial_roc_auc(y[in_domain], s[in_domain], MAX_FPR)))
        if dec is not None:
            p, r, f = _decision_metrics(y[in_domain], dec[in_domain])
            rows += [(d, "precision", p), (d, "recall", r), (d, "f1", f)]
    rows.append((MIXED, "auc", roc_auc(y, s)))
    rows.append((MIXED, "pauc", partial_roc_auc(y, s, MAX_FPR)))
    return rows


# ------------------------------------------------------------------------------------------
# score_clips: the function the runner and `asdbench evaluate` call
# ------------------------------------------------------------------------------------------

_REQUIRED = ("file", "machine", "section", "split", "domain", "label", "score")


def _validate(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"clip table: missing column(s) {', '.join(missing)}")
    frame = df.copy()
    try:
        frame["section"] = frame["section"].map(normalize_section)
    except ValueError as exc:
        raise DataError(f"clip table: {exc}") from None
    for col in ("machine", "split", "domain", "file"):
        frame[col] = frame[col].astype(str)
    bad = ~frame["domain"].isin(DOMAINS)
    if bad.any():
        row = frame[bad].iloc[0]
        raise DataError(f"{row['file']}: domain must be source or target, got {row['domain']!r}")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = ~labels.isin([0, 1])
    if bad.any():
        row = frame[bad].iloc[0]
        raise DataError(
            f"{row['file']}: label must be 0 (normal) or 1 (anomaly), got {row['label']!r}"
        )
    frame["label"] = labels.astype(int)
    scores = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    bad = ~np.isfinite(scores.to_numpy())
    if bad.any():
        row = frame[bad].iloc[0]
        raise DataError(f"{row['file']}: anomaly score {row['score']!r} is not a finite number")
    frame["score"] = scores
    if "decision" in frame.columns:
        dec = pd.to_numeric(frame["decision"], errors="coerce").astype(float)
        bad = dec.notna() & ~dec.isin([0.0, 1.0])
        if bad.any():
            row = frame[bad].iloc[0]
            raise DataError(f"{row['file']}: decision must be 0 or 1, got {row['decision']!r}")
        frame["decision"] = dec
    else:
        frame["decision"] = np.nan
    dup = frame.duplicated(["split", "machine", "section", "file"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise DataError(
            f"{row['file']}: appears twice in {row['split']} {row['machine']} section {row['section']}"
        )
    return frame


def _aggregate_rows(
    section_rows: pd.DataFrame, rule: OfficialRule, machine: str
) -> list[tuple[str, str, str, str, float]]:
    """hmean_/amean_ of every (metric, domain) over the given section rows, plus the official score."""
    rows: list[tuple[str, str, str, str, float]] = []
    groups = section_rows.groupby(["metric", "domain"], sort=False)["value"]
    for (metric, domain), values in groups:
        finite = values.dropna()
        rows.append((machine, ALL, domain, f"hmean_{metric}", harmonic_mean(finite)))
        rows.append((machine, ALL, domain, f"amean_{metric}", arithmetic_mean(finite)))
    # on "mixed" the domain-only selection is all clips: repeat those rows under the
    # domain-only names so the paper's Table 1 (source/target/mixed) reads from one name.
    for metric in ("auc", "pauc"):
        for prefix in ("hmean", "amean"):
            for m, sec, dom, name, value in list(rows):
                if dom == MIXED and name == f"{prefix}_{metric}":
                    rows.append((m, sec, MIXED, f"{prefix}_{metric}_domain_only", value))
    component_values = []
    for metric, domain in rule.components:
        sel = (section_rows["metric"] == metric) & (section_rows["domain"] == domain)
        component_values.extend(section_rows.loc[sel, "value"].dropna().tolist())
    rows.append((machine, ALL, MIXED, "official_score", rule.combine(component_values)))
    return rows


def _sort_key(frame: pd.DataFrame) -> pd.DataFrame:
    is_agg_machine = (frame["machine"] == ALL).astype(int)
    is_agg_section = (frame["section"] == ALL).astype(int)
    metric_pos = frame["metric"].map(
        lambda m: SECTION_METRICS.index(m) if m in SECTION_METRICS else len(SECTION_METRICS)
    )
    return frame.assign(
        _a=is_agg_machine,
        _b=is_agg_section,
        _d=frame["domain"].map(_DOMAIN_ORDER),
        _m=metric_pos,
    )


def score_clips(
    df: pd.DataFrame, *, dataset_version: str | int, confidence_interval: bool = True
) -> pd.DataFrame:
    """All metrics of a table of scored test clips, as tidy rows.

    ``df``: one row per clip with ``file, machine, section, split, domain (source|target),
    label (0|1), score`` and optionally ``decision`` (0|1; NaN = no decision). Returns columns
    ``split, machine, section, domain, metric, value``: per-section rows, per-machine aggregates
    (``section == "*"``) and split aggregates (``machine == section == "*"``), including
    ``official_score`` and (unless ``confidence_interval=False``) ``official_score_ci95``.
    Undefined values (a selection with one class only) are NaN, left out of every aggregate,
    and reported in one :class:`MetricWarning`.
    """
    rule = official_rule(dataset_version)
    frame = _validate(df)
    if frame.empty:
        raise DataError("clip table: no clips to score")
    out: list[tuple[str, str, str, str, str, float]] = []
    undefined: list[str] = []
    for split, split_frame in frame.groupby("split", sort=True):
        section_rows = []
        for (machine, section), g in split_frame.groupby(["machine", "section"], sort=True):
            for domain, metric, value in section_metrics(
                g["label"].to_numpy(),
                g["score"].to_numpy(),
                g["domain"].to_numpy(),
                g["decision"].to_numpy(),
            ):
                section_rows.append((machine, section, domain, metric, value))
                if np.isnan(value):
                    undefined.append(f"{split} {machine} section {section} {metric} ({domain})")
        sec = pd.DataFrame(
            section_rows, columns=["machine", "section", "domain", "metric", "value"]
        )
        rows = list(sec.itertuples(index=False, name=None))
        for machine, machine_rows in sec.groupby("machine", sort=True):
            rows += _aggregate_rows(machine_rows, rule, machine)
        rows += _aggregate_rows(sec, rule, ALL)
        if confidence_interval:
            ci = official_ci95(split_frame["label"].to_numpy(), split_frame["score"].to_numpy())
            rows.append((ALL, ALL, MIXED, "official_score_ci95", ci))
        out += [(split, *r) for r in rows]
    if undefined:
        warnings.warn(
            "undefined because the selected clips hold only one class (NaN, left out of the "
            "aggregates): " + "; ".join(undefined),
            MetricWarning,
            stacklevel=2,
        )
    result = pd.DataFrame(out, columns=["split", "machine", "section", "domain", "metric", "value"])
    result["value"] = result["value"].astype(float)
    keyed = _sort_key(result)
    keyed = keyed.sort_values(
        ["split", "_a", "_b", "machine", "section", "_m", "metric", "_d"], kind="mergesort"
    )
    return keyed.drop(columns=["_a", "_b", "_d", "_m"]).reset_index(drop=True)
