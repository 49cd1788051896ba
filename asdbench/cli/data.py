"""``asdbench data``: write the synthetic benchmark, check a dataset folder."""

from __future__ import annotations

import click

from .data_check import check
from .data_synth import synth


@click.group()
def data() -> None:
    """Create and inspect datasets."""


data.add_command(synth)
data.add_command(check)
