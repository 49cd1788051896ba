"""Challenge-format files, official ground truth, scores/results tables and the run layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdbench.data.ground_truth import ground_truth_table as read_ground_truth
from asdbench.errors import DataError
from asdbench.results.layout import backend_dir, safe_name, scores_table_path, trial_dir
from asdbench.results.tables import (
    RESULTS_COLUMNS,
    read_results_table,
    read_scores_table,
    write_results_table,
    write_scored,
    write_scores_table,
)
from asdbench.scoring.challenge import (
    read_challenge_files,
    write_challenge_files,
)


def table(machine="slide_rail", section="00", n=5, split="eval"):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "file": [f"section_{section}_{i:04d}.wav" for i in reversed(range(n))],
            "machine": machine,
            "section": section,
            "split": split,
            "domain": ["source", "target"] * (n // 2) + ["source"] * (n % 2),
            "label": [i % 2 for i in range(n)],
            "score": rng.normal(size=n),
            "decision": [1, 0] * (n // 2) + [0] * (n % 2),
        }
    )


def test_write_challenge_files_format_sorted_and_round_trip(tmp_path: Path):
    df = table()
    written = write_challenge_files(tmp_path, df)
    names = sorted(p.name for p in written)
    assert names == [
        "anomaly_score_slide_rail_section_00_test.csv",
        "decision_result_slide_rail_section_00_test.csv",
    ]
    lines = (tmp_path / names[0]).read_text().splitlines()
    assert [ln.split(",")[0] for ln in lines] == sorted(df.file)  # sorted, no header
    first = df.sort_values("file").iloc[0]
    assert float(lines[0].split(",")[1]) == first.score  # full precision (repr)
    decisions = (tmp_path / names[1]).read_text().splitlines()
    assert all(d.split(",")[1] in ("0", "1") for d in decisions)
    back = read_challenge_files(tmp_path)
    # the machine name with an underscore parses from the fixed prefix/suffix
    assert set(back.machine) == {"slide_rail"} and set(back.section) == {"00"}
    merged = back.merge(df, on="file", suffixes=("", "_in"))
    assert np.array_equal(merged.score, merged.score_in)
    assert np.array_equal(merged.decision.astype(int), merged.decision_in)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files


def test_writing_two_splits_of_one_section_into_one_folder_is_an_error(tmp_path: Path):
    df = pd.concat([table(split="dev"), table(split="eval")])
    with pytest.raises(DataError, match="several splits"):
        write_challenge_files(tmp_path, df)


def test_scores_without_decisions_read_as_nan(tmp_path: Path):
    write_challenge_files(tmp_path, table().drop(columns=["decision"]))
    assert not list(tmp_path.glob("decision_result_*"))
    assert read_challenge_files(tmp_path).decision.isna().all()


@pytest.mark.parametrize(
    "content, message",
    [
        ("file,score\na.wav,0.1\n", "is not a number"),
        ("a.wav,0.1,3\n", "line 1 has 3 fields"),
        ("a.wav,0.1\na.wav,0.2\n", "appears twice"),
        ("a.wav,nan\n", "not finite"),
        ("", "file is empty"),
    ],
)
def test_malformed_score_files_name_the_file(tmp_path: Path, content, message):
    path = tmp_path / "anomaly_score_fan_section_00_test.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_challenge_files(tmp_path)
    assert str(path) in str(info.value)


def test_decision_file_must_match_scores(tmp_path: Path):
    (tmp_path / "anomaly_score_fan_section_00_test.csv").write_text("a.wav,0.1\nb.wav,0.2\n")
    (tmp_path / "decision_result_fan_section_00_test.csv").write_text("a.wav,1\n")
    with pytest.raises(DataError, match="lacks 1 clip"):
        read_challenge_files(tmp_path)
    (tmp_path / "decision_result_fan_section_00_test.csv").write_text("a.wav,1\nb.wav,2\n")
    with pytest.raises(DataError, match="must be 0 or 1"):
        read_challenge_files(tmp_path)
    (tmp_path / "decision_result_pump_section_00_test.csv").write_text("a.wav,1\n")
    with pytest.raises(DataError, match="without a matching anomaly_score"):
        read_challenge_files(tmp_path)


def test_empty_or_missing_folder(tmp_path: Path):
    with pytest.raises(DataError, match="no anomaly_score_"):
        read_challenge_files(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        read_challenge_files(tmp_path / "nope")


def write_ground_truth(root: Path, machine: str, section: str, rows, attributes=None):
    """rows: [(hidden name, label, domain 0/1)]"""
    for sub, col in (("ground_truth_data", 1), ("ground_truth_domain", 2)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        text = "".join(f"{r[0]},{r[col]}\n" for r in rows)
        (root / sub / f"ground_truth_{machine}_section_{section}_test.csv").write_text(text)
    if attributes:
        (root / "ground_truth_attributes").mkdir(exist_ok=True)
        text = "".join(f"{h},{full}\n" for h, full in attributes.items())
        (
            root / "ground_truth_attributes" / f"ground_truth_{machine}_section_{section}_test.csv"
        ).write_text(text)


def test_read_ground_truth_official_layout(tmp_path: Path):
    rows = [("section_00_0001.wav", 1, 0), ("section_00_0000.wav", 0, 1)]
    write_ground_truth(
        tmp_path,
        "Toy_Drone",
        "00",
        rows,
        attributes={"section_00_0000.wav": "section_00_target_test_normal_0000_spd_1"},
    )
    gt = read_ground_truth(tmp_path)
    assert list(gt.columns) == ["file", "machine", "section", "domain", "label", "original"]
    assert list(gt.file) == ["section_00_0000.wav", "section_00_0001.wav"]
    assert list(gt.machine) == ["Toy_Drone"] * 2
    assert list(gt.domain) == ["target", "source"] and list(gt.label) == [0, 1]
    assert gt.original.iloc[0] == "section_00_target_test_normal_0000_spd_1.wav"
    assert pd.isna(gt.original.iloc[1])
    # pointing at ground_truth_data itself works too
    assert read_ground_truth(tmp_path / "ground_truth_data").equals(gt)


def test_ground_truth_errors(tmp_path: Path):
    with pytest.raises(DataError, match="no ground_truth_data/ folder"):
        read_ground_truth(tmp_path)
    write_ground_truth(tmp_path, "fan", "00", [("a.wav", 1, 0)])
    (tmp_path / "ground_truth_domain" / "ground_truth_fan_section_00_test.csv").unlink()
    with pytest.raises(
        DataError, match="ground_truth_domain/ground_truth_fan_section_00_test.csv: missing"
    ):
        read_ground_truth(tmp_path)


def test_dcase2021_per_domain_ground_truth(tmp_path: Path):
    data = tmp_path / "ground_truth_data"
    data.mkdir()
    (data / "ground_truth_fan_section_03_source_test.csv").write_text("s0.wav,0\ns1.wav,1\n")
    (data / "ground_truth_fan_section_03_target_test.csv").write_text("t0.wav,1\n")
    gt = read_ground_truth(tmp_path)
    assert dict(zip(gt.file, gt.domain, strict=True)) == {
        "s0.wav": "source",
        "s1.wav": "source",
        "t0.wav": "target",
    }


def test_scores_table_round_trip_keeps_text_and_nulls(tmp_path: Path):
    df = table(section="3").assign(group="slide_rail/section_03")
    df.loc[0, "label"] = None
    df.loc[1, "domain"] = None
    path = write_scores_table(tmp_path / "scores.csv", df)
    back = read_scores_table(path)
    assert list(back.columns)[:8] == [
        "file",
        "machine",
        "section",
        "split",
        "domain",
        "label",
        "score",
        "decision",
    ]
    assert set(back.section) == {"03"} and "group" in back.columns
    assert back.label.isna().sum() == 1 and back.domain.isna().sum() == 1
    assert np.allclose(back.sort_values("file").score, df.sort_values("file").score, rtol=0, atol=0)


def test_results_table_round_trip_and_column_check(tmp_path: Path):
    rows = pd.DataFrame(
        [
            [
                "statex+featex",
                "0",
                "kmeans",
                "eval",
                "*",
                "*",
                "mixed",
                "official_score",
                0.7123456789012345,
            ],
            [
                "statex+featex",
                "ensemble",
                "kmeans",
                "eval",
                "fan",
                "00",
                "target",
                "auc",
                float("nan"),
            ],
        ],
        columns=RESULTS_COLUMNS,
    )
    write_results_table(tmp_path / "results.csv", rows)
    back = read_results_table(tmp_path / "results.csv")
    assert list(back.seed) == ["0", "ensemble"] and list(back.section) == ["*", "00"]
    assert back.value.iloc[0] == 0.7123456789012345 and np.isnan(back.value.iloc[1])
    (tmp_path / "bad.csv").write_text("system,seed,value\na,0,1\n")
    with pytest.raises(DataError, match="missing column"):
        read_results_table(tmp_path / "bad.csv")


def test_layout(tmp_path: Path):
    assert safe_name("featex(p=0.3)") == "featex_p_0.3_"
    assert safe_name("statex+featex") == "statex+featex"
    assert trial_dir(tmp_path, "statex+featex", 2) == tmp_path / "statex+featex" / "seed-2"
    assert (
        backend_dir(tmp_path, "a", "ensemble", "kmeans") == tmp_path / "a" / "ensemble" / "kmeans"
    )
    assert scores_table_path(tmp_path, "a", 0, "knn").name == "scores.csv"
    with pytest.raises(ValueError):
        trial_dir(tmp_path, "a", "best")


def test_write_scored(tmp_path: Path):
    df = pd.concat([table(machine="fan", split="dev"), table(machine="valve", split="eval")])
    out = backend_dir(tmp_path, "baseline", 0, "kmeans")
    write_scored(out, df)
    assert (out / "scores.csv").is_file()
    assert sorted(p.name for p in out.glob("anomaly_score_*")) == [
        "anomaly_score_fan_section_00_test.csv",
        "anomaly_score_valve_section_00_test.csv",
    ]
