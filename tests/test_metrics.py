"""Golden tests of the DCASE metrics: hand-computed numbers, official selections, aggregates."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from asdbench.errors import ConfigError, DataError
from asdbench.scoring import MetricWarning, official_rule, score_clips, section_metrics
from asdbench.scoring.jackknife import jackknife_auc, official_ci95
from asdbench.scoring.metrics import EPS, arithmetic_mean, harmonic_mean
from asdbench.scoring.roc import partial_roc_auc, roc_auc


def as_dict(rows):
    return {(d, m): v for d, m, v in rows}


def clips(sections: dict[tuple[str, str], list[tuple[str, int, float, int]]], split="eval"):
    """Clip table from {(machine, section): [(domain, label, score, decision), ...]}."""
    out = []
    for (machine, section), items in sections.items():
        for i, (domain, label, score, decision) in enumerate(items):
            out.append(
                dict(
                    file=f"section_{section}_{i:04d}.wav",
                    machine=machine,
                    section=section,
                    split=split,
                    domain=domain,
                    label=label,
                    score=score,
                    decision=decision,
                )
            )
    return pd.DataFrame(out)


def value(rows: pd.DataFrame, metric, domain, machine="*", section="*", split="eval"):
    sel = rows[
        (rows.split == split)
        & (rows.machine == machine)
        & (rows.section == section)
        & (rows.domain == domain)
        & (rows.metric == metric)
    ]
    assert len(sel) == 1, (metric, domain, machine, section, len(sel))
    return float(sel.value.iloc[0])


# --------------------------------------------------------------------------------------------
# AUC / pAUC by hand
# --------------------------------------------------------------------------------------------


def test_auc_three_normals_two_anomalies():
    # normals 0.1 0.4 0.35, anomalies 0.8 0.3: 0.8 beats all 3 normals, 0.3 beats only 0.1
    # -> (3 + 1) / (3 * 2) = 4/6
    y = [0, 0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8, 0.3]
    assert roc_auc(y, s) == pytest.approx(4 / 6, abs=1e-15)


def test_auc_ties_count_one_half():
    # normals 0.1 0.3 0.5, anomalies 0.5 0.9: 0.9 beats 3; 0.5 beats 0.1 and 0.3 and ties
    # 0.5 (counts 1/2) -> (3 + 2.5) / 6 = 5.5/6
    y = [0, 0, 0, 1, 1]
    s = [0.1, 0.3, 0.5, 0.5, 0.9]
    assert roc_auc(y, s) == pytest.approx(5.5 / 6, abs=1e-15)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-15)
    # all scores tied: every pair is a tie -> 0.5
    assert roc_auc(y, [0.2] * 5) == pytest.approx(0.5)


def test_pauc_mcclish_step_case():
    # 10 normals 0.0..0.9, anomalies 0.95 and 0.45. Up to FPR 0.1 the curve sits at TPR 0.5
    # (the first anomaly outranks every normal; the next clip is a normal, FPR 0.1).
    # area = 0.5 * 0.1 = 0.05; McClish: 0.5 * (1 + (0.05 - 0.005) / (0.1 - 0.005)) = 14/19
    y = [0] * 10 + [1, 1]
    s = [i / 10 for i in range(10)] + [0.95, 0.45]
    assert partial_roc_auc(y, s, 0.1) == pytest.approx(14 / 19, abs=1e-15)
    assert roc_auc_score(y, s, max_fpr=0.1) == pytest.approx(14 / 19, abs=1e-15)


def test_pauc_mcclish_interpolated_tie_segment():
    # anomalies 0.9 0.5, normals 0.5 0.3 0.1. Curve: (0,0) -> (0,0.5) [the 0.9 anomaly] ->
    # (1/3, 1) [the tied 0.5 pair: one diagonal step]. TPR at FPR 0.1 by interpolation:
    # 0.5 + 0.5 * 0.1 / (1/3) = 0.65; area = (0.5 + 0.65) / 2 * 0.1 = 0.0575;
    # McClish: 0.5 * (1 + (0.0575 - 0.005) / 0.095) = 59/76
    y = [1, 1, 0, 0, 0]
    s = [0.9, 0.5, 0.5, 0.3, 0.1]
    assert partial_roc_auc(y, s, 0.1) == pytest.approx(59 / 76, abs=1e-14)
    assert partial_roc_auc(y, s, 0.1) == pytest.approx(roc_auc_score(y, s, max_fpr=0.1), abs=1e-15)


def test_single_anomaly_section():
    # normals 0.1 0.2 0.3, one anomaly 0.25: beats 2 of 3 -> AUC 2/3. The top clip is a normal
    # (FPR jumps to 1/3 at TPR 0): partial area 0 -> McClish 0.5 * (1 - 0.005/0.095) = 9/19
    rows = as_dict(section_metrics([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.25], ["source"] * 4))
    assert rows[("mixed", "auc")] == pytest.approx(2 / 3)
    assert rows[("source", "auc")] == pytest.approx(2 / 3)
    assert rows[("mixed", "pauc")] == pytest.approx(9 / 19)
    assert ("target", "auc") not in rows  # no target clips at all: no target rows


# --------------------------------------------------------------------------------------------
# Official selections
# --------------------------------------------------------------------------------------------

# source normals 0.2 0.4, source anomaly 0.6, target normal 0.7, target anomaly 0.5
GOLDEN = [
    ("source", 0, 0.2, 0),
    ("source", 0, 0.4, 1),
    ("source", 1, 0.6, 1),
    ("target", 0, 0.7, 1),
    ("target", 1, 0.5, 0),
]


def golden_rows():
    d, y, s, dec = zip(*GOLDEN, strict=True)
    return as_dict(section_metrics(np.array(y), np.array(s), np.array(d), np.array(dec)))


def test_official_selection_uses_anomalies_of_both_domains():
    r = golden_rows()
    # AUC(source): normals {0.2, 0.4} vs anomalies of BOTH domains {0.6, 0.5}: 4/4
    assert r[("source", "auc")] == 1.0
    # AUC(target): normal {0.7} vs anomalies {0.6, 0.5}: 0/2
    assert r[("target", "auc")] == 0.0
    # domain-only: source normals vs the source anomaly only; target normal vs target anomaly
    assert r[("source", "auc_domain_only")] == 1.0
    assert r[("target", "auc_domain_only")] == 0.0
    # all clips: 0.6 and 0.5 each beat 0.2 and 0.4, lose to 0.7 -> 4/6
    assert r[("mixed", "auc")] == pytest.approx(4 / 6)
    # pAUC(all): top clip is the 0.7 normal -> TPR 0 up to FPR 1/3 -> 9/19
    assert r[("mixed", "pauc")] == pytest.approx(9 / 19)
    assert r[("source", "pauc")] == pytest.approx(1.0)
    assert r[("target", "pauc")] == pytest.approx(9 / 19)


def test_official_selection_differs_from_domain_only():
    # target normals 0.1, 0.9; target anomaly 0.5; source anomaly 0.95; source normal 0.2
    d = np.array(["target", "target", "target", "source", "source"])
    y = np.array([0, 0, 1, 1, 0])
    s = np.array([0.1, 0.9, 0.5, 0.95, 0.2])
    r = as_dict(section_metrics(y, s, d))
    # domain-only target: anomaly 0.5 vs normals 0.1, 0.9 -> 1/2
    assert r[("target", "auc_domain_only")] == pytest.approx(0.5)
    # official target: anomalies {0.5, 0.95} vs normals {0.1, 0.9} -> (1 + 2) / 4
    assert r[("target", "auc")] == pytest.approx(0.75)


def test_precision_recall_f1_per_domain_with_official_guards():
    r = golden_rows()
    # source: decisions normal 0.2->0, normal 0.4->1, anomaly->1: tp 1, fp 1, fn 0
    assert r[("source", "precision")] == pytest.approx(0.5)
    assert r[("source", "recall")] == pytest.approx(1.0)
    assert r[("source", "f1")] == pytest.approx(2 / 3)
    # target: normal->1, anomaly->0: tp 0 -> 0/eps guards give 0, not NaN
    assert (r[("target", "precision")], r[("target", "recall")], r[("target", "f1")]) == (0, 0, 0)


def test_no_decisions_no_decision_metrics():
    d, y, s, _ = zip(*GOLDEN, strict=True)
    r = as_dict(section_metrics(np.array(y), np.array(s), np.array(d), np.full(5, np.nan)))
    assert not any(m in ("precision", "recall", "f1") for _, m in r)


# --------------------------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------------------------


def test_harmonic_and_arithmetic_means():
    assert harmonic_mean([0.5, 1.0]) == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert arithmetic_mean([0.5, 1.0]) == pytest.approx(0.75)
    assert math.isnan(harmonic_mean([]))
    assert EPS == np.finfo(float).eps == sys.float_info.epsilon


def test_eps_floor_with_an_auc_of_zero():
    # the golden section has AUC(target) = 0: the 2023 official score is the harmonic mean
    # of [1.0, eps, 9/19] = 3 / (1 + 1/eps + 19/9), i.e. about 3 * eps, not 0 or an error
    rows = score_clips(clips({("fan", "00"): GOLDEN}), dataset_version="2023")
    expected = 3 / (1 + 1 / EPS + 19 / 9)
    assert value(rows, "official_score", "mixed") == pytest.approx(expected, rel=1e-12)
    assert value(rows, "official_score", "mixed") > 0
    assert stats.hmean(np.maximum([1.0, 0.0, 9 / 19], EPS)) == pytest.approx(expected, rel=1e-12)


def test_harmonic_vs_arithmetic_switch_by_dataset_version():
    table = clips({("fan", "00"): GOLDEN})
    r2020 = score_clips(table, dataset_version="2020")
    # 2020: arithmetic mean of AUC (all clips) and pAUC: (4/6 + 9/19) / 2 = 65/114
    assert value(r2020, "official_score", "mixed") == pytest.approx(65 / 114)
    r2021 = score_clips(table, dataset_version="2021")
    # 2021: harmonic mean of the domain-only AUCs and pAUCs: [1, 0, 1, 9/19] with eps floor
    assert value(r2021, "official_score", "mixed") == pytest.approx(
        4 / (1 + 1 / EPS + 1 + 19 / 9), rel=1e-12
    )
    with pytest.raises(ConfigError, match="dataset-version"):
        score_clips(table, dataset_version="2019")
    assert official_rule("synthetic").components == official_rule("2023").components


def test_split_aggregates_over_sections():
    rng = np.random.default_rng(3)
    sections = {}
    for machine in ("fan", "valve", "slide_rail"):
        items = []
        for i in range(40):
            label = int(i % 4 == 0)
            domain = "source" if i < 30 else "target"
            items.append((domain, label, float(rng.normal() + label), int(rng.random() < 0.3)))
        sections[(machine, "00")] = items
    rows = score_clips(clips(sections), dataset_version="2023")
    per = {m: {} for m in ("fan", "valve", "slide_rail")}
    for m in per:
        for dom in ("source", "target"):
            per[m][dom] = value(rows, "auc", dom, machine=m, section="00")
        per[m]["pauc"] = value(rows, "pauc", "mixed", machine=m, section="00")
    official = stats.hmean([per[m][k] for k in ("source", "target", "pauc") for m in per])
    assert value(rows, "official_score", "mixed") == pytest.approx(official, rel=1e-12)
    hm_source = stats.hmean([per[m]["source"] for m in per])
    assert value(rows, "hmean_auc", "source") == pytest.approx(hm_source, rel=1e-12)
    am_target = np.mean([per[m]["target"] for m in per])
    assert value(rows, "amean_auc", "target") == pytest.approx(am_target, rel=1e-12)
    # per-machine aggregates of a one-section machine equal its section values
    assert value(rows, "hmean_auc", "source", machine="valve") == pytest.approx(
        per["valve"]["source"]
    )
    # the domain-only family on "mixed" repeats the all-clip value (the paper's "mixed" row)
    assert value(rows, "hmean_auc_domain_only", "mixed") == value(rows, "hmean_auc", "mixed")
    assert set(rows.columns) == {"split", "machine", "section", "domain", "metric", "value"}


def independent_official(table: pd.DataFrame) -> tuple[float, float]:
    """The official evaluator's steps, written out with sklearn/scipy only."""
    auc_s, auc_t, paucs, ys, ss = [], [], [], [], []
    for _, g in table.groupby(["machine", "section"], sort=True):
        y, s, d = (
            g.label.to_numpy(),
            g.score.to_numpy(),
            (g.domain == "target").to_numpy().astype(int),
        )
        ys.extend(y)
        ss.extend(s)
        paucs.append(roc_auc_score(y, s, max_fpr=0.1))
        for idx, out in ((0, auc_s), (1, auc_t)):
            sel = (d == idx) | (y != 0)
            out.append(roc_auc_score(y[sel], s[sel]))
    score = stats.hmean(np.maximum(np.array(auc_s + auc_t + paucs), sys.float_info.epsilon))

    def ci(fn):
        y, s = np.array(ys), np.array(ss)
        n = len(y)
        parts = [fn(np.delete(y, i), np.delete(s, i)) for i in range(n)]
        sigma = np.sqrt(np.sum((np.array(parts) - np.mean(parts)) ** 2) / (n * (n - 1)))
        return abs(stats.t.ppf(0.025, n - 1)) * sigma

    ci95 = np.mean([ci(roc_auc_score), ci(lambda a, b: roc_auc_score(a, b, max_fpr=0.1))])
    return float(score), float(ci95)


