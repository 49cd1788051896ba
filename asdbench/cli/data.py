"""``asdbench data``: write the synthetic benchmark, check a dataset folder, download DCASE data."""

from __future__ import annotations

import click

from .data_check import check
from .data_download import download
from .data_synth import synth


@click.group()
def data() -> None:
    """Create, inspect and download datasets."""


data.add_command(synth)
data.add_command(check)
data.add_command(download)
