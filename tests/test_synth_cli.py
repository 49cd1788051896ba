"""``asdbench data synth`` and the generate-once cache (``ensure_synthetic``)."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import asdbench.synth.cache as cache
from asdbench.cli import main
from asdbench.synth import (
    GENERATOR_VERSION,
    MARKER,
    PRESETS,
    cache_dir,
    ensure_synthetic,
    generate,
    is_complete,
)
from asdbench.synth import presets as presets_module

SMALL = dataclasses.replace(
    PRESETS["quick"], name="quick", machines=("valve", "shaker"), clip_seconds=0.5, train_source=4, train_target=2, test_per_group=2
)
FILES = 2 * (4 + 2 + 8)


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def small_quick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Make the 'quick' preset tiny and point ASDBENCH_HOME at a temporary folder."""
    monkeypatch.setitem(presets_module.PRESETS, "quick", SMALL)
    home = tmp_path / "home"
    monkeypatch.setenv("ASDBENCH_HOME", str(home))
    return home


def test_cli_writes_counts_and_reuses(small_quick: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(main, ["data", "synth", "--out", str(out), "--seed", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert f"Wrote: synthetic benchmark 'quick' (seed 2, generator v{GENERATOR_VERSION})" in result.output
    assert f"files  : {FILES} WAV (12 train, 16 test), 16000 Hz mono 16-bit, 0.5 s clips" in result.output
    assert "dev    : 1 machine types (valve)" in result.output and "eval   : 1 machine types (shaker)" in result.output
    assert is_complete(out, SMALL, 2) and len(list(out.rglob("*.wav"))) == FILES
    again = CliRunner().invoke(main, ["data", "synth", "--out", str(out), "--seed", "2"])
    assert again.exit_code == 0 and again.output.startswith("Already complete (nothing to do)")


def test_cli_refuses_foreign_folder_and_other_seed(small_quick: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    result = CliRunner().invoke(main, ["data", "synth", "--out", str(foreign), "--overwrite"])
    assert result.exit_code == 2
    assert result.output == f"Error: {foreign}: folder is not empty and is not a synthetic benchmark; refusing to write into it\n"
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]

    out = tmp_path / "bench"
    assert CliRunner().invoke(main, ["data", "synth", "--out", str(out), "--workers", "1"]).exit_code == 0
    clash = CliRunner().invoke(main, ["data", "synth", "--out", str(out), "--seed", "1"])
    assert clash.exit_code == 2 and "use --overwrite" in clash.output and len(clash.output.splitlines()) == 1
    replaced = CliRunner().invoke(main, ["data", "synth", "--out", str(out), "--seed", "1", "--overwrite", "--workers", "1"])
    assert replaced.exit_code == 0 and is_complete(out, SMALL, 1)


def test_cli_bad_options(small_quick: Path) -> None:
    result = CliRunner().invoke(main, ["data", "synth", "--preset", "huge"])
    assert result.exit_code == 2 and "'huge' is not one of 'quick', 'paper'" in result.output
    assert CliRunner().invoke(main, ["data", "synth", "--seed", "-3"]).exit_code == 2


def test_cli_default_goes_to_cache(small_quick: Path) -> None:
    result = CliRunner().invoke(main, ["data", "synth", "--workers", "1"])
    assert result.exit_code == 0, result.output
    expected = small_quick / "synthetic" / f"quick-seed0-v{GENERATOR_VERSION}"
    assert f"folder : {expected}" in result.output and is_complete(expected)


def test_ensure_synthetic_generates_once(small_quick: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = ensure_synthetic("quick", 0, workers=1)
    assert root == cache_dir("quick", 0) == small_quick / "synthetic" / f"quick-seed0-v{GENERATOR_VERSION}"
    assert is_complete(root, SMALL, 0) and not list(root.parent.glob(".*tmp*"))
    before = digest(root)
    monkeypatch.setattr(cache, "generate", lambda *a, **k: pytest.fail("regenerated a complete tree"))
    assert ensure_synthetic("quick", 0, small_quick) == root
    assert digest(root) == before


def test_ensure_synthetic_replaces_half_written_tree(small_quick: Path, tmp_path: Path) -> None:
    root = cache_dir("quick", 5)
    (root / "dev_data" / "raw" / "valve" / "train").mkdir(parents=True)
    (root / "dev_data" / "raw" / "valve" / "train" / "section_00_source_train_normal_0000_pat_00.wav").write_bytes(b"RIFF")
    assert ensure_synthetic("quick", 5, workers=1) == root
    assert digest(root) == digest(generate(tmp_path / "ref", SMALL, 5, workers=1))


def test_ensure_synthetic_replaces_a_tree_of_an_older_preset_definition(
    small_quick: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ensure_synthetic("quick", 0, workers=1)
    changed = dataclasses.replace(SMALL, machines=("fan",))
    monkeypatch.setitem(presets_module.PRESETS, "quick", changed)
    assert ensure_synthetic("quick", 0, workers=1) == root
    assert is_complete(root, changed, 0) and sorted(p.name for p in (root / "dev_data" / "raw").iterdir()) == ["fan"]
    assert not (root / "eval_data").exists() and sorted(os.listdir(root.parent)) == [root.name]


def test_ensure_synthetic_resumes_a_dead_process_leftover(small_quick: Path, tmp_path: Path) -> None:
    final = cache_dir("quick", 7)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    leftover = final.parent / f".{final.name}.tmp-{cache._host()}-{int(dead.stdout)}"
    generate(leftover, SMALL, 7, workers=1)
    (leftover / MARKER).unlink()
    kept = sorted(leftover.rglob("*.wav"))[0]
    inode = kept.stat().st_ino
    for wav in sorted(leftover.rglob("*.wav"))[1::2]:
        wav.unlink()
    root = ensure_synthetic("quick", 7, workers=1)
    assert (root / kept.relative_to(leftover)).stat().st_ino == inode  # the leftover was moved, not redone
    assert not leftover.exists()
    assert digest(root) == digest(generate(tmp_path / "ref", SMALL, 7, workers=1))


def test_interrupted_ensure_synthetic_resumes(small_quick: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import asdbench.synth.writer as writer

    real_render, calls = writer.render, []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return real_render(*args, **kwargs)

    monkeypatch.setattr(writer, "render", flaky)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic("quick", 9, workers=1)
    final = cache_dir("quick", 9)
    (leftover,) = final.parent.glob(f".{final.name}.tmp-*")
    assert len(list(leftover.rglob("*.wav"))) == 5 and not final.exists()
    monkeypatch.setattr(writer, "render", lambda *a, **k: (calls.append(1), real_render(*a, **k))[1])
    calls.clear()
    assert ensure_synthetic("quick", 9, workers=1) == final
    assert len(calls) == FILES - 5 and not leftover.exists()
    assert digest(final) == digest(generate(tmp_path / "ref", SMALL, 9, workers=1))


def _race(home: str, queue: multiprocessing.Queue) -> None:
    queue.put(str(ensure_synthetic(dataclasses.replace(SMALL, name="race"), 0, Path(home), workers=1)))


def test_ensure_synthetic_concurrent_callers(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    roots = {queue.get(timeout=5) for _ in procs}
    assert roots == {str(tmp_path / "synthetic" / f"race-seed0-v{GENERATOR_VERSION}")}
    root = Path(roots.pop())
    assert is_complete(root) and sorted(os.listdir(root.parent)) == [root.name]
    assert digest(root) == digest(generate(tmp_path / "ref", dataclasses.replace(SMALL, name="race"), 0, workers=1))
