"""The synthetic benchmark tree: layout, names, counts, ground truth, determinism, resuming."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asdbench.errors import ConfigError, DataError
from asdbench.synth import (
    MACHINES,
    MANIFEST,
    MARKER,
    META,
    PRESETS,
    SEVERITY_SCALE,
    generate,
    get_preset,
    is_complete,
)
from asdbench.synth.params import parse_attributes
from asdbench.synth.plan import plan
from asdbench.synth.render import fault_amount, render

# DCASE2023 names, checked with our own patterns (independent of asdbench.data.names)
TRAIN_RE = re.compile(r"^section_00_(source|target)_train_normal_(\d{4})_([A-Za-z0-9.\-]+(?:_[A-Za-z0-9.\-]+)*)\.wav$")
TEST_RE = re.compile(r"^section_00_(source|target)_test_(normal|anomaly)_(\d{4})_([A-Za-z0-9.\-]+(?:_[A-Za-z0-9.\-]+)*)\.wav$")
HIDDEN_RE = re.compile(r"^section_00_(\d{4})\.wav$")

#: all 14 types, 1-s clips, few files: renders in about a second
TINY = dataclasses.replace(
    PRESETS["quick"], name="tiny", machines=tuple(MACHINES), clip_seconds=1.0, train_source=5, train_target=2, test_per_group=2
)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [r for r in csv.reader(handle) if r]


@pytest.fixture(scope="module")
def tiny_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "data", TINY, seed=3, workers=1)


@pytest.fixture(scope="module")
def manifest(tiny_tree: Path) -> list[dict[str, str]]:
    with open(tiny_tree / MANIFEST, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_layout_and_names(tiny_tree: Path) -> None:
    for name, spec in MACHINES.items():
        base = tiny_tree / f"{spec.split}_data" / "raw" / name
        train = sorted(p.name for p in (base / "train").iterdir())
        test = sorted(p.name for p in (base / "test").iterdir())
        assert len(train) == 7 and len(test) == 8
        for f in train:
            m = TRAIN_RE.match(f)
            assert m, f
            assert m.group(3) in (spec.source if m.group(1) == "source" else spec.target)
        for f in test:
            if spec.split == "dev":
                m = TEST_RE.match(f)
                assert m, f
                assert m.group(4) in (spec.source if m.group(1) == "source" else spec.target)
            else:
                assert HIDDEN_RE.match(f), f
        if spec.split == "eval":
            assert sorted(int(HIDDEN_RE.match(f).group(1)) for f in test) == list(range(8))
    assert (tiny_tree / MARKER).is_file()
    assert not list(tiny_tree.rglob("*.part"))


def test_wav_format(tiny_tree: Path) -> None:
    wavs = sorted(tiny_tree.rglob("*.wav"))
    assert len(wavs) == 14 * 15
    for path in wavs[::7]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        assert info.frames == 16000
        x, _ = sf.read(path, dtype="int16")
        assert 0 < np.abs(x).max() < 32767  # real signal, no clipping
        assert 500 < np.sqrt(np.mean(x.astype(float) ** 2)) < 5000  # around -26 dBFS


def test_metadata(tiny_tree: Path) -> None:
    meta = json.loads((tiny_tree / META).read_text())
    assert meta["preset"] == "tiny" and meta["seed"] == 3 and meta["sample_rate"] == 16000
    assert meta["clip_seconds"] == 1.0 and meta["files"] == 14 * 15
    assert set(meta["machines"]) == set(MACHINES)
    assert meta["snr_db"] == {m: s.snr_db for m, s in MACHINES.items()}
    fan = meta["machines"]["fan"]
    assert fan["counts"] == {"train": {"source": 5, "target": 2}, "test": {"source": {"normal": 2, "anomaly": 2}, "target": {"normal": 2, "anomaly": 2}}}
    assert set(meta["severities"]["fan"]) == {"blade_damage", "unbalance", "clogging"}
    assert is_complete(tiny_tree, TINY, 3) and not is_complete(tiny_tree, TINY, 4)


def test_attribute_tables(tiny_tree: Path, manifest: list[dict[str, str]]) -> None:
    for name, spec in MACHINES.items():
        rows = read_rows(tiny_tree / f"{spec.split}_data" / "raw" / name / "attributes_00.csv")
        pairs = len(parse_attributes(spec.source[0]))
        assert rows[0] == ["file_name"] + [f"d{i}{c}" for i in range(1, pairs + 1) for c in "pv"]
        shown = {r["path"].split("/raw/")[1]: r["attribute"] for r in manifest if r["machine"] == name and not HIDDEN_RE.match(Path(r["path"]).name)}
        assert {r[0] for r in rows[1:]} == set(shown)  # hidden eval test names are not listed
        for r in rows[1:]:
            assert r[0].startswith(f"{name}/")
            assert "_".join(r[1:]) == shown[r[0]]  # key/value columns spell the attribute string


def test_ground_truth_matches_hidden_files(tiny_tree: Path, manifest: list[dict[str, str]]) -> None:
    by_path = {r["path"]: r for r in manifest}
    for name, spec in MACHINES.items():
        stem = f"ground_truth_{name}_section_00_test.csv"
        if spec.split == "dev":
            assert not (tiny_tree / "ground_truth_data" / stem).exists()
            continue
        hidden = sorted(p.name for p in (tiny_tree / "eval_data" / "raw" / name / "test").iterdir())
        labels = read_rows(tiny_tree / "ground_truth_data" / stem)
        domains = read_rows(tiny_tree / "ground_truth_domain" / stem)
        attrs = read_rows(tiny_tree / "ground_truth_attributes" / stem)
        assert [r[0] for r in labels] == [r[0] for r in domains] == [r[0] for r in attrs] == hidden
        for (f, lab), (_, dom), (_, full) in zip(labels, domains, attrs, strict=True):
            m = TEST_RE.match(full + ".wav")  # official layout: full name without .wav
            assert m, full
            truth = by_path[f"eval_data/raw/{name}/test/{f}"]
            assert (m.group(1), m.group(2), m.group(4)) == (truth["domain"], truth["label"], truth["attribute"])
            assert lab == str(int(truth["label"] == "anomaly")) and dom == str(int(truth["domain"] == "target"))
        assert Counter(r[1] for r in labels) == {"0": 4, "1": 4}


def test_manifest_faults(manifest: list[dict[str, str]]) -> None:
    for r in manifest:
        if r["label"] == "normal":
            assert r["anomaly"] == "" and float(r["amount"]) == 0.0
        else:
            kind = MACHINES[r["machine"]].anomaly(r["anomaly"])
            assert kind.lo * SEVERITY_SCALE <= float(r["amount"]) <= kind.hi * SEVERITY_SCALE


def test_preset_counts() -> None:
    quick = plan(PRESETS["quick"], 0)
    assert len(quick) == 6 * (100 + 10 + 100)
    assert Counter(f.split for f in quick) == {"dev": 630, "eval": 630}
    paper = plan(PRESETS["paper"], 0)
    assert len(paper) == 14 * (990 + 10 + 200) == 16800
    assert len({f.relpath for f in paper}) == len(paper)
    for machine in MACHINES:
        files = [f for f in paper if f.machine == machine]
        c = Counter((f.subset, f.domain, f.label) for f in files)
        assert c[("train", "source", "normal")] == 990 and c[("train", "target", "normal")] == 10
        assert c[("test", "source", "normal")] + c[("test", "target", "normal")] == 100
        assert c[("test", "source", "anomaly")] + c[("test", "target", "anomaly")] == 100
        if MACHINES[machine].split == "dev":  # dev is domain-balanced, eval only roughly
            assert c[("test", "source", "normal")] == c[("test", "target", "anomaly")] == 50
        else:
            assert 36 <= c[("test", "source", "normal")] <= 64
        kinds = Counter(f.anomaly for f in files if f.anomaly)
        assert set(kinds) == {k.name for k in MACHINES[machine].anomalies} and max(kinds.values()) - min(kinds.values()) <= 2
    assert {PRESETS["paper"].seconds(m) for m in ("ToyCar", "ToyTrain")} == {12.0}
    assert PRESETS["paper"].seconds("fan") == 10.0


def test_bad_preset_and_seed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--preset 'huge'"):
        get_preset("huge")
    with pytest.raises(ConfigError, match="unknown machine type"):
        dataclasses.replace(TINY, machines=("fan", "toaster"))
    with pytest.raises(DataError, match="--seed"):
        generate(tmp_path / "x", TINY, seed=-1)


def test_deterministic_and_parallel(tiny_tree: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", TINY, seed=3, workers=2)  # other process count, same bytes
    assert tree_digest(again) == tree_digest(tiny_tree)
    other = generate(tmp_path / "other", dataclasses.replace(TINY, machines=("fan", "shaker")), seed=4, workers=1)
    ref, new = tree_digest(tiny_tree), tree_digest(other)
    common = [k for k in new if k.endswith(".wav") and k in ref]
    assert common and all(ref[k] != new[k] for k in common)


def test_single_file_renders_alone(tiny_tree: Path) -> None:
    files = plan(TINY, 3)
    for spec in files[::37]:
        x, _ = sf.read(tiny_tree / spec.relpath, dtype="int16")
        assert np.array_equal(x, render(spec, TINY, 3))
    anomalous = [f for f in files if f.anomaly][0]
    assert fault_amount(3, anomalous) != fault_amount(4, anomalous)


def test_resume_half_written_tree(tiny_tree: Path, tmp_path: Path) -> None:
    out = generate(tmp_path / "t", TINY, seed=3, workers=1)
    (out / MARKER).unlink()
    wavs = sorted(out.rglob("*.wav"))
    for p in wavs[::3]:
        p.unlink()
    (wavs[1].with_name(wavs[1].name + ".part")).write_bytes(b"half")  # killed mid-write
    (out / "ground_truth_data" / "ground_truth_shaker_section_00_test.csv").write_text("junk\n")
    assert not is_complete(out)
    generate(out, TINY, seed=3, workers=1)
    assert tree_digest(out) == tree_digest(tiny_tree)


def test_refuses_foreign_or_other_folders(tiny_tree: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a synthetic benchmark"):
        generate(foreign, TINY, seed=3, overwrite=True)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    with pytest.raises(DataError, match="another preset/seed"):
        generate(tiny_tree, TINY, seed=5)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        generate(tmp_path / "file", TINY, seed=3)


def test_overwrite_replaces_synthetic_tree(tmp_path: Path) -> None:
    small = dataclasses.replace(TINY, machines=("valve", "bandsaw"))
    out = generate(tmp_path / "o", small, seed=1, workers=1)
    (out / "extra.txt").write_text("user file")
    generate(out, dataclasses.replace(small, machines=("fan",)), seed=2, overwrite=True, workers=1)
    assert sorted(p.name for p in (out / "dev_data" / "raw").iterdir()) == ["fan"]
    assert not (out / "eval_data").exists() and (out / "extra.txt").read_text() == "user file"
    assert json.loads((out / META).read_text())["seed"] == 2


def test_docs_describe_every_type_and_fault() -> None:
    """docs/synthetic.md stays in step with the tuning table."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "synthetic.md").read_text(encoding="utf-8")
    for name, spec in MACHINES.items():
        assert f"### {name} ({spec.split})" in doc
        assert f"SNR {spec.snr_db:g} dB" in doc
        for attribute in spec.source + spec.target:
            assert f"`{attribute}`" in doc, attribute
        section = doc.split(f"### {name} (")[1].split("\n### ")[0]
        for kind in spec.anomalies:
            assert f"| `{kind.name}` |" in section and f"| {kind.lo:g}-{kind.hi:g} |" in section, (name, kind.name)
