"""The plain leaderboard fits the terminal: blocks per split, aligned best markers, no ± for n = 1."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_compare import compare, make_run, records

from asdbench.cli import main
from asdbench.reports.formatting import mean_std
from asdbench.results.tables import RESULTS_COLUMNS, write_results_table


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path, "run-a", run_json={"systems": {"featex": {}, "baseline": {}}})


def blocks(text: str) -> list[tuple[str, str, list[list[str]]]]:
    """(title, header text, data rows as cells) of every block of a plain leaderboard."""
    out = []
    for chunk in text.strip().split("\n\n"):
        lines = chunk.splitlines()
        title = lines.pop(0) if not lines[0].startswith("system") else ""
        rule = next(i for i, ln in enumerate(lines) if ln.startswith("---"))
        header = "\n".join(lines[:rule])
        rows = [
            [c.strip().rstrip("*").strip() for c in re.split(r"\s{2,}", ln.strip())]
            for ln in lines[rule + 1 :]
            if not ln.startswith(("*", "mean", "values", "sections"))
        ]
        out.append((title, header, rows))
    return out


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_default_view_fits_the_terminal_in_blocks_per_split(run_dir: Path, columns: int):
    text = compare(run_dir, columns=columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    found = blocks(text)
    assert [title for title, _, _ in found] == ["dev split", "eval split"]
    rec = records(run_dir)
    expected = {(r.label, r.column): mean_std(r["mean"], r["std"], r.n) for _, r in rec.iterrows()}
    names = ("official", "source AUC", "target AUC", "mixed pAUC")
    seen = 0
    for title, header, body in found:
        split = title.split()[0]
        assert header.split()[:2] == ["system", "n"] and all(w in header for w in ("source", "pAUC"))
        for row in body:
            assert len(row) == 2 + len(names)
            for name, cell in zip(names, row[2:], strict=True):
                assert cell == expected[(row[0], f"{split} {name}")]
                seen += 1
    assert seen == len(expected) == 3 * 8


def test_a_wide_terminal_gets_one_table(run_dir: Path):
    text = compare(run_dir, columns=200)
    assert "split\n" not in text and len(blocks(text)) == 1
    assert max(len(line) for line in text.splitlines()) <= 200


def test_wide_views_are_cut_into_continued_blocks(run_dir: Path):
    text = compare(run_dir, "--metric", "paper", columns=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    titles = [title for title, _, _ in blocks(text)]
    assert titles[0] == "dev split" and "dev split (continued)" in titles
    assert titles.index("eval split") > titles.index("dev split (continued)")
    cells = sum(len(row) - 2 for _, _, body in blocks(text) for row in body)
    assert cells == 3 * 2 * 7  # 3 rows x 2 splits x (official + 3 domains x 2 metrics)


def test_best_marker_keeps_the_digits_aligned(run_dir: Path):
    text = compare(run_dir, columns=200)
    lines = [ln for ln in text.splitlines() if ln.startswith(("featex", "baseline"))]
    assert len(lines) == 3
    # every number ends at the same position in every row, marked or not
    for pattern in (r"51\.0 ± 0\.8|50\.0", r"67\.0 ± 2\.2|66\.0|62\.0 ± 1\.6"):
        starts = {m.start() for ln in lines for m in [re.search(pattern, ln)]}
        assert len(starts) == 1, (pattern, lines)
    marked = [ln for ln in lines if "67.0 ± 2.2*" in ln]
    assert len(marked) == 1 and "62.0 ± 1.6 " in text and "62.0 ± 1.6*" not in text


def test_one_seed_shows_no_plus_minus(tmp_path: Path):
    rows = [r for r in pd.read_csv(make_run(tmp_path, "full") / "results.csv").itertuples(index=False)]
    single = pd.DataFrame([r for r in rows if str(r.seed) == "0"], columns=RESULTS_COLUMNS)
    write_results_table(tmp_path / "one" / "results.csv", single)
    text = compare(tmp_path / "one", columns=80)
    assert "±" not in text and "values in %" in text and "over 1 seeds" not in text


def test_run_validates_leaderboard_options_before_training(tmp_path: Path):
    result = CliRunner().invoke(main, ["run", "--metric", "hmean_nothing", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--metric: unknown metric 'hmean_nothing'" in result.stderr
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())
    result = CliRunner().invoke(main, ["run", "--split", "test", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--split" in result.stderr


def test_runs_with_different_configs_are_warned_about_and_shown_apart(tmp_path: Path):
    def meta(name: str, epochs: int, key: str) -> dict:
        return {"name": name, "config": {"epochs": epochs, "preset": "quick"},
                "dataset": {"name": "synthetic", "cache": {"key": key}}}

    a = make_run(tmp_path, "a", systems=("baseline",), ensemble=(), run_json=meta("a", 10, "abc"))
    b = make_run(tmp_path, "b", systems=("featex",), ensemble=(), run_json=meta("b", 3, "abc"))
    c = make_run(tmp_path, "c", systems=("featex",), ensemble=(), run_json=meta("c", 10, "def"))
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--format", "csv"])
    assert result.exit_code == 0
    assert "Warning: these runs differ in epochs (a: 10, b: 3)" in result.stderr
    labels = set(pd.read_csv(io.StringIO(result.stdout)).label)
    assert labels == {"a/baseline", "b/featex"}
    fingerprint = CliRunner().invoke(main, ["compare", str(a), str(c)])
    assert "dataset fingerprint (a: abc, c: def)" in fingerprint.stderr
    same = CliRunner().invoke(main, ["compare", str(a), str(a.parent / "a")])
    assert "Warning" not in same.stderr
