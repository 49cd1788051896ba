"""PLACEHOLDER: replaced by the module's owner."""

import click


@click.command()
def plot() -> None:
    """PLACEHOLDER"""
    raise click.ClickException("not implemented yet")
