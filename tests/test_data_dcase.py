"""Loading DCASE folders: layouts, versions, ground truth, bad files, and the dataset plugins."""

from __future__ import annotations

import json
import shutil
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from shared_data import VALVE  # noqa: E402

from asdbench.components import LengthPolicy
from asdbench.data.dcase import load_dataset, scan
from asdbench.errors import DataError
from asdbench.plugins import resolve

pytestmark = pytest.mark.skipif(not VALVE.is_dir(), reason="real DCASE2023 valve clips not available")

TRAIN_FROM = {  # training-style copies of real test clips: (test name prefix, train name)
    "section_00_source_test_normal_0000_pat_01.wav": "section_00_source_train_normal_0000_pat_01.wav",
    "section_00_source_test_normal_0002_pat_00.wav": "section_00_source_train_normal_0001_pat_00.wav",
    "section_00_source_test_normal_0001_pat_01.wav": "section_00_source_train_normal_0002_pat_01.wav",
}


def build_valve_tree(root: Path, with_train: bool = True) -> Path:
    """The 200 real valve test clips in a DCASE2023 tree, plus a few training-style copies."""
    test = root / "dev_data" / "raw" / "valve" / "test"
    test.mkdir(parents=True)
    for path in sorted(VALVE.glob("*.wav")):
        shutil.copyfile(path, test / path.name)
    if with_train:
        train = test.parent / "train"
        train.mkdir()
        for src, dst in TRAIN_FROM.items():
            shutil.copyfile(VALVE / src, train / dst)
        target = sorted(VALVE.glob("section_00_target_test_normal_*_pat_02.wav"))[0]
        shutil.copyfile(target, train / "section_00_target_train_normal_0000_pat_02.wav")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_valve_tree(tmp_path_factory.mktemp("dcase2023"))


@pytest.fixture
def own_tree(tree: Path, tmp_path: Path) -> Path:
    """A private copy the test may damage."""
    return Path(shutil.copytree(tree, tmp_path / "copy"))


def test_load_real_valve_tree(tree: Path):
    ds = load_dataset(tree, seed=3)
    assert (ds.name, ds.version, ds.sample_rate, ds.problems) == ("dcase2023", "2023", 16000, [])
    assert ds.length_policy == LengthPolicy("tile_crop", 288000, 3)
    test = ds.select(subset="test")
    assert len(test) == 200 and len(ds.clips) == 204
    assert Counter(c.label for c in test) == {"normal": 100, "anomaly": 100}
    assert Counter(c.domain for c in test) == {"source": 100, "target": 100}
    assert {c.attribute for c in test} == {"pat_00", "pat_01", "pat_02", "pat_03"}
    assert {(c.machine, c.section, c.split) for c in ds.clips} == {("valve", "00", "dev")}
    assert ds.train_classes() == ["valve|00|pat_00|source", "valve|00|pat_01|source", "valve|00|pat_02|target"]
    assert ds.groups() == ["valve/section_00"]
    keys = [(c.split, c.machine, c.subset, c.path.name) for c in ds.clips]
    assert keys == sorted(keys)
    assert all(c.path.is_absolute() and c.path.is_file() for c in ds.clips)


@pytest.mark.parametrize("sub", ["dev_data", "dev_data/raw", "dev_data/raw/valve"])
def test_layout_variants_give_the_same_clips(tree: Path, sub: str):
    reference = load_dataset(tree)
    ds = load_dataset(tree / sub)
    assert [(c.machine, c.split, c.subset, c.path.name) for c in ds.clips] == \
        [(c.machine, c.split, c.subset, c.path.name) for c in reference.clips]


def test_without_raw_level_and_folder_of_machines(tmp_path: Path):
    flat = tmp_path / "machines"
    shutil.copytree(VALVE, flat / "valve" / "test")
    ds = load_dataset(flat)
    assert len(ds.clips) == 200 and {c.split for c in ds.clips} == {"dev"}
    no_raw = tmp_path / "root"
    shutil.copytree(flat, no_raw / "dev_data")
    assert len(load_dataset(no_raw).clips) == 200


