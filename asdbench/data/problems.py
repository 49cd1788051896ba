"""Summaries of skipped files: a count per reason and the first names, for the terminal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# (reason shown, words that identify it in a problem line); the first match wins.
REASONS = (
    ("truncated", ("truncated",)),
    ("empty", ("no audio samples", "empty")),
    ("wrong sample rate", ("sample rate",)),
    ("NaN or infinite samples", ("NaN", "infinite")),
    ("not decodable audio", ("not a readable audio file", "decod")),
    ("bad file name", ("name", "UTF-8")),
    ("broken link", ("link",)),
)


def problem_reason(line: str) -> str:
    """The reason category of one problem line (``<path>: <message>``)."""
    message = line.split(": ", 1)[-1]
    for reason, words in REASONS:
        if any(word in message for word in words):
            return reason
    return "other"


def summarise_problems(problems: list[str], full_list: Path | str | None = None, first: int = 3) -> list[str]:
    """Lines like ``skipped 3 file(s): 2 truncated, 1 empty; first: a.wav, b.wav; full list: ...``."""
    if not problems:
        return ["no files skipped"]
    counts = Counter(problem_reason(p) for p in problems)
    names = [Path(p.split(": ", 1)[0]).name for p in problems[:first]]
    where = f"full list: {full_list}" if full_list is not None else "full list: asdbench data check <data>"
    return [f"skipped {len(problems)} file(s) or folder(s): "
            + ", ".join(f"{n} {reason}" for reason, n in counts.most_common()),
            f"first: {', '.join(names)}{' ...' if len(problems) > first else ''}; {where}"]
