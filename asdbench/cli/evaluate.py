"""PLACEHOLDER: replaced by the module's owner."""

import click


@click.command()
def evaluate() -> None:
    """PLACEHOLDER"""
    raise click.ClickException("not implemented yet")