def test_missing_root_is_an_error(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no machine folders"):
        load_dataset(tmp_path / "empty")


def test_bad_files_are_problems_and_nothing_else_is_lost(own_tree: Path):
    test = own_tree / "dev_data" / "raw" / "valve" / "test"
    train = test.parent / "train"
    good = sorted(VALVE.glob("section_00_source_test_normal_*.wav"))[3].read_bytes()
    bad = {
        train / "section_00_source_train_normal_0100_pat_00.wav": good[: len(good) // 3],  # truncated
        train / "section_00_source_train_normal_0101_pat_00.wav": b"",  # empty
        train / "section_00_source_train_normal_0102_pat_00.wav": b"not audio at all\n" * 10,  # text as wav
        train / "recording_final_v2.wav": good,  # unparseable name
        test / "normal_id_00_00000000.wav": good,  # DCASE2020 name in a 2023 tree
        test / "section_00_source_train_normal_0103_pat_00.wav": good,  # train name in test/
    }
    for path, content in bad.items():
        path.write_bytes(content)
    fast = train / "section_00_source_train_normal_0104_pat_00.wav"
    sf.write(fast, np.zeros(44100, dtype=np.float32), 44100)
    (own_tree / "dev_data" / "raw" / "fan").mkdir()  # empty machine folder
    (own_tree / "dev_data" / "raw" / "pump" / "train").mkdir(parents=True)  # machine folder without clips
    (train / ".DS_Store").write_bytes(b"x")
    (train / "._section_00_source_train_normal_0000_pat_01.wav").write_bytes(b"mac")  # AppleDouble: ignored

    ds = load_dataset(own_tree)
    assert len(ds.clips) == 204  # every good clip is still there
    problems = "\n".join(ds.problems)
    assert len(ds.problems) == 9, problems
    expect = {
        "section_00_source_train_normal_0100_pat_00.wav": "truncated",
        "section_00_source_train_normal_0101_pat_00.wav": "not a readable audio file",
        "section_00_source_train_normal_0102_pat_00.wav": "not a readable audio file",
        "recording_final_v2.wav": "not a DCASE Task 2 file name",
        "normal_id_00_00000000.wav": "does not belong to a DCASE2023 dataset",
        "section_00_source_train_normal_0103_pat_00.wav": "name says 'train' but the file is in test/",
        "section_00_source_train_normal_0104_pat_00.wav": "44100 Hz but the dataset uses 16000 Hz",
    }
    for name, reason in expect.items():
        lines = [p for p in ds.problems if f"/{name}: " in p]
        assert len(lines) == 1 and reason in lines[0], (name, lines)
        assert lines[0].startswith(str(own_tree))
    assert any(p.startswith(str(own_tree / "dev_data" / "raw" / "fan")) and "no train/ or test/" in p for p in ds.problems)
    assert any(str(own_tree / "dev_data" / "raw" / "pump" / "train") in p and "no audio clips" in p for p in ds.problems)
    # asking for resampling accepts the 44.1 kHz file
    resampled = load_dataset(own_tree, resample=True)
    assert len(resampled.clips) == 205 and resampled.resample
    assert not any("44100" in p for p in resampled.problems)


def _hidden_eval_tree(root: Path, with_domain_in_name: bool = False) -> list[tuple[str, str, str, str]]:
    """eval_data/raw/bandsaw/test with hidden names + evaluator CSVs; returns (name, label, domain, attr)."""
    test = root / "eval_data" / "raw" / "bandsaw" / "test"
    test.mkdir(parents=True)
    sources = sorted(VALVE.glob("*.wav"))[::40][:5]
    truth = []
    for i, src in enumerate(sources):
        label = "anomaly" if "anomaly" in src.name else "normal"
        domain = "target" if "target" in src.name else "source"
        name = f"section_00_{i:04d}.wav"
        shutil.copyfile(src, test / name)
        truth.append((name, label, domain, f"vel_{10 + i}"))
    gt = root / "dcase2023_task2_evaluator"
    for kind in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes"):
        (gt / kind).mkdir(parents=True)
    csv_name = "ground_truth_bandsaw_section_00_test.csv"
    (gt / "ground_truth_data" / csv_name).write_text("".join(f"{n},{int(lab == 'anomaly')}\n" for n, lab, _, _ in truth))
    (gt / "ground_truth_domain" / csv_name).write_text("".join(f"{n},{int(d == 'target')}\n" for n, _, d, _ in truth))
    (gt / "ground_truth_attributes" / csv_name).write_text(
        "".join(f"{n},section_00_{d}_test_{lab}_{n[11:15]}_{a}\n" for n, lab, d, a in truth))
    return truth


def test_eval_hidden_names_get_labels_from_the_official_ground_truth(own_tree: Path):
    truth = _hidden_eval_tree(own_tree)
    ds = load_dataset(own_tree)
    assert ds.version == "2023" and ds.problems == []
    evals = ds.select(split="eval")
    assert [(c.path.name, c.label, c.domain, c.attribute) for c in evals] == truth
    assert {c.machine for c in evals} == {"bandsaw"}
    assert {c.label for c in evals} == {"normal", "anomaly"}


def test_eval_hidden_names_without_ground_truth_stay_unlabelled(tmp_path: Path):
    _hidden_eval_tree(tmp_path)
    shutil.rmtree(tmp_path / "dcase2023_task2_evaluator")
    result = scan(tmp_path)
    assert result.problems == []
    assert all(c.label is None and c.domain is None for c in result.clips)
    assert any("hidden labels" in w for w in result.warnings)


def test_explicit_ground_truth_folder_and_2021_domain_files(tmp_path: Path):
    data = tmp_path / "data"
    test = data / "eval_data" / "fan" / "test"
    test.mkdir(parents=True)
    src = sorted(VALVE.glob("*.wav"))
    names = ["section_03_source_test_0000.wav", "section_03_source_test_0001.wav", "section_03_target_test_0000.wav"]
    for name, path in zip(names, src[: len(names)], strict=True):
        shutil.copyfile(path, test / name)
    gt = tmp_path / "evaluator2021" / "ground_truth_data"
    gt.mkdir(parents=True)
    (gt / "ground_truth_fan_section_03_source_test.csv").write_text(f"{names[0]},1\n{names[1]},0\n")
    (gt / "ground_truth_fan_section_03_target_test.csv").write_text(f"{names[2]},1\n")
    ds = load_dataset(data, ground_truth=tmp_path / "evaluator2021")
    assert ds.version == "2021" and ds.length_policy == LengthPolicy("head", 160000, 0)
    assert [(c.path.name, c.domain, c.label) for c in ds.clips] == [
        (names[0], "source", "anomaly"), (names[1], "source", "normal"), (names[2], "target", "anomaly")]
    with pytest.raises(DataError, match="ground-truth folder does not exist"):
        load_dataset(data, ground_truth=tmp_path / "missing")


def test_dcase2020_tree(tmp_path: Path):
    src = sorted(VALVE.glob("*.wav"))
    dev = tmp_path / "dev_data" / "valve"
    for sub, names in {"train": ["normal_id_00_00000000.wav", "normal_id_02_00000000.wav"],
                       "test": ["normal_id_00_00000001.wav", "anomaly_id_00_00000000.wav"]}.items():
        (dev / sub).mkdir(parents=True)
        for name, path in zip(names, src[: len(names)], strict=True):
            shutil.copyfile(path, dev / sub / name)
    ev = tmp_path / "eval_data" / "valve" / "test"
    ev.mkdir(parents=True)
    shutil.copyfile(src[5], ev / "id_01_00000000.wav")
    (tmp_path / "eval_data_list.csv").write_text("valve\nid_01_00000000.wav,anomaly_id_01_00000000.wav,1\n")
    ds = load_dataset(tmp_path)
    assert ds.version == "2020" and ds.length_policy == LengthPolicy("head", 160000, 0) and ds.problems == []
    assert {c.domain for c in ds.clips} == {"source"}
    assert [(c.split, c.subset, c.section, c.label) for c in ds.clips] == [
        ("dev", "test", "00", "anomaly"), ("dev", "test", "00", "normal"),
        ("dev", "train", "00", "normal"), ("dev", "train", "02", "normal"), ("eval", "test", "01", "anomaly")]


def test_dcase2022_detection_and_attribute_tables(tmp_path: Path):
    src = sorted(VALVE.glob("*.wav"))
    train = tmp_path / "dev_data" / "gearbox" / "train"
    train.mkdir(parents=True)
    rows = ["file_name,d1p,d1v"]
    for section in ("00", "01"):
        for i in range(10):
            name = f"section_{section}_target_train_normal_{i:04d}_volt_{i}.wav"
            shutil.copyfile(src[i], train / name)
            rows.append(f"dev_data/gearbox/train/{name},volt,{i}")
    (train.parent / "attributes_00.csv").write_text("\n".join(rows) + "\n")
    result = scan(tmp_path)
    assert result.version == "2022" and result.problems == []
    assert load_dataset(tmp_path).length_policy == LengthPolicy("head", 160000, 0)
    table = result.attribute_tables["gearbox/section_00"]
    assert table["section_00_target_train_normal_0003_volt_3.wav"] == {"d1p": "volt", "d1v": "3"}
    assert len(load_dataset(tmp_path, "2023").clips) == 20  # an explicit version wins


def test_dataset_plugins(tree: Path):
    ds = resolve("dataset", "dcase2023").factory(tree, seed=5)
    assert ds.version == "2023" and ds.length_policy.seed == 5 and len(ds.clips) == 204
    auto = resolve("dataset", "dcase").factory(tree)
    assert auto.name == "dcase2023"
    as_2022 = resolve("dataset", "dcase2022").factory(tree)
    assert as_2022.length_policy == LengthPolicy("head", 160000, 0)
    for version in ("2020", "2021", "2024", "2025"):
        assert resolve("dataset", f"dcase{version}").factory is not None


def _synthetic_root(root: Path, preset: str = "quick") -> Path:
    shutil.copytree(VALVE, root / "dev_data" / "raw" / "valve" / "test")
    (root / "synthetic.json").write_text(json.dumps({"preset": preset, "seed": 0, "sample_rate": 16000, "clip_seconds": 4}))
    return root


def test_synthetic_dataset_plugin_uses_the_preset_clip_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = _synthetic_root(tmp_path / "synth")
    calls = []

    def ensure_synthetic(preset: str = "quick", seed: int = 0, home: Path | None = None) -> Path:
        calls.append((preset, seed))
        return root

    module = types.ModuleType("asdbench.synth")
    module.ensure_synthetic = ensure_synthetic  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "asdbench.synth", module)
    factory = resolve("dataset", "synthetic").factory
    ds = factory(None, preset="quick", seed=2)
    assert calls == [("quick", 2)]
    assert (ds.name, ds.version) == ("synthetic-quick", "synthetic")
    assert ds.length_policy == LengthPolicy("tile_crop", 64000, 2)
    assert len(ds.clips) == 200
    assert factory(root).name == "synthetic-quick"  # an explicit root needs no generator
    (root / "synthetic.json").unlink()
    with pytest.raises(DataError, match="synthetic.json"):
        factory(root)
