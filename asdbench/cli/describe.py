"""PLACEHOLDER: replaced by the module's owner."""

import click


@click.command()
def describe() -> None:
    """PLACEHOLDER"""
    raise click.ClickException("not implemented yet")
