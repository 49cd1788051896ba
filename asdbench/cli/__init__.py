"""The ``asdbench`` command line. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import sys

import click

from ..errors import AsdbenchError


class _Group(click.Group):
    """Turns user errors (AsdbenchError) into one line per problem on stderr and exit code 2, and
    environment faults (a full disk, a read-only folder) into one line naming the file, exit 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AsdbenchError as exc:
            for line in str(exc).splitlines() or [type(exc).__name__]:
                click.echo(f"Error: {line}", err=True)
            sys.exit(2)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="asdbench")
def main() -> None:
    """Benchmark self-supervised learning strategies for anomalous sound detection."""


def _add_commands() -> None:
    from . import compare, data, describe, evaluate, plot, plugin_new, plugins_cmd, run

    main.add_command(plugins_cmd.plugins)
    main.add_command(run.run)
    main.add_command(compare.compare)
    main.add_command(evaluate.evaluate)
    main.add_command(plot.plot)
    main.add_command(data.data)
    main.add_command(describe.describe)
    main.add_command(plugin_new.plugin)


def _add_plugin_commands() -> None:
    from ..plugins import get_manager

    try:
        get_manager().hook.register_commands(cli=main)
    except AsdbenchError as exc:  # a broken plugin must not make the whole CLI unusable
        click.echo(f"Warning: {exc}", err=True)


_add_commands()
_add_plugin_commands()
