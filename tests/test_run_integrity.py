"""Data problems are visible, resume refuses other data and grows runs, run state is honest.

Real WAV/FLAC files on disk (a copy of the tiny synthetic dataset with broken files added), real
runs of one epoch, real signals sent to a real ``asdbench run`` process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner
from test_runner import _ExplodingPlugin  # a strategy that fails inside training

from asdbench.cli import main
from asdbench.hookspecs import hookimpl
from asdbench.testing import registered_plugin

QUICK = ["--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu"]


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def _train_folder(root: Path) -> Path:
    return root / "dev_data" / "raw" / "fan" / "train"


@pytest.fixture
def data_copy(tiny_synthetic, tmp_path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(tiny_synthetic, root)
    return root


def add_broken_files(root: Path) -> dict[str, str]:
    """One file per kind of problem a dataset has in practice; returns name -> expected reason."""
    train = _train_folder(root)
    good = sorted(train.glob("*.wav"))[0]
    wave, rate = sf.read(good, dtype="float32")
    name = "section_00_source_train_normal_{:04d}_{}.wav".format
    truncated = train / name(900, "truncated")
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (train / name(901, "empty")).write_bytes(b"")
    sf.write(train / name(902, "rate"), wave[::2], rate // 2, subtype="PCM_16")
    shutil.copyfile(good, train / "badly_named.wav")
    nan = wave.copy()
    nan[10] = np.nan
    sf.write(train / name(903, "nan"), nan, rate, subtype="FLOAT")
    flac = train / name(904, "corrupt").replace(".wav", ".flac")
    sf.write(flac, np.random.default_rng(0).uniform(-0.5, 0.5, 4 * len(wave)).astype(np.float32), rate, format="FLAC")
    body = bytearray(flac.read_bytes())
    body[len(body) // 3:] = bytes(len(body) - len(body) // 3)  # zeroed frames after the header
    flac.write_bytes(bytes(body))
    return {"truncated": "truncated", "empty": "empty", "rate": "wrong sample rate", "badly_named": "bad file name",
            "nan": "NaN", "corrupt": "not decodable audio"}


def test_skipped_files_are_summarised_before_training_and_decode_failures_do_not_abort(
        data_copy, tmp_path, isolated_home):
    add_broken_files(data_copy)
    out = tmp_path / "runs"
    strict = _invoke(["run", "--data", str(data_copy), "--out", str(out), "--ssl", "baseline", "--strict-data", *QUICK])
    assert strict.exit_code == 2 and "Error: --strict-data: 4 file problem(s)" in strict.output, strict.output
    assert not out.exists()

    result = _invoke(["run", "--data", str(data_copy), "--out", str(out), "--name", "r", "--ssl", "baseline", *QUICK])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    header = next(line for line in lines if line.startswith("data: skipped 4 file(s)"))
    for reason in ("truncated", "empty", "wrong sample rate", "bad file name"):
        assert reason in header
    decoded = next(line for line in lines if line.startswith("data (while decoding): skipped 2 file(s)"))
    assert "NaN or infinite samples" in decoded and "not decodable audio" in decoded
    assert lines.index(header) < lines.index(decoded)  # both before training (the leaderboard follows)
    listed = (out / "r" / "skipped-files.txt").read_text().splitlines()
    assert len(listed) == 6 and any("_nan.wav" in line for line in listed) and any(".flac" in line for line in listed)
    meta = json.loads((out / "r" / "run.json").read_text())
    assert len(meta["dataset"]["problems"]) == 6 and meta["dataset"]["train_clips"] == 32


def test_data_check_decodes_every_file_and_reports_links_and_notes(data_copy, tmp_path):
    train = _train_folder(data_copy)
    add_broken_files(data_copy)
    (train / "section_00_source_train_normal_0950_dangling.wav").symlink_to(tmp_path / "nowhere.wav")
    loop = train / "section_00_source_train_normal_0951_loop.wav"
    loop.symlink_to(loop)
    good = sorted(train.glob("section_00_source_train_normal_0*.wav"))[0]
    wave, rate = sf.read(good, dtype="float32")
    sf.write(train / "section_00_source_train_normal_0952_stereo.wav", np.stack([wave, wave], 1), rate)
    sf.write(train / "section_00_source_train_normal_0953_loud.wav", wave * 0 + 1.5, rate, subtype="FLOAT")
    (train / os.fsdecode(b"section_00_source_train_normal_0954_\xff.wav")).write_bytes(good.read_bytes())

    full = _invoke(["data", "check", str(data_copy)])
    assert full.exit_code == 1
    text = full.output
    for needle in ("_nan.wav: contains NaN", ".flac: not a readable audio file", "truncated", "(empty file, 0 bytes)",
                   "broken link (points to", "link loops", "file name is not valid UTF-8", "\\xff.wav",
                   "2 channels, mixed down to mono", "beyond ±1.0"):
        assert needle in text, needle
    quick = _invoke(["data", "check", str(data_copy), "--quick", "--json"])
    assert quick.exit_code == 1
    problems = json.loads(quick.stdout)["problems"]
    assert not any("_nan.wav" in p for p in problems), "--quick reads headers only"


def test_data_check_fails_when_a_split_is_unreachable(data_copy, tmp_path):
    shutil.rmtree(data_copy / "eval_data")
    (data_copy / "eval_data").symlink_to(tmp_path / "unmounted-disk")
    result = _invoke(["data", "check", str(data_copy)])
    assert result.exit_code == 1, result.output
    assert f"{data_copy / 'eval_data'}: split folder is a broken or looping link" in result.output


def test_all_trials_failing_prints_the_failures_and_exits_1(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    with registered_plugin(_ExplodingPlugin(), "exploding"):
        result = _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--name", "f",
                          "--ssl", "explode", "regular+explode", *QUICK])
    assert result.exit_code == 1, result.output
    assert "no trial finished: 2 trial(s) failed" in result.stderr
    assert "explode/seed-0: RuntimeError: exploded on purpose" in result.stderr
    assert "no rows" not in result.output and "Traceback" not in result.output
    board = _invoke(["compare", str(out / "f")])
    assert board.exit_code == 2 and "no rows" in board.output


def test_resume_grows_the_run_refuses_contradictions_changed_data_and_retrains_corrupt_checkpoints(
        data_copy, tmp_path, isolated_home):
    out = tmp_path / "runs"
    run = out / "g"
    base = ["run", "--out", str(out), "--name", "g"]
    first = _invoke([*base, "--data", str(data_copy), "--ssl", "baseline", *QUICK])
    assert first.exit_code == 0, first.output
    stored = json.loads((run / "run.json").read_text())
    assert stored["dataset_fingerprint"] and (run / "dataset.json").is_file()
    assert stored["process"]["pid"] > 0 and stored["process"]["host"]

    for args, needle in ((["--epochs", "3"], "--resume: epochs = 3 (the run has 1)"),
                         (["--backend", "knn"], "backends = ['knn'] (the run has ['kmeans'])"),
                         (["--lr", "0.01"], "lr = 0.01 (the run has 0.001)")):
        refused = _invoke([*base, "--resume", *args])
        assert refused.exit_code == 2 and needle in refused.output, refused.output

    # growing: seed 1 is new; a corrupt checkpoint left in its folder fails it with the file named
    seed1 = run / "baseline" / "seed-1"
    seed1.mkdir(parents=True)
    (seed1 / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (seed1 / ".checkpoint.pt.99999.tmp").write_bytes(b"left by a killed process")
    grown = _invoke([*base, "--resume", "--seeds", "2", "--quiet"])
    assert grown.exit_code == 1, grown.output
    error = json.loads((seed1 / "trial.json").read_text())["error"]
    assert f"{seed1 / 'checkpoint.pt'}: corrupt checkpoint" in error and "--resume retrains this trial" in error
    assert (seed1 / "checkpoint.pt.corrupt").exists() and not (seed1 / ".checkpoint.pt.99999.tmp").exists()
    # a SIGKILL inside an atomic write leaves .NAME.XXXXXXXX.tmp files, also beside finished results
    stale = [run / ".results.csv.k3j9x0qa.tmp", run / "baseline" / "seed-0" / ".trial.json.a1b2c3d4.tmp"]
    for path in stale:
        path.write_text("half a file")
    again = _invoke([*base, "--resume", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "skipping finished trial baseline/seed-0" in again.stderr
    assert ("resume: removed 2 stale temporary file(s) left by an interrupted write (.results.csv.k3j9x0qa.tmp, "
            "baseline/seed-0/.trial.json.a1b2c3d4.tmp)") in again.stderr
    assert not any(path.exists() for path in stale)
    results = pd.read_csv(run / "results.csv")
    assert set(results.seed.astype(str)) == {"0", "1", "ensemble"}
    meta = json.loads((run / "run.json").read_text())
    assert meta["config"]["seeds"] == [0, 1] and meta["status"] == "finished"

    victim = sorted(_train_folder(data_copy).glob("*.wav"))[3]
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    shutil.copyfile(victim, victim.with_name("section_00_source_train_normal_0999_new.wav"))
    changed = _invoke([*base, "--resume", "--seeds", "3"])
    assert changed.exit_code == 2, changed.output
    line = next(line for line in changed.output.splitlines() if line.startswith("Error: --resume: the data changed"))
    assert "1 clips added" in line and "1 files modified" in line and victim.name in line
    assert json.loads((run / "run.json").read_text())["config"]["seeds"] == [0, 1]


@pytest.mark.parametrize("change", ["format", "unknown-key", "not-json"])
def test_resume_of_a_run_json_from_another_version_is_one_line(change, tmp_path):
    run = tmp_path / "runs" / "v"
    run.mkdir(parents=True)
    meta = {"asdbench_run": 1, "config": {"systems": ["baseline"]}, "versions": {"asdbench": "9.9"}}
    if change == "format":
        meta["asdbench_run"] = 7
    elif change == "unknown-key":
        meta["config"]["warp_drive"] = True
    (run / "run.json").write_text("{not json" if change == "not-json" else json.dumps(meta))
    result = _invoke(["run", "--resume", "--out", str(tmp_path / "runs"), "--name", "v"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    needle = {"format": "not a run.json this asdbench can resume (format 7, written by asdbench 9.9)",
              "unknown-key": "written by asdbench 9.9 with option(s) this version does not know: warp_drive",
              "not-json": "is not readable JSON"}[change]
    assert needle in result.output


def _env(tmp_path: Path) -> dict[str, str]:
    from asdbench.allocator import without_allocator

    return {**without_allocator(os.environ), "ASDBENCH_HOME": str(tmp_path / "home")}


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_signal_marks_run_and_trial_interrupted_and_says_how_to_resume(sig, code, tiny_synthetic, tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "asdbench", "run", "--data", str(tiny_synthetic), "--out", str(out), "--name", "s",
           "--ssl", "baseline", *QUICK, "--epochs", "200"]
    proc = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    checkpoint = out / "s" / "baseline" / "seed-0" / "checkpoint.pt"
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert checkpoint.exists(), proc.stderr.read() if proc.poll() is not None else "timed out"
    proc.send_signal(sig)
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"resume with: asdbench run --resume --out {out} --name s" in stderr
    meta = json.loads((out / "s" / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["trials"]["baseline/seed-0"]["status"] == "interrupted"
    board = _invoke(["plot", str(out / "s"), "--strict"])
    assert board.exit_code == 2 and "s: run was interrupted" in board.output


def test_compare_says_when_a_run_is_incomplete_or_its_process_died(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    assert _invoke(["run", "--data", str(tiny_synthetic), "--out", str(out), "--name", "c", "--ssl", "baseline",
                    *QUICK]).exit_code == 0
    run = out / "c"
    clean = _invoke(["compare", str(run)])
    assert clean.exit_code == 0 and "Note:" not in clean.output
    meta = json.loads((run / "run.json").read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    meta.update(status="running", process={"pid": dead.pid, "host": meta["process"]["host"]})
    meta["trials"]["baseline/seed-1"] = {"system": "baseline", "seed": 1, "status": "failed", "error": "x"}
    (run / "run.json").write_text(json.dumps(meta))
    text = _invoke(["compare", str(run)])
    assert text.exit_code == 0
    assert text.output.rstrip().splitlines()[-1].startswith("Note: c: run died (its process is gone) (1 done, 1 failed trials)")
    assert f"process {dead.pid}" in text.output
    records = json.loads(_invoke(["compare", str(run), "--format", "json"]).stdout)
    assert all(r["run_state"]["status"] == "died" and r["run_state"]["complete"] is False for r in records)
    strict = _invoke(["compare", str(run), "--strict"])
    assert strict.exit_code == 2 and "Error: --strict: c: run died" in strict.output


def test_workers_die_with_their_parent(tiny_synthetic, tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "asdbench", "run", "--data", str(tiny_synthetic), "--out", str(out), "--name", "w",
           "--ssl", "baseline", "featex", "--workers", "2", *QUICK, "--epochs", "200"]
    proc = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        children = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        if len(children) >= 2 and all((out / "w" / s / "seed-0").exists() for s in ("baseline", "featex")):
            break
        time.sleep(0.2)
    assert len(children) >= 2, "workers did not start"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(Path(f"/proc/{c}").exists() and _not_zombie(c) for c in children):
        time.sleep(0.2)
    assert not any(Path(f"/proc/{c}").exists() and _not_zombie(c) for c in children), "a worker outlived its parent"


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class _UnscoredDataset:
    """A third-party dataset plugin whose data is no DCASE edition (``scoring`` decides)."""

    def __init__(self, scoring: str | None) -> None:
        self.scoring = scoring

    @hookimpl
    def register_datasets(self, register):
        def factory(root, *, seed=0, resample=False):
            import dataclasses

            from asdbench.plugins import resolve

            synthetic = resolve("dataset", "synthetic").factory(root, seed=seed)
            return dataclasses.replace(synthetic, name="my-machines", version="my-machines-v1", scoring=self.scoring)

        register("my-machines", factory, description="test: a dataset that declares its scoring edition or not")


def test_a_dataset_without_a_scoring_edition_fails_before_training(tiny_synthetic, tmp_path, isolated_home):
    out = tmp_path / "runs"
    with registered_plugin(_UnscoredDataset(None), "unscored"):
        result = _invoke(["run", "--data", str(tiny_synthetic), "--dataset", "my-machines", "--out", str(out),
                          "--name", "x", "--ssl", "baseline", *QUICK])
    assert result.exit_code == 2, result.output
    assert ("dataset 'my-machines': version 'my-machines-v1' is not a DCASE edition and the dataset declares no "
            "scoring edition (set Dataset.scoring to one of 2020, 2021, 2022, 2023, 2024, 2025)") in result.output
    assert "Traceback" not in result.output and not (out / "x").exists()  # nothing trained, nothing written
    with registered_plugin(_UnscoredDataset("2023"), "scored"):
        result = _invoke(["run", "--data", str(tiny_synthetic), "--dataset", "my-machines", "--out", str(out),
                          "--name", "y", "--ssl", "baseline", *QUICK])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "y" / "run.json").read_text())
    assert record["dataset"]["version"] == "my-machines-v1" and record["dataset"]["scoring"] == "2023"
    assert len(pd.read_csv(out / "y" / "results.csv")) > 0


class _BrokenDataset:
    @hookimpl
    def register_datasets(self, register):
        def factory(root, *, seed=0):
            raise RuntimeError("the plugin's own bug")

        register("broken-data", factory, description="test: a dataset plugin that fails")


def test_a_dataset_plugin_that_crashes_is_one_line_naming_it(tiny_synthetic, tmp_path, isolated_home):
    with registered_plugin(_BrokenDataset(), "broken-plugin"):
        result = _invoke(["run", "--data", str(tiny_synthetic), "--dataset", "broken-data", "--out", str(tmp_path),
                          "--name", "x", *QUICK])
    assert result.exit_code == 2, result.output
    assert (f"dataset 'broken-data' (broken-plugin) failed to load {tiny_synthetic}: RuntimeError: the plugin's own bug"
            in result.output)
    assert "Traceback" not in result.output and not (tmp_path / "x").exists()
