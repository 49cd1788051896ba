"""Your own data: MIMII folders (8-channel WAVE_FORMAT_EXTENSIBLE), flat DCASE2020 machine folders,
normal/ + anomaly/ folders and CSV manifests, from real recordings (the shared valve clips)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner
from shared_data import VALVE

from asdbench.cli import main
from asdbench.data.folder import dataset_kind, read_manifest, scan_folder
from asdbench.errors import DataError

pytestmark = pytest.mark.skipif(not VALVE.is_dir(), reason="needs the shared DCASE2023 valve clips")
TINY = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu", "--ssl", "baseline"]


def _excerpts(n: int, label: str, seconds: float = 1.0) -> list[np.ndarray]:
    """``n`` one-second excerpts of real valve recordings with the given label."""
    files = sorted(VALVE.glob(f"section_00_source_test_{label}_*.wav"))[:n]
    return [sf.read(f, dtype="float32", frames=int(16000 * seconds))[0] for f in files]


@pytest.fixture(scope="module")
def mimii(tmp_path_factory):
    """``fan/id_00`` and ``fan/id_02``, 6 normal + 3 abnormal clips each, 8 channels like MIMII."""
    root = tmp_path_factory.mktemp("mimii")
    normal, abnormal = _excerpts(12, "normal"), _excerpts(6, "anomaly")
    for i, machine_id in enumerate(("id_00", "id_02")):
        for label, waves in (("normal", normal[6 * i:6 * i + 6]), ("abnormal", abnormal[3 * i:3 * i + 3])):
            folder = root / "fan" / machine_id / label
            folder.mkdir(parents=True)
            for k, wave in enumerate(waves):
                channels = np.stack([wave * (1 - 0.05 * c) for c in range(8)], axis=1)
                sf.write(folder / f"{k:08d}.wav", channels, 16000, subtype="PCM_16", format="WAVEX")
    return root


@pytest.fixture(scope="module")
def flat2020(tmp_path_factory):
    """A DCASE2020-named subset kept as machine folders with the clips directly inside."""
    root = tmp_path_factory.mktemp("flat2020")
    (root / "valve").mkdir()
    for k, wave in enumerate(_excerpts(8, "normal")):
        sf.write(root / "valve" / f"normal_id_0{k % 2 * 2}_{k:08d}.wav", wave, 16000, subtype="PCM_16")
    for k, wave in enumerate(_excerpts(4, "anomaly")):
        sf.write(root / "valve" / f"anomaly_id_0{k % 2 * 2}_{k:08d}.wav", wave, 16000, subtype="PCM_16")
    return root


def test_mimii_files_are_wave_format_extensible_with_8_channels(mimii):
    header = (mimii / "fan" / "id_00" / "normal" / "00000000.wav").read_bytes()[:36]
    assert header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt "
    format_tag, channels = struct.unpack("<HH", header[20:24])
    assert format_tag == 0xFFFE and channels == 8


def test_data_check_finds_the_mimii_clips(mimii):
    assert dataset_kind(mimii) == "folder"
    result = CliRunner().invoke(main, ["data", "check", str(mimii), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["clips"] == 18 and summary["layout"] == "mimii" and summary["channels"] == {"8": 18}
    counts = {(r["section"], r["label"]): r["clips"] for r in summary["counts"]}
    assert counts == {("00", "normal"): 6, ("00", "anomaly"): 3, ("02", "normal"): 6, ("02", "anomaly"): 3}
    text = CliRunner().invoke(main, ["data", "check", str(mimii)])
    assert "Clips: 18 usable" in text.output and "--train-from-test" in text.output


def test_run_trains_and_scores_a_mimii_folder(mimii, tmp_path, isolated_home):
    result = CliRunner().invoke(main, ["run", "--data", str(mimii), "--train-from-test", "0.5", "--out",
                                       str(tmp_path), "--name", "m", *TINY])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "run.json").read_text())
    assert meta["dataset"]["name"] == "folder-mimii-" + mimii.name + "+train-from-test-0.5"
    assert meta["dataset"]["length_policy"]["samples"] == 16000
    results = pd.read_csv(tmp_path / "m" / "results.csv", dtype={"section": str})
    official = results[results.metric == "official_score"]
    assert len(official) and official.value.between(0, 1).all()
    assert set(results.section) >= {"00", "02"}
    scores = pd.read_csv(tmp_path / "m" / "baseline" / "seed-0" / "kmeans" / "scores.csv")
    assert "anomaly_id_02_00000001.wav" in set(scores.file) and scores.file.is_unique  # MIMII repeats file names


def test_flat_dcase2020_subset_is_found_and_trains(flat2020, tmp_path, isolated_home):
    assert dataset_kind(flat2020) == "folder"
    check = CliRunner().invoke(main, ["data", "check", str(flat2020)])
    assert check.exit_code == 0 and "Clips: 12 usable" in check.output and "DCASE2020" in check.output
    result = CliRunner().invoke(main, ["run", "--data", str(flat2020), "--train-from-test", "0.5", "--out",
                                       str(tmp_path), "--name", "f", *TINY])
    assert result.exit_code == 0, result.output
    results = pd.read_csv(tmp_path / "f" / "results.csv", dtype={"section": str})
    assert set(results.machine) >= {"valve"} and (results.metric == "official_score").any()


def test_normal_anomaly_folders(tmp_path):
    for label, waves in (("normal", _excerpts(3, "normal")), ("anomaly", _excerpts(2, "anomaly"))):
        (tmp_path / "pump" / label).mkdir(parents=True)
        for k, wave in enumerate(waves):
            sf.write(tmp_path / "pump" / label / f"clip{k}.wav", wave, 16000)
    (tmp_path / "pump" / "anomaly" / "broken.wav").write_bytes(b"RIFF0000WAVE")
    result = scan_folder(tmp_path / "pump")
    assert result.layout == "normal-anomaly" and len(result.clips) == 5
    assert {(c.machine, c.section, c.label) for c in result.clips} == {("pump", "00", "normal"), ("pump", "00", "anomaly")}
    assert len(result.problems) == 1 and "broken.wav" in result.problems[0]


def test_manifest_reads_relative_paths_and_rejects_bad_rows(tmp_path):
    waves = _excerpts(3, "normal") + _excerpts(1, "anomaly")
    for k, wave in enumerate(waves):
        sf.write(tmp_path / f"c{k}.wav", wave, 16000)
    manifest = tmp_path / "clips.csv"
    manifest.write_text("path,machine,section,subset,domain,label,attribute\n"
                        "c0.wav,valve,0,train,source,normal,pat_00\nc1.wav,valve,00,train,target,normal,pat_02\n"
                        "c2.wav,valve,00,test,source,normal,\nc3.wav,valve,00,test,source,anomaly,\n"
                        "gone.wav,valve,00,test,source,normal,\n")
    assert dataset_kind(manifest) == "manifest"
    result = read_manifest(manifest)
    assert [c.subset for c in result.clips] == ["test", "test", "train", "train"] or len(result.clips) == 4
    assert {c.section for c in result.clips} == {"00"} and result.version == "2023"
    assert result.problems == [f"{tmp_path / 'gone.wav'}: listed in clips.csv (line 6) but not found"]
    check = CliRunner().invoke(main, ["data", "check", str(manifest)])
    assert check.exit_code == 1 and "Clips: 4 usable" in check.output
    bad = tmp_path / "bad.csv"
    bad.write_text("path,machine,label\nc0.wav,valve,broken\n")
    with pytest.raises(DataError, match=r"bad.csv, line 2: label 'broken' is not one of normal, anomaly"):
        read_manifest(bad)
    bad.write_text("path,machine,colour\nc0.wav,valve,red\n")
    with pytest.raises(DataError, match="unknown column.s. colour"):
        read_manifest(bad)
