"""`asdbench compare`: leaderboards from hand-built run directories with known numbers."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from asdbench.cli import main
from asdbench.reports.formatting import mean_std
from asdbench.reports.paired import bootstrap_ci, paired_t_ci
from asdbench.results.tables import RESULTS_COLUMNS, write_results_table

# eval official score per seed 0, 1, 2
OFFICIAL = {"baseline": [0.60, 0.62, 0.64], "featex": [0.65, 0.66, 0.70]}
# per-machine (eval, valve) hmean_auc on the source domain, per seed
VALVE_SOURCE_AUC = {"baseline": [0.70, 0.72, 0.74], "featex": [0.69, 0.70, 0.71]}
ENSEMBLE_OFFICIAL = 0.66
METRICS = ("hmean_auc", "hmean_pauc", "hmean_auc_domain_only", "hmean_pauc_domain_only")
MACHINES = {"dev": "fan", "eval": "valve"}


def filler(system: str, seed: int, split: str, domain: str, metric: str, machine: str) -> float:
    """Distinct, deterministic values for the cells the tests do not pin down."""
    base = {"baseline": 0.55, "featex": 0.58}[system]
    offset = (
        METRICS.index(metric) * 0.013
        + ("source", "target", "mixed").index(domain) * 0.007
        + (split == "eval") * 0.05
        + (machine != "*") * 0.02
    )
    return round(base + offset + 0.01 * seed, 6)


def results_rows(system: str, seed: str, backend: str = "kmeans") -> list[list]:
    rows = []
    s = None if seed == "ensemble" else int(seed)
    for split, machine in MACHINES.items():
        for level in ("*", machine):
            for metric in METRICS:
                for domain in ("source", "target", "mixed"):
                    if s is None:
                        value = filler(system, 1, split, domain, metric, level) + 0.003
                    else:
                        value = filler(system, s, split, domain, metric, level)
                    if (split, level, domain, metric) == (
                        "eval",
                        "valve",
                        "source",
                        "hmean_auc",
                    ) and s is not None:
                        value = VALVE_SOURCE_AUC[system][s]
                    rows.append([system, seed, backend, split, level, "*", domain, metric, value])
            official = (
                0.5 + 0.01 * (s or 0)
                if split == "dev"
                else (ENSEMBLE_OFFICIAL if s is None else OFFICIAL[system][s])
            )
            rows.append(
                [system, seed, backend, split, level, "*", "mixed", "official_score", official]
            )
        rows.append([system, seed, backend, split, machine, "00", "source", "auc", 0.5])
    return rows


def make_run(
    root: Path,
    name: str,
    systems=("baseline", "featex"),
    ensemble=("featex",),
    backends=("kmeans",),
    run_json: dict | None = None,
) -> Path:
    rows = []
    for system in systems:
        for backend in backends:
            for seed in ("0", "1", "2"):
                rows += results_rows(system, seed, backend)
            if system in ensemble:
                rows += results_rows(system, "ensemble", backend)
    run = root / name
    write_results_table(run / "results.csv", pd.DataFrame(rows, columns=RESULTS_COLUMNS))
    if run_json is not None:
        (run / "run.json").write_text(json.dumps(run_json))
    return run


def compare(*args, columns: int = 1000) -> str:
    result = CliRunner().invoke(main, ["compare", *map(str, args)], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path, "run-a", run_json={"systems": {"featex": {}, "baseline": {}}})


def records(run: Path, *extra) -> pd.DataFrame:
    return pd.DataFrame(json.loads(compare(run, "--format", "json", *extra)))


def test_json_numbers_mean_population_std_and_n(run_dir: Path):
    rec = records(run_dir)
    cell = rec[(rec.label == "featex") & (rec.column == "eval official")].iloc[0]
    assert cell["mean"] == pytest.approx(0.67)
    assert cell["std"] == pytest.approx(np.std(OFFICIAL["featex"]))  # ddof=0, as the paper
    assert cell["std"] == pytest.approx(0.0216025, abs=1e-7)
    assert cell["n"] == 3 and bool(cell["best"])
    base = rec[(rec.label == "baseline") & (rec.column == "eval official")].iloc[0]
    assert base["mean"] == pytest.approx(0.62) and not base["best"]
    ens = rec[(rec.label == "featex (ensemble)") & (rec.column == "eval official")].iloc[0]
    assert ens["mean"] == pytest.approx(ENSEMBLE_OFFICIAL) and ens["n"] == 1 and pd.isna(ens["std"])
    # default columns: per split the official score and its parts
    assert list(dict.fromkeys(rec.column)) == [
        f"{split} {name}"
        for split in ("dev", "eval")
        for name in ("official", "source AUC", "target AUC", "mixed pAUC")
    ]
    full = records(run_dir, "--metric", "official")
    assert list(dict.fromkeys(full.column))[:7] == [
        "dev official",
        "dev source AUC",
        "dev source pAUC",
        "dev target AUC",
        "dev target pAUC",
        "dev mixed AUC",
        "dev mixed pAUC",
    ]
    # row order from run.json: featex first, its ensemble right after it
    assert list(dict.fromkeys(rec.label)) == ["featex", "featex (ensemble)", "baseline"]


def test_plain_github_latex_cells_and_bold(run_dir: Path):
    plain = compare(run_dir)
    assert re.search(r"featex\s+3\s.*67\.0 ± 2\.2\*", plain)
    assert "62.0 ± 1.6" in plain and "62.0 ± 1.6*" not in plain
    assert "* best in column" in plain
    github = compare(run_dir, "--format", "github")
    assert "**67.0 ± 2.2**" in github and "| baseline" in github and "**62.0 ± 1.6**" not in github
    # a tie at the shown precision marks both rows (dev official: 51.0 for both systems)
    assert github.count("**51.0 ± 0.8**") == 2
    assert "| featex (ensemble) |" in github and " 66.0 " in github  # no ± for one value
    latex = compare(run_dir, "--format", "latex")
    assert "\\textbf{67.0 $\\pm$ 2.2}" in latex and "62.0 $\\pm$ 1.6" in latex
    assert latex.startswith("\\begin{tabular}")


def parse_text_table(text: str, fmt: str) -> tuple[list[str], list[list[str]]]:
    if fmt == "github":
        lines = [ln for ln in text.splitlines() if ln.startswith("|")]
        cells = [[c.strip().strip("*") for c in ln.strip("|").split("|")] for ln in lines]
        return cells[0], [c for c in cells[2:]]
    if fmt == "latex":
        lines = [ln for ln in text.splitlines() if ln.endswith("\\\\")]
        cells = [
            [
                re.sub(r"\\textbf\{(.*)\}", r"\1", c.strip()).replace(" $\\pm$ ", " ± ")
                for c in ln[:-2].split(" & ")
            ]
            for ln in lines
        ]
        return cells[0], cells[1:]
    lines = text.splitlines()
    rule = next(i for i, ln in enumerate(lines) if ln.startswith("---"))
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    header = [" ".join(ln[a:b].strip() for ln in lines[:rule] if ln[a:b].strip()) for a, b in spans]
    body = [ln for ln in lines[rule + 1 :] if ln.strip() and not ln.startswith("*")]
    cells = [[c.strip().rstrip("*").strip() for c in re.split(r"\s{2,}", ln.strip())] for ln in body]
    return header, cells


@pytest.mark.parametrize("fmt", ["plain", "github", "latex"])
def test_every_format_shows_the_same_numbers(run_dir: Path, fmt: str):
    rec = records(run_dir)
    expected = {(r.label, r.column): mean_std(r["mean"], r["std"], r.n) for _, r in rec.iterrows()}
    header, body = parse_text_table(compare(run_dir, "--format", fmt), fmt)
    seen = 0
    for row in body:
        label = row[0].replace("\\_", "_")
        for col, text in zip(header[2:], row[2:], strict=True):
            assert text == expected[(label, col)], (label, col)
            seen += 1
    assert seen == len(expected) == 3 * 8


def test_csv_equals_json(run_dir: Path):
    csv = pd.read_csv(io.StringIO(compare(run_dir, "--format", "csv")))
    rec = records(run_dir)
    assert np.allclose(csv["mean"], rec["mean"]) and list(csv.column) == list(rec.column)


def test_by_machine(run_dir: Path):
    rec = records(run_dir, "--by", "machine")
    assert set(zip(rec.split, rec.machine, strict=True)) == {("dev", "fan"), ("eval", "valve")}
    cell = rec[
        (rec.label == "baseline") & (rec.machine == "valve") & (rec.column == "source AUC")
    ].iloc[0]
    assert cell["mean"] == pytest.approx(0.72) and bool(cell["best"])
    github = compare(run_dir, "--by", "machine", "--format", "github")
    assert "| eval    | valve     | baseline" in github and "**72.0 ± 1.6**" in github
    assert "70.0 ± 0.8" in github and "**70.0 ± 0.8**" not in github


def test_metric_presets_and_explicit_names(run_dir: Path):
    rec = records(run_dir, "--metric", "paper")
    assert "eval source AUC (dom.)" in set(rec.column) and "eval source AUC" not in set(rec.column)
    rec = records(run_dir, "--metric", "official_score", "--split", "eval")
    assert set(rec.column) == {"eval official"}
    result = CliRunner().invoke(main, ["compare", str(run_dir), "--metric", "hmean_nothing"])
    assert (
        result.exit_code == 2 and "--metric: no aggregate metric 'hmean_nothing'" in result.stderr
    )


def test_paired_comparison_matches_scipy(run_dir: Path):
    out = pd.DataFrame(
        json.loads(compare(run_dir, "--paired", "featex", "baseline", "--format", "json"))
    )
    row = out[out.column == "eval official"].iloc[0]
    a, b = np.array(OFFICIAL["featex"]), np.array(OFFICIAL["baseline"])
    test = stats.ttest_rel(a, b)
    ci = test.confidence_interval(0.95)
    assert row["diff"] == pytest.approx(0.05)
    assert (row.t_low, row.t_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert row.p_value == pytest.approx(test.pvalue, rel=1e-12)
    # by hand: sd of [0.05, 0.04, 0.06] is 0.01, se 0.01/sqrt(3), t_{0.975,2} = 4.3027
    assert row.t_low == pytest.approx(0.05 - 4.302653 * 0.01 / np.sqrt(3), abs=1e-6)
    assert 0.04 <= row.boot_low <= row.boot_high <= 0.06
    assert (row.boot_low, row.boot_high) == bootstrap_ci(a - b, n_boot=10000, seed=0)
    assert row.excludes_zero == "t+boot" and row.n == 3
    text = compare(run_dir, "--paired", "featex", "baseline")
    assert "+5.0 " in text and "t+boot" in text


def test_paired_helpers_edge_cases():
    assert all(np.isnan(paired_t_ci(np.array([0.1]))))
    low, high, p = paired_t_ci(np.array([0.02, 0.02, 0.02]))
    assert (low, high, p) == (0.02, 0.02, 0.0)
    assert all(np.isnan(bootstrap_ci(np.array([0.1, 0.2]))))  # 2 values: 3 possible means only
    assert bootstrap_ci(np.array([0.1, -0.1, 0.0]), seed=1) == bootstrap_ci(
        np.array([0.1, -0.1, 0.0]), seed=1
    )


def test_paired_unknown_system_is_a_clear_error(run_dir: Path):
    result = CliRunner().invoke(main, ["compare", str(run_dir), "--paired", "featex", "nope"])
    assert result.exit_code == 2
    assert (
        "--paired: no system 'nope' with seed trials (available: baseline, featex)" in result.stderr
    )


def test_two_runs_with_the_same_systems_are_prefixed(tmp_path: Path):
    a = make_run(tmp_path, "first")
    b = make_run(tmp_path, "b", systems=("baseline",), ensemble=())
    rec = pd.DataFrame(json.loads(compare(a, b, "--format", "json")))
    assert list(dict.fromkeys(rec.label)) == [
        "first/baseline",
        "featex",
        "featex (ensemble)",
        "b/baseline",
    ]


def test_backends_label_rows_and_filter(tmp_path: Path):
    run = make_run(tmp_path, "r", backends=("kmeans", "knn"), ensemble=())
    rec = pd.DataFrame(json.loads(compare(run, "--format", "json")))
    assert "baseline [knn]" in set(rec.label)
    only = pd.DataFrame(json.loads(compare(run, "--format", "json", "--backend", "knn")))
    assert set(only.label) == {"baseline", "featex"} and set(only.backend) == {"knn"}
    result = CliRunner().invoke(main, ["compare", str(run), "--backend", "svm"])
    assert result.exit_code == 2 and "available: kmeans, knn" in result.stderr


def test_missing_results_is_a_one_line_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {tmp_path / 'empty'}: no results.csv (is this a finished asdbench run directory?)\n"
    )


def test_out_file_is_written(run_dir: Path, tmp_path: Path):
    out = tmp_path / "board.md"
    result = CliRunner().invoke(
        main, ["compare", str(run_dir), "--format", "github", "--out", str(out)]
    )
    assert result.exit_code == 0 and "**67.0 ± 2.2**" in out.read_text()


def test_leaderboard_text_equals_the_cli(run_dir: Path):
    from asdbench.reports.leaderboard import leaderboard_text

    assert leaderboard_text([run_dir], "github") == compare(run_dir, "--format", "github")
