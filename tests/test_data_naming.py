"""DCASE file-name parsing (asdbench.data.names) and version detection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from shared_data import VALVE  # noqa: E402

from asdbench.data.dcase import detect_version
from asdbench.data.names import parse_name
from asdbench.errors import DataError


@pytest.mark.skipif(not VALVE.is_dir(), reason="real DCASE2023 valve clips not available")
def test_every_real_valve_name_parses():
    names = sorted(p.name for p in VALVE.glob("*.wav"))
    assert len(names) == 200
    parsed = [parse_name(n) for n in names]
    assert Counter(p.label for p in parsed) == {"normal": 100, "anomaly": 100}
    assert Counter(p.domain for p in parsed) == {"source": 100, "target": 100}
    assert {p.section for p in parsed} == {"00"}
    assert {p.subset for p in parsed} == {"test"}
    assert {p.attribute for p in parsed} == {"pat_00", "pat_01", "pat_02", "pat_03"}
    # source clips carry pat_00/pat_01, target clips pat_02/pat_03
    assert {p.attribute for p in parsed if p.domain == "source"} == {"pat_00", "pat_01"}
    assert {p.attribute for p in parsed if p.domain == "target"} == {"pat_02", "pat_03"}
    assert all(p.index.isdigit() and len(p.index) == 4 for p in parsed)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # DCASE2020
        ("normal_id_00_00000000.wav", ("id", "00", None, None, "normal", "00000000", "")),
        ("anomaly_id_02_00000012.wav", ("id", "02", None, None, "anomaly", "00000012", "")),
        ("id_01_00000003.wav", ("id", "01", None, None, None, "00000003", "")),
        # DCASE2021: test names without attributes, eval names with the domain shown
        ("section_00_target_test_normal_0000.wav", ("section", "00", "test", "target", "normal", "0000", "")),
        ("section_03_source_test_0017.wav", ("section", "03", "test", "source", None, "0017", "")),
        # DCASE2022
        ("section_02_source_train_normal_0123_car_A1_spd_28V_mic_1_noise_1.wav",
         ("section", "02", "train", "source", "normal", "0123", "car_A1_spd_28V_mic_1_noise_1")),
        ("section_05_0042.wav", ("section", "05", "test", None, None, "0042", "")),
        # DCASE2023-2025
        ("section_00_source_train_normal_0000_m-n_W.wav", ("section", "00", "train", "source", "normal", "0000", "m-n_W")),
        ("section_00_target_test_anomaly_0001_vel_12_loc_A.wav",
         ("section", "00", "test", "target", "anomaly", "0001", "vel_12_loc_A")),
        ("section_00_source_train_normal_0009_noAttributes.wav",
         ("section", "00", "train", "source", "normal", "0009", "noAttributes")),
        ("section_00_source_train_normal_0009_.wav", ("section", "00", "train", "source", "normal", "0009", "")),
        ("section_00_0000.wav", ("section", "00", "test", None, None, "0000", "")),
        ("section_00_source_test_normal_0001_pat_00.FLAC", ("section", "00", "test", "source", "normal", "0001", "pat_00")),
    ],
)
def test_parse_names_of_every_version(name, expected):
    p = parse_name(name)
    assert (p.scheme, p.section, p.subset, p.domain, p.label, p.index, p.attribute) == expected
    assert p.name == name
    assert p.hidden == (expected[4] is None)


def test_only_the_file_name_is_parsed_never_the_path():
    path = Path("/data/my_dcase_2023/dev_data/raw/slide_rail_x/train/section_00_source_train_normal_0004_vel_6_loc_B.wav")
    assert parse_name(path) == parse_name(path.name)
    assert parse_name(str(path)).attribute == "vel_6_loc_B"


def test_styles_tell_hidden_kinds_apart():
    assert parse_name("normal_id_00_00000000.wav").style == "id"
    assert parse_name("id_00_00000000.wav").style == "id-hidden"
    assert parse_name("section_03_target_test_0000.wav").style == "section-domain"
    assert parse_name("section_03_0000.wav").style == "section-hidden"
    assert parse_name("section_03_source_train_normal_0000_a.wav").style == "section"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("foo.wav", "starts with 'foo'"),
        ("section_0_source_train_normal_0000.wav", "not two digits"),
        ("section_00_middle_train_normal_0000.wav", "domain 'middle'"),
        ("section_00_source_val_normal_0000.wav", "subset 'val'"),
        ("section_00_source_train_broken_0000.wav", "label 'broken'"),
        ("section_00_source_train_normal_abcd.wav", "clip number 'abcd'"),
        ("section_00_source_train_0000.wav", "section_<XX>_<domain>_test_<NNNN>"),
        ("section_00_source_train_normal_0000.mp3", "not a .wav or .flac"),
        ("section_00_x0000.wav", "clip number"),
        ("normal_id_0_00000000.wav", "not two digits"),
        ("normal_00_00000000.wav", "DCASE2020 names"),
        ("section.wav", "too few"),
    ],
)
def test_bad_names_raise_an_error_naming_the_file(name, reason):
    with pytest.raises(DataError) as info:
        parse_name(f"/some/folder_with_underscores/{name}")
    message = str(info.value)
    assert message.startswith(f"{name}: ")
    assert reason in message


def _found(machine: str, names: list[str]):
    return [(machine, parse_name(n)) for n in names]


def test_detect_version_from_names():
    assert detect_version(_found("fan", ["normal_id_00_00000000.wav"])) == "2020"
    assert detect_version(_found("fan", ["section_03_source_test_0000.wav", "section_00_source_test_normal_0000.wav"])) == "2021"
    three_targets = [f"section_0{s}_target_train_normal_000{i}_a.wav" for s in range(3) for i in range(3)]
    assert detect_version(_found("fan", three_targets)) == "2021"
    ten_targets = [f"section_0{s}_target_train_normal_00{i:02d}_a.wav" for s in range(3) for i in range(10)]
    assert detect_version(_found("fan", ten_targets)) == "2022"
    assert detect_version(_found("fan", ["section_00_source_train_normal_0000_a.wav"])) == "2023"
    assert detect_version(_found("valve", ["section_00_source_test_normal_0000_pat_00.wav"])
                          + _found("bandsaw", ["section_00_0000.wav"])) == "2023"
    assert detect_version(_found("3DPrinter", ["section_00_0000.wav"])) == "2024"
    assert detect_version(_found("ToyRCCar", ["section_00_0000.wav"])) == "2025"
    assert detect_version([]) == "2023"
