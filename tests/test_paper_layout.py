"""`compare --layout paper`: the paper's Table 1 shape, the reference numbers, LaTeX that compiles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_compare import make_run

from asdbench.cli import main

REPO = Path(__file__).resolve().parents[1]
TABLE1 = REPO / "benchmarks" / "paper-table1-reference.csv"
# filler() of test_compare: featex, seeds 0..2, eval, source, hmean_auc_domain_only (metric index 2)
FEATEX_EVAL_SOURCE_AUC = 0.58 + 2 * 0.013 + 0.05 + 0.01  # mean over the seeds


def paper_run(root: Path, dataset: dict | None, reference: str | None = None) -> Path:
    meta: dict = {"name": "P", "systems": ["baseline", "featex"]}
    if dataset is not None:
        meta["dataset"] = dataset
    if reference is not None:
        meta["config"] = {"reference": {"reference_csv": reference}}
    return make_run(root, "p", run_json=meta)


def invoke(*args, columns: int = 1000):
    return CliRunner().invoke(main, ["compare", *map(str, args)], env={"COLUMNS": str(columns)})


def records(*args) -> pd.DataFrame:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return pd.DataFrame(json.loads(result.stdout))


@pytest.fixture()
def dcase_run(tmp_path: Path) -> Path:
    return paper_run(tmp_path, {"name": "dcase2023", "version": "2023"}, str(TABLE1))


def test_rows_are_dataset_split_domain_metric_and_systems_are_columns(dcase_run: Path):
    rec = records(dcase_run, "--layout", "paper")
    assert set(rec.dataset) == {"DCASE2023"}  # the configured reference's other dataset is left out
    assert list(dict.fromkeys(zip(rec.split, rec.domain, rec.metric, strict=True)))[:3] == [
        ("dev", "source", "hmean_auc_domain_only"),
        ("dev", "source", "hmean_pauc_domain_only"),
        ("dev", "target", "hmean_auc_domain_only"),
    ]
    assert list(dict.fromkeys(rec.column)) == ["baseline", "featex", "featex (ensemble)"]
    cell = rec[(rec.column == "featex") & (rec.split == "eval") & (rec.domain == "source")
               & (rec.metric == "hmean_auc_domain_only")].iloc[0]
    assert cell["mean"] == pytest.approx(FEATEX_EVAL_SOURCE_AUC) and cell["n"] == 3
    # the paper's DCASE2023 eval source AUC of FeatEx: 69.3 ± 2.0
    assert (cell.paper_mean, cell.paper_std) == pytest.approx((0.693, 0.020))
    assert cell["diff"] == pytest.approx(FEATEX_EVAL_SOURCE_AUC - 0.693)
    ens = rec[rec.column == "featex (ensemble)"]
    assert ens.paper_mean.isna().all()  # the paper has no ensemble column in Table 1


def test_plain_shows_ours_paper_and_difference_within_the_width(dcase_run: Path):
    result = invoke(dcase_run, "--layout", "paper", columns=80)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    ours = round(100 * FEATEX_EVAL_SOURCE_AUC, 1)
    featex = next(block for block in text.split("\n\n") if block.startswith("featex\n"))
    eval_source = [ln for ln in featex.splitlines() if "eval" in ln and "source" in ln]
    assert eval_source[0].split()[-7:] == [f"{ours}", "±", "0.8", "69.3", "±", "2.0", f"{ours - 69.3:+.1f}"]
    assert "paper: paper-table1-reference.csv" in " ".join(text.split())


def test_reference_option_and_dataset_mapping_for_a_synthetic_run(tmp_path: Path):
    run = paper_run(tmp_path, {"name": "synthetic", "version": "synthetic"})
    shown = records(run, "--layout", "paper", "--reference", TABLE1)
    # no dataset of ours in the reference: its rows with the paper's numbers only
    assert {"synthetic", "DCASE2022", "DCASE2023"} == set(shown.dataset)
    assert shown[shown.dataset == "DCASE2022"]["mean"].isna().all()
    held = records(run, "--layout", "paper", "--reference", TABLE1, "--reference-dataset", "DCASE2023")
    assert set(held.dataset) == {"synthetic"}
    row = held[(held.column == "featex") & (held.split == "eval") & (held.domain == "source")
               & (held.metric == "hmean_auc_domain_only")].iloc[0]
    assert row.paper_mean == pytest.approx(0.693)
    bad = invoke(run, "--layout", "paper", "--reference", TABLE1, "--reference-dataset", "DCASE2019")
    assert bad.exit_code == 2 and "has no dataset 'DCASE2019' (it has: DCASE2022, DCASE2023)" in bad.stderr


def test_bad_reference_files_are_one_line_errors(tmp_path: Path, dcase_run: Path):
    missing = invoke(dcase_run, "--layout", "paper", "--reference", tmp_path / "nope.csv")
    assert missing.exit_code == 2 and "nope.csv not found" in missing.stderr
    broken = tmp_path / "broken.csv"
    broken.write_text("dataset,split,system,mean\nDCASE2023,dev,baseline,70\n")
    result = invoke(dcase_run, "--layout", "paper", "--reference", broken)
    assert result.exit_code == 2 and "lacks column(s) domain, metric, std" in result.stderr
    assert "Traceback" not in result.output
    assert invoke(dcase_run, "--reference", TABLE1).exit_code == 2  # needs --layout paper


def latex_table(run: Path) -> str:
    result = invoke(run, "--layout", "paper", "--format", "latex")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_latex_structure_booktabs_multicolumn_bold(dcase_run: Path):
    tex = latex_table(dcase_run)
    lines = tex.splitlines()
    assert lines[0] == "\\begin{tabular}{llllrrrrrrr}" and lines[1] == "\\toprule"
    assert "\\multicolumn{3}{c}{featex}" in lines[2] and "\\multicolumn{3}{c}{baseline}" in lines[2]
    assert lines[3] == "\\cmidrule(lr){5-7} \\cmidrule(lr){8-10}"
    assert lines[4].startswith("dataset & split & domain & metric & ours & paper & $\\Delta$")
    body = [ln for ln in lines if ln.endswith("\\\\")][2:]
    n_cols = 4 + 7
    assert all(ln.count(" & ") == n_cols - 1 for ln in body)  # every row has every column
    assert "\\bottomrule" in lines and "\\end{tabular}" in lines
    assert "\\textbf{" in tex and "$\\pm$" in tex and "±" not in tex.split("\\end{tabular}")[0]
    assert tex.count("{") == tex.count("}")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
def test_latex_compiles_with_pdflatex(dcase_run: Path, tmp_path: Path):
    doc = tmp_path / "table.tex"
    doc.write_text("\\documentclass{article}\\usepackage{booktabs}\\usepackage[margin=1cm,landscape]{geometry}"
                   "\\begin{document}\\tiny\n" + latex_table(dcase_run) + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "table.pdf").read_bytes()[:5] == b"%PDF-"


def test_experiment_files_record_their_reference_table_absolutely():
    from asdbench.runner.config import make_config

    for name in ("paper-table1.toml", "paper-table2.toml"):
        config = make_config(REPO / "benchmarks" / name, {})
        path = Path(config.reference["reference_csv"])
        assert path.is_absolute() and path.is_file() and path.parent == REPO / "benchmarks"
