"""`asdbench evaluate`: round trips through challenge files, ground truth and dev names."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shared_data import VALVE  # noqa: E402

from asdbench.cli import main
from asdbench.scoring import score_clips, write_challenge_files


def eval_clips(seed: int = 0) -> pd.DataFrame:
    """Two eval machine types with hidden names; scores loosely separate the classes."""
    rng = np.random.default_rng(seed)
    rows = []
    for machine in ("Toy_Tank", "Vacuum"):
        for i in range(60):
            label = int(rng.random() < 0.4)
            rows.append(
                dict(
                    file=f"section_00_{i:04d}.wav",
                    machine=machine,
                    section="00",
                    split="eval",
                    domain="source" if rng.random() < 0.6 else "target",
                    label=label,
                    score=float(rng.normal() + 1.2 * label),
                    decision=int(rng.random() < 0.5),
                )
            )
    return pd.DataFrame(rows)


def write_gt(root: Path, clips: pd.DataFrame) -> None:
    for (machine, section), g in clips.groupby(["machine", "section"]):
        name = f"ground_truth_{machine}_section_{section}_test.csv"
        for sub, col in (
            ("ground_truth_data", g.label),
            ("ground_truth_domain", (g.domain == "target").astype(int)),
        ):
            (root / sub).mkdir(parents=True, exist_ok=True)
            (root / sub / name).write_text(
                "".join(f"{f},{v}\n" for f, v in zip(g.file, col, strict=True))
            )


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_eval_round_trip_equals_score_clips(tmp_path: Path):
    clips = eval_clips()
    write_challenge_files(tmp_path / "sub", clips)
    write_gt(tmp_path / "gt", clips)
    result = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt", "--format", "csv")
    assert result.exit_code == 0, result.output
    got = pd.read_csv(io.StringIO(result.stdout), dtype={"section": str})
    expected = score_clips(clips, dataset_version="2023")
    assert list(got.columns) == ["split", "machine", "section", "domain", "metric", "value"]
    keys = ["split", "machine", "section", "domain", "metric"]
    assert got[keys].values.tolist() == expected[keys].values.tolist()
    assert np.allclose(got.value, expected.value, rtol=0, atol=1e-15, equal_nan=True)


def test_plain_output_shows_official_score_and_json_matches(tmp_path: Path):
    clips = eval_clips(1)
    write_challenge_files(tmp_path / "sub", clips)
    write_gt(tmp_path / "gt", clips)
    expected = score_clips(clips, dataset_version="2023")
    official = expected[
        (expected.metric == "official_score") & (expected.machine == "*")
    ].value.iloc[0]
    plain = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt")
    assert plain.exit_code == 0, plain.output
    assert f"eval official score: {100 * official:.1f} %" in plain.stdout
    assert "Toy_Tank" in plain.stdout and "(source)" in plain.stdout  # "AUC (source)" on two lines
    out = tmp_path / "m.json"
    as_json = run(
        "evaluate",
        tmp_path / "sub",
        "--ground-truth",
        tmp_path / "gt",
        "--format",
        "json",
        "--out",
        out,
    )
    assert as_json.exit_code == 0 and out.is_file()
    records = json.loads(out.read_text())
    row = next(r for r in records if r["metric"] == "official_score" and r["machine"] == "*")
    assert row["value"] == pytest.approx(official, rel=1e-15)
    latex = run(
        "evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt", "--format", "latex"
    )
    assert "\\begin{tabular}" in latex.stdout and "Toy\\_Tank" in latex.stdout


def test_dataset_version_2020_uses_the_arithmetic_mean(tmp_path: Path):
    clips = eval_clips(2)
    write_challenge_files(tmp_path / "sub", clips)
    write_gt(tmp_path / "gt", clips)
    result = run(
        "evaluate",
        tmp_path / "sub",
        "--ground-truth",
        tmp_path / "gt",
        "--format",
        "json",
        "--dataset-version",
        "2020",
    )
    rows = pd.DataFrame(json.loads(result.stdout))
    section = rows[(rows.section == "00") & (rows.domain == "mixed")]
    expected = section[section.metric.isin(["auc", "pauc"])].value.mean()
    official = rows[(rows.metric == "official_score") & (rows.machine == "*")].value.iloc[0]
    assert official == pytest.approx(expected)


def test_full_names_are_mapped_through_ground_truth_attributes(tmp_path: Path):
    clips = eval_clips(3)
    write_gt(tmp_path / "gt", clips)
    (tmp_path / "gt" / "ground_truth_attributes").mkdir()
    renamed = clips.copy()
    for machine, g in clips.groupby("machine"):
        full = {f: f"section_00_x_test_{i:04d}_attr" for i, f in enumerate(g.file)}
        (
            tmp_path
            / "gt"
            / "ground_truth_attributes"
            / f"ground_truth_{machine}_section_00_test.csv"
        ).write_text("".join(f"{h},{n}\n" for h, n in full.items()))
        renamed.loc[g.index, "file"] = [full[f] + ".wav" for f in g.file]
    write_challenge_files(tmp_path / "sub", renamed)
    a = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt", "--format", "csv")
    assert a.exit_code == 0, a.output
    expected = score_clips(clips, dataset_version="2023")
    got = pd.read_csv(io.StringIO(a.stdout))
    assert np.allclose(got.value, expected.value, equal_nan=True)


def test_missing_file_and_rows_are_one_line_errors(tmp_path: Path):
    clips = eval_clips()
    write_gt(tmp_path / "gt", clips)
    write_challenge_files(tmp_path / "sub", clips[clips.machine == "Vacuum"])
    result = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "anomaly_score_Toy_Tank_section_00_test.csv: missing" in result.stderr

    shutil.rmtree(tmp_path / "sub")
    write_challenge_files(tmp_path / "sub", clips.drop(index=[3, 4]))
    result = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt")
    assert result.exit_code == 2
    assert (
        "anomaly_score_Toy_Tank_section_00_test.csv: 2 clip(s) of the ground truth have no score"
        in result.stderr
    )

    extra = pd.concat([clips, clips.iloc[[0]].assign(file="section_00_9999.wav")])
    shutil.rmtree(tmp_path / "sub")
    write_challenge_files(tmp_path / "sub", extra)
    result = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt")
    assert result.exit_code == 2
    assert "1 row(s) not in the ground truth, e.g. section_00_9999.wav" in result.stderr


def test_partial_decision_files_are_an_error(tmp_path: Path):
    clips = eval_clips()
    write_gt(tmp_path / "gt", clips)
    write_challenge_files(tmp_path / "sub", clips)
    (tmp_path / "sub" / "decision_result_Vacuum_section_00_test.csv").unlink()
    result = run("evaluate", tmp_path / "sub", "--ground-truth", tmp_path / "gt")
    assert result.exit_code == 2
    assert "decision_result_Vacuum_section_00_test.csv: missing" in result.stderr


def test_dev_labels_from_real_dcase2023_file_names(tmp_path: Path):
    if not VALVE.is_dir():
        pytest.skip("DCASE2023 valve test clips not available")
    names = sorted(p.name for p in VALVE.glob("*.wav"))
    assert len(names) == 200
    rng = np.random.default_rng(0)
    is_anomaly = np.array(["_anomaly_" in n for n in names])
    scores = rng.normal(size=len(names)) + is_anomaly
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "anomaly_score_valve_section_00_test.csv").write_text(
        "".join(f"{n},{float(s)!r}\n" for n, s in zip(names, scores, strict=True))
    )
    result = run("evaluate", sub, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert set(rows.split) == {"dev"}
    domains = np.array(["target" if "_target_" in n else "source" for n in names])
    expected = score_clips(
        pd.DataFrame(
            dict(
                file=names,
                machine="valve",
                section="00",
                split="dev",
                domain=domains,
                label=is_anomaly.astype(int),
                score=scores,
            )
        ),
        dataset_version="2023",
    )
    assert np.allclose(rows.value, expected.value, equal_nan=True)
    assert "precision" not in set(rows.metric)  # no decision files


def test_hidden_names_without_ground_truth_is_a_clear_error(tmp_path: Path):
    write_challenge_files(tmp_path / "sub", eval_clips())
    result = run("evaluate", tmp_path / "sub")
    assert result.exit_code == 2
    assert (
        "clip names carry no labels (e.g. section_00_0000.wav); pass --ground-truth DIR"
        in result.stderr
    )


def test_missing_submission_folder(tmp_path: Path):
    result = run("evaluate", tmp_path / "nothing")
    assert result.exit_code == 2 and "not a folder of challenge-format CSV files" in result.stderr


def test_run_folder_with_dev_and_eval_files_scores_dev_without_ground_truth(tmp_path: Path):
    dev = pd.DataFrame(dict(
        file=[f"section_00_{d}_test_{lab}_{i:04d}_a_1.wav" for i, (d, lab) in enumerate(
            [("source", "normal"), ("source", "anomaly"), ("target", "normal"), ("target", "anomaly")] * 3)],
        machine="fan", section="00", split="dev", score=np.linspace(0, 1, 12), decision=0,
    ))
    write_challenge_files(tmp_path / "sub", dev)
    write_challenge_files(tmp_path / "sub", eval_clips())  # hidden names of two eval machines
    result = run("evaluate", tmp_path / "sub", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "Note: skipped anomaly_score_Toy_Tank_section_00_test.csv" in result.stderr
    rows = pd.DataFrame(json.loads(result.stdout))
    assert set(rows.machine) == {"fan", "*"}
    # fan: labels alternate normal/anomaly on a rising score: anomalies beat every earlier normal
    auc = rows[(rows.machine == "fan") & (rows.domain == "mixed") & (rows.metric == "auc")].value.iloc[0]
    assert auc == pytest.approx(21 / 36)  # anomaly k (k = 0..5) beats k + 1 normals -> 21 of 36 pairs
