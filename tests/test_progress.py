"""Progress suits where it runs: plain lines off a terminal, bars only on one, quiet and verbose."""

from __future__ import annotations

import io

from asdbench.runner.progress import BarProgress, RunProgress, format_duration, make_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _epochs(report: RunProgress, label: str, epochs: int, batches: int) -> None:
    report.trial_started(label)
    for epoch in range(epochs):
        for step in range(1, batches + 1):
            report.update(f"epoch {epoch + 1}/{epochs}", step, batches, lambda: 0.5)
    for done in (8, 16):
        report.update("embed", done, 16)


def test_off_a_terminal_one_plain_line_per_epoch_and_trial_without_cursor_codes():
    stream = io.StringIO()
    report = make_progress(2, 0, 4, stream=stream)
    assert type(report) is RunProgress
    _epochs(report, "baseline seed 0", 2, 3)
    report.trial_done("[1/2] baseline seed 0: official score (%) kmeans: dev 80.1")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("baseline seed 0 epoch 1/2: loss 0.5000; run ETA ")
    assert lines[1].startswith("baseline seed 0 epoch 2/2: loss 0.5000; run ETA ")
    assert lines[2] == "[1/2] baseline seed 0: official score (%) kmeans: dev 80.1"
    assert len(lines) == 3 and "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert report.epochs_done == 2 and report.eta() is not None


def test_quiet_prints_only_failures():
    stream = io.StringIO()
    report = make_progress(1, 0, 1, quiet=True, stream=FakeTerminal())
    assert type(report) is RunProgress  # no bars when quiet, even on a terminal
    report = make_progress(2, 0, 2, quiet=True, stream=stream)
    _epochs(report, "a seed 0", 1, 2)
    report.trial_done("[1/2] a seed 0: official score (%) kmeans: dev 50.0")
    report.trial_done("[2/2] b seed 0: FAILED (boom)", failed=True)
    assert stream.getvalue() == "[2/2] b seed 0: FAILED (boom)\n"


def test_bars_on_a_terminal_show_clips_for_extraction_and_the_loss():
    stream = FakeTerminal()
    report = make_progress(1, 0, 2, stream=stream)
    assert isinstance(report, BarProgress)
    _epochs(report, "a seed 0", 2, 2)
    text = stream.getvalue()
    assert "loss 0.5000" in text and "clip" in text and "ETA" in text
    assert "epoch 1/2: loss" not in text  # per-epoch lines only with --verbose on a terminal
    report.close()
    verbose = FakeTerminal()
    report = make_progress(1, 0, 2, stream=verbose, verbose=True)
    _epochs(report, "a seed 0", 2, 2)
    report.close()
    assert "a seed 0 epoch 2/2: loss 0.5000; run ETA" in verbose.getvalue()


def test_eta_starts_after_the_first_epoch_and_durations_read_well():
    report = RunProgress(1, 0, 10, stream=io.StringIO())
    assert report.eta() is None and report.eta_text() == "run ETA unknown"
    assert [format_duration(s) for s in (42, 185, 7620)] == ["42 s", "3 min 05 s", "2 h 07 min"]


def test_notes_are_shown_even_when_quiet():
    stream = io.StringIO()
    make_progress(2, 1, 1, quiet=True, stream=stream).note("skipping finished trial a/seed-0")
    assert stream.getvalue() == "skipping finished trial a/seed-0\n"
