"""Using what was trained: ``asdbench score`` and the Python API (the docs/api.md example runs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.results.tables import read_scores_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture(scope="module")
def api_run(tiny_synthetic, tmp_path_factory):
    """The docs/api.md example, executed as written (only the data folder substituted)."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert 'DATA = "/path/to/data"' in block
    folder = tmp_path_factory.mktemp("api")
    home = folder / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("ASDBENCH_HOME", str(home))
        namespace: dict = {}
        exec(compile(block.replace("/path/to/data", str(tiny_synthetic)), str(DOC), "exec"), namespace)
    return folder / "runs" / "api-demo", namespace


def _expected(run: Path, sub: str) -> pd.DataFrame:
    return read_scores_table(run / "baseline" / sub / "kmeans" / "scores.csv").set_index("file")


def test_api_example_runs_and_its_scores_are_the_runs_own(api_run):
    run, ns = api_run
    board = ns["board"]
    assert set(board.system) == {"baseline"} and set(board.trial) >= {"mean", "ensemble"} or len(board) >= 2
    assert board["mean"].between(0, 1).all()
    scores = ns["scores"]
    assert len(scores) == 16 and set(scores.machine) == {"fan"} and set(scores.section) == {"00"}
    expected = _expected(run, "ensemble")
    np.testing.assert_array_equal(scores.score.to_numpy(), expected.loc[scores.file, "score"].to_numpy())
    np.testing.assert_array_equal(scores.decision.to_numpy(), expected.loc[scores.file, "decision"].to_numpy())
    assert ns["trial"].seeds == [0] and ns["ensemble"].seeds == [0, 1]


def test_score_cli_reproduces_a_trials_test_scores_in_csv_and_json(api_run, tiny_synthetic, tmp_path):
    run, _ = api_run
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["score", str(run / "baseline" / "seed-1"), str(tiny_synthetic), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"section": str})
    expected = _expected(run, "seed-1")
    assert len(table) == 64 and table.file.is_unique  # train + test clips of both machine types
    mine = table.set_index("file").loc[expected.index]
    np.testing.assert_array_equal(mine.score.to_numpy(), expected.score.to_numpy())
    np.testing.assert_array_equal(mine.decision.to_numpy(), expected.decision.to_numpy())
    as_json = CliRunner().invoke(main, ["score", str(run / "baseline" / "seed-1"),
                                        str(tiny_synthetic / "eval_data"), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.output)
    assert {r["machine"] for r in records} == {"ToyDrone"} and len(records) == 32
    assert all(r["score"] == expected.loc[r["file"], "score"] for r in records if r["file"] in expected.index)


def test_new_clips_elsewhere_take_machine_from_the_folder_or_options(api_run, tiny_synthetic, tmp_path):
    run, _ = api_run
    source = sorted((tiny_synthetic / "dev_data" / "raw" / "fan" / "test").glob("*.wav"))[:3]
    new = tmp_path / "recordings" / "fan" / "test"
    new.mkdir(parents=True)
    for path in source:
        shutil.copy(path, new / path.name)
    trial = run / "baseline" / "seed-0"
    result = CliRunner().invoke(main, ["score", str(trial), str(tmp_path / "recordings")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.output), dtype={"section": str})
    expected = _expected(run, "seed-0")
    # Same machine, section, folder and name: the same crop, so the same score as in the run, up
    # to float32 rounding (a batch of 3 instead of the run's batches of 8).
    np.testing.assert_allclose(table.score.to_numpy(), expected.loc[table.file, "score"].to_numpy(), rtol=1e-6)
    assert table.path.str.startswith(str(tmp_path)).all()

    # A name without a section and a folder that does not name the machine: say both.
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(source[0], plain / "recording.wav")
    missing = CliRunner().invoke(main, ["score", str(trial), str(plain)])
    assert missing.exit_code == 2 and "recording.wav: the section cannot be read from the name" in missing.output
    unknown = CliRunner().invoke(main, ["score", str(trial), str(plain), "--section", "00"])
    assert unknown.exit_code == 2 and "pass --machine" in unknown.output and "fan" in unknown.output
    untrained = CliRunner().invoke(main, ["score", str(trial), str(plain), "--section", "03", "--machine", "fan"])
    assert untrained.exit_code == 2 and "fan/section_03 was not trained" in untrained.output
    ok = CliRunner().invoke(main, ["score", str(trial), str(plain), "--section", "0", "--machine", "fan"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[1].startswith("recording.wav,fan,00,dev,,,")


def test_sample_rate_and_channels_follow_the_training_rules(api_run, tiny_synthetic, tmp_path):
    run, _ = api_run
    source = sorted((tiny_synthetic / "dev_data" / "raw" / "fan" / "test").glob("*.wav"))[0]
    wave, rate = sf.read(source, dtype="float32")
    folder = tmp_path / "fan"
    folder.mkdir()
    sf.write(folder / "section_00_0001.wav", np.stack([wave, wave], axis=1), rate, subtype="PCM_16")
    sf.write(folder / "section_00_0002.wav", wave[::2], rate // 2, subtype="PCM_16")
    trial = str(run / "baseline" / "seed-0")
    refused = CliRunner().invoke(main, ["score", trial, str(folder / "section_00_0002.wav")])
    assert refused.exit_code == 2
    assert f"section_00_0002.wav: sample rate is {rate // 2} Hz but the system was trained at {rate} Hz" in refused.output
    resampled = CliRunner().invoke(main, ["score", trial, str(folder / "section_00_0002.wav"), "--resample"])
    assert resampled.exit_code == 0, resampled.output
    stereo = CliRunner().invoke(main, ["score", trial, str(folder / "section_00_0001.wav")])
    mono_folder = tmp_path / "mono" / "fan"
    mono_folder.mkdir(parents=True)
    shutil.copy(source, mono_folder / "section_00_0001.wav")  # same key, one channel
    mono = CliRunner().invoke(main, ["score", trial, str(mono_folder / "section_00_0001.wav")])
    assert stereo.exit_code == 0 and mono.exit_code == 0
    score = lambda out: float(out.splitlines()[1].split(",")[6])  # noqa: E731
    assert score(stereo.output) == pytest.approx(score(mono.output), abs=1e-6)  # two equal channels mix to the mono clip


def test_score_errors_are_one_line(api_run, tmp_path):
    run, _ = api_run
    not_trained = CliRunner().invoke(main, ["score", str(tmp_path), str(tmp_path)])
    assert not_trained.exit_code == 2 and "neither a trial folder" in not_trained.output
    bad_backend = CliRunner().invoke(main, ["score", str(run / "baseline"), str(tmp_path), "--backend", "knn"])
    assert bad_backend.exit_code == 2 and "--backend knn: this run scored with kmeans" in bad_backend.output
    empty = CliRunner().invoke(main, ["score", str(run / "baseline"), str(tmp_path)])
    assert empty.exit_code == 2 and "folder has no audio clips" in empty.output
    assert "Traceback" not in empty.output
