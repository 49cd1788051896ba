"""The leaderboard ``asdbench run`` prints at the end: exactly what ``asdbench compare`` prints."""

from __future__ import annotations

from pathlib import Path

import click

from ..evaluation.leaderboard import leaderboard_text


def print_leaderboard(run_dirs: list[Path], fmt: str) -> None:
    click.echo(leaderboard_text(run_dirs, fmt), nl=False)
