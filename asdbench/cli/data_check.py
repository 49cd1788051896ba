"""PLACEHOLDER: replaced by the module's owner."""

import click


@click.command()
def check() -> None:
    """PLACEHOLDER"""
    raise click.ClickException("not implemented yet")
