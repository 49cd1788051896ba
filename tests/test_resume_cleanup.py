"""``--resume`` removes what a killed atomic write left (``.NAME.XXXXXXXX.tmp``), and nothing else,
and leaves a run alone while its recorded process is alive."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from asdbench.atomic import TEMPORARY_NAME, atomic_write_text
from asdbench.runner.resume import remove_stale_temporaries


def _run_dir(tmp_path, pid: int, status: str = "running"):
    run = tmp_path / "run"
    (run / "baseline" / "seed-0" / "kmeans").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": status, "process": {"pid": pid, "host": socket.gethostname()}}))
    stale = [run / ".results.csv.k3j9x0qa.tmp", run / "baseline" / "seed-0" / ".checkpoint.pt.4242.tmp",
             run / "baseline" / "seed-0" / ".embeddings.4242.tmp.npz",
             run / "baseline" / "seed-0" / "kmeans" / ".scores.csv.zz_9abcd.tmp"]
    kept = [run / "results.csv", run / ".gitignore", run / "notes.tmp", run / "baseline" / "seed-0" / "trial.json",
            run / ".tmp"]
    for path in stale + kept:
        path.write_text("x")
    return run, stale, kept


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_a_dead_run_are_removed_and_nothing_else(tmp_path):
    run, stale, kept = _run_dir(tmp_path, _dead_pid())
    removed = remove_stale_temporaries(run)
    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    assert remove_stale_temporaries(run) == []


def test_a_run_whose_process_is_alive_is_left_alone(tmp_path):
    run, stale, _ = _run_dir(tmp_path, os.getpid())
    assert remove_stale_temporaries(run) is None and all(p.exists() for p in stale)
    (run / "run.json").write_text(json.dumps({"status": "interrupted", "process": {"pid": os.getpid()}}))
    assert len(remove_stale_temporaries(run)) == len(stale)


def test_the_pattern_matches_what_atomic_writes_name_their_temporaries(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "results.csv", "a,b\n")
    assert len(seen) == 1 and TEMPORARY_NAME.match(seen[0]) and seen[0].startswith(".results.csv.")
