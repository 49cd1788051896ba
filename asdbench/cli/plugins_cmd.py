"""``asdbench plugins``: what is installed, what it registers, and what failed to load."""

from __future__ import annotations

import json

import click

from ..plugins import describe_plugins


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List every plugin: distribution, version, hooks, components, load errors."""
    rows = describe_plugins()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        click.echo(f"{row['name']}  ({row['distribution']}{version})")
        if row["status"] == "failed":
            click.echo(f"  FAILED to load: {row['error']}")
            continue
        click.echo(f"  hooks: {', '.join(row['hooks']) or '-'}")
        for comp in row["components"]:
            desc = f"  {comp['description']}" if comp["description"] else ""
            click.echo(f"    {comp['kind']:<9} {comp['name']:<24}{desc}")
