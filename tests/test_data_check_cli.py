"""``asdbench data check``: report, JSON, problem lines and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from shared_data import VALVE  # noqa: E402

from asdbench.cli import main

pytestmark = pytest.mark.skipif(not VALVE.is_dir(), reason="real DCASE2023 valve clips not available")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check")
    shutil.copytree(VALVE, root / "dev_data" / "raw" / "valve" / "test")
    train = root / "dev_data" / "raw" / "valve" / "train"
    train.mkdir()
    src = sorted(VALVE.glob("section_00_source_test_normal_*_pat_00.wav"))[:2]
    for i, path in enumerate(src):
        shutil.copyfile(path, train / f"section_00_source_train_normal_{i:04d}_pat_00.wav")
    return root


def _run(*args: str):
    return CliRunner().invoke(main, ["data", "check", *map(str, args)])


def test_clean_tree_reports_counts_and_exits_0(tree: Path):
    result = _run(tree)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "DCASE2023" in out and "202 usable" in out and "1 training classes" in out
    assert "16000 Hz: 202" in out
    assert "min 10.00 s, median 10.00 s, max 10.00 s" in out
    assert "No problems found." in out
    for line in ("valve  00  test  source  anomaly  50", "valve  00  train  source  normal  2"):
        assert " ".join(line.split()) in " ".join(out.split())


def test_json_report(tree: Path):
    result = _run(tree, "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["version"] == "2023" and report["clips"] == 202 and report["problems"] == []
    assert sum(r["clips"] for r in report["counts"]) == 202
    assert {(r["subset"], r["label"]): r["clips"] for r in report["per_label"]} == {
        ("test", "anomaly"): 100, ("test", "normal"): 100, ("train", "normal"): 2}
    assert {(r["subset"], r["domain"]): r["clips"] for r in report["per_domain"]} == {
        ("test", "source"): 100, ("test", "target"): 100, ("train", "source"): 2}
    assert report["sample_rates"] == {"16000": 202}
    assert report["durations_s"] == {"min": 10.0, "median": 10.0, "max": 10.0}
    assert report["train_classes"] == 1


def test_problems_are_listed_one_per_line_and_exit_1(tree: Path, tmp_path: Path):
    root = Path(shutil.copytree(tree, tmp_path / "bad"))
    train = root / "dev_data" / "raw" / "valve" / "train"
    (train / "section_00_source_train_normal_0009_pat_00.wav").write_bytes(b"")
    (train / "section_00_source_train_normal_0010_pat_00.wav").write_text("text, not audio")
    (train / "section_00_source_train_0011.wav").write_bytes((VALVE / sorted(p.name for p in VALVE.glob("*.wav"))[0]).read_bytes())
    sf.write(train / "section_00_source_train_normal_0012_pat_00.wav", np.zeros(4800, np.float32), 48000)
    (root / "dev_data" / "raw" / "fan").mkdir()
    result = _run(root)
    assert result.exit_code == 1, result.output
    problems = [line.strip() for line in result.output.splitlines() if line.startswith("  /")]
    assert len(problems) == 5, result.output
    for name, reason in [("0009_pat_00.wav", "not a readable audio file"), ("0010_pat_00.wav", "not a readable audio file"),
                         ("section_00_source_train_0011.wav", "not a DCASE Task 2 file name"),
                         ("0012_pat_00.wav", "48000 Hz"), ("raw/fan", "no train/ or test/ folder")]:
        assert sum(name in p and reason in p for p in problems) == 1, (name, problems)
    assert "202 usable" in result.output  # the good clips are all still counted
    assert "48000 Hz: 1" in result.output
    report = json.loads(_run(root, "--json").output)
    assert len(report["problems"]) == 5
    assert _run(root, "--resample").exit_code == 1  # the other four problems remain


def test_wrong_version_and_missing_folder(tree: Path, tmp_path: Path):
    result = _run(tree, "--version", "2020")
    assert result.exit_code == 1 and "does not belong to a DCASE2020 dataset" in result.output
    missing = _run(tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines() == [f"Error: {tmp_path / 'nowhere'}: dataset folder does not exist"]