def test_matches_an_independent_reimplementation_of_the_official_evaluator():
    rng = np.random.default_rng(11)
    sections = {}
    for machine, section in (("ToyCar", "00"), ("ToyCar", "01"), ("fan", "00")):
        items = []
        for i in range(24):
            label = int(i % 3 == 0)
            domain = "target" if i % 4 == 1 else "source"
            score = float(np.round(rng.normal() + 0.8 * label, 1))  # rounding creates ties
            items.append((domain, label, score, 0))
        sections[(machine, section)] = items
    table = clips(sections)
    rows = score_clips(table, dataset_version="2022")
    score, ci95 = independent_official(table)
    assert value(rows, "official_score", "mixed") == pytest.approx(score, rel=1e-12)
    assert value(rows, "official_score_ci95", "mixed") == pytest.approx(ci95, rel=1e-9)


def test_jackknife_textbook_variant_is_n_minus_1_times_wider():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 50)
    s = rng.normal(size=50) + y
    official = jackknife_auc(y, s)
    textbook = jackknife_auc(y, s, textbook=True)
    assert textbook.ci95 == pytest.approx(official.ci95 * 49, rel=1e-10)
    assert official.estimate == pytest.approx(roc_auc_score(y, s))
    assert official_ci95(y, s) > 0


