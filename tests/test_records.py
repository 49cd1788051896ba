"""run.json and trial.json are written and read through typed records with a schema key; the
JSON round trip is exact, and keys a record does not know are kept, not dropped."""

from __future__ import annotations

import json

import pytest

import asdbench
from asdbench.errors import DataError
from asdbench.results.layout import RUN_FILE, TRIAL_FILE, trial_dir
from asdbench.results.records import RUN_SCHEMA, TRIAL_SCHEMA, RunRecord, TrialRecord


@pytest.fixture(scope="module")
def tiny_run(tiny_synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASDBENCH_HOME", str(out / "home"))
        return asdbench.run(out=out, name="r", systems=["baseline"], seeds=[0], data=str(tiny_synthetic),
                            epochs=1, batch_size=8, device="cpu").path


def test_the_files_a_run_writes_round_trip_exactly(tiny_run):
    for path in (tiny_run / RUN_FILE, trial_dir(tiny_run, "baseline", 0) / TRIAL_FILE):
        written = json.loads(path.read_text())
        cls = RunRecord if path.name == RUN_FILE else TrialRecord
        record = cls.load(path)
        assert record.to_json() == written
        assert not record.extra  # every key the runner writes is a field
    run = RunRecord.load(tiny_run / RUN_FILE)
    assert written["asdbench_trial"] == TRIAL_SCHEMA and json.loads((tiny_run / RUN_FILE).read_text())["asdbench_run"] == RUN_SCHEMA
    assert run.status == "finished" and run.failed_trials() == [] and list(run.systems) == ["baseline"]
    assert run.trials["baseline/seed-0"].done and run.trials["baseline/seed-0"].threads == 2
    assert run.scoring_edition == "2023"


def test_unknown_keys_are_kept_and_a_pending_trial_stays_small(tmp_path):
    trial = TrialRecord.from_json({"system": "x", "seed": 1, "status": "failed", "error": "boom",
                                   "worker": {"host": "h", "node_id": "n"}, "log_tail": ["a"]})
    assert trial.extra == {"worker": {"host": "h", "node_id": "n"}, "log_tail": ["a"]}
    again = TrialRecord.from_json(trial.to_json())
    assert again == trial and again.to_json()["worker"] == {"host": "h", "node_id": "n"}
    assert TrialRecord("x", 0, status="pending").to_json(with_schema=False) == {"system": "x", "seed": 0, "status": "pending"}
    full = TrialRecord("x", 0, status="done", traceback="tb", resolved={"a": 1}, runtime={"host": "h", "threads": 2},
                       extra={"error_detail": "long", "worker": {}})
    summary = full.summary().to_json(with_schema=False)
    assert summary == {"system": "x", "seed": 0, "status": "done", "host": "h", "threads": 2, "worker": {}}
    run = RunRecord(status="running", trials={"x/seed-0": TrialRecord("x", 0, status="pending")}, extra={"future": 1})
    path = run.save(tmp_path / RUN_FILE)
    assert RunRecord.load(path) == run and json.loads(path.read_text())["future"] == 1


def test_unreadable_records_name_the_file(tmp_path):
    bad = tmp_path / RUN_FILE
    bad.write_text("{not json")
    with pytest.raises(DataError, match=f"{bad} is not readable JSON"):
        RunRecord.load(bad)
    assert RunRecord.read(bad) is None and TrialRecord.read(tmp_path / "missing.json") is None
    bad.write_text('{"trials": {"a/seed-0": 3}}')
    with pytest.raises(DataError, match="not a RunRecord"):
        RunRecord.load(bad)
