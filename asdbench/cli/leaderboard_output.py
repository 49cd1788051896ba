"""The leaderboard ``asdbench run`` prints at the end: exactly what ``asdbench compare`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from ..reports.formatting import terminal_width
from ..reports.leaderboard import leaderboard_text


def print_leaderboard(
    run_dirs: list[Path],
    fmt: str,
    *,
    metrics: Sequence[str] = (),
    by_machine: bool = False,
    splits: Sequence[str] = (),
) -> None:
    """Print the leaderboard of ``run_dirs`` fitted to the terminal width."""
    text = leaderboard_text(
        run_dirs,
        fmt,
        metrics=list(metrics) or None,
        by_machine=by_machine,
        splits=list(splits) or None,
        width=terminal_width(),
    )
    click.echo(text, nl=False)