# --------------------------------------------------------------------------------------------
# Degenerate input
# --------------------------------------------------------------------------------------------


def test_section_without_anomalies_is_nan_with_one_warning_and_left_out():
    good = [("source", i % 2, 0.1 * i, 0) for i in range(8)] + [
        ("target", 0, 0.5, 0),
        ("target", 1, 0.9, 0),
    ]
    no_anomaly = [("source", 0, 0.1, 0), ("source", 0, 0.2, 0), ("target", 0, 0.3, 0)]
    table = clips({("fan", "00"): good, ("pump", "00"): no_anomaly})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = score_clips(table, dataset_version="2023")
    messages = [str(w.message) for w in caught if issubclass(w.category, MetricWarning)]
    assert len(messages) == 1
    assert "eval pump section 00 auc (source)" in messages[0]
    assert math.isnan(value(rows, "auc", "mixed", machine="pump", section="00"))
    # the aggregate is over the defined values only: fan's values
    fan = [
        value(rows, "auc", "source", "fan", "00"),
        value(rows, "auc", "target", "fan", "00"),
        value(rows, "pauc", "mixed", "fan", "00"),
    ]
    assert value(rows, "official_score", "mixed") == pytest.approx(stats.hmean(fan))


def test_target_domain_without_anomalies_only_domain_only_is_undefined():
    items = [
        ("source", 0, 0.1, 0),
        ("source", 1, 0.9, 0),
        ("target", 0, 0.3, 0),
        ("target", 0, 0.4, 0),
    ]
    with pytest.warns(MetricWarning, match="auc_domain_only \\(target\\)"):
        rows = score_clips(clips({("fan", "00"): items}), dataset_version="2023")
    assert value(rows, "auc", "target", "fan", "00") == 1.0  # official: uses the source anomaly
    assert math.isnan(value(rows, "auc_domain_only", "target", "fan", "00"))


@pytest.mark.parametrize(
    "column, bad, message",
    [
        ("label", 2, "label must be 0"),
        ("domain", "other", "domain must be source or target"),
        ("score", float("nan"), "not a finite number"),
        ("decision", 3, "decision must be 0 or 1"),
    ],
)
def test_bad_clip_rows_name_the_file(column, bad, message):
    table = clips({("fan", "00"): GOLDEN})
    table[column] = table[column].astype(object)
    table.loc[2, column] = bad
    with pytest.raises(DataError, match=message) as info:
        score_clips(table, dataset_version="2023")
    assert "section_00_0002.wav" in str(info.value)


def test_duplicate_clip_is_an_error():
    table = clips({("fan", "00"): GOLDEN})
    table = pd.concat([table, table.iloc[[0]]])
    with pytest.raises(DataError, match="appears twice"):
        score_clips(table, dataset_version="2023")
