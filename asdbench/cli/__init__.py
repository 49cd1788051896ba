"""The ``asdbench`` command line. Each sub-command lives in its own module of this package.

Sub-commands are imported when they are run (or completed), not when the command line starts:
``asdbench --help``, ``plugins``, ``compare`` and tab completion do not pay for the modules of
``run`` or ``score`` (torch among them). ``--help`` shows the short help from :data:`COMMANDS`
(a test checks it against each command's docstring).
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import AsdbenchError

# name -> (module in this package, attribute, short help for ``asdbench --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "compare": ("compare", "compare", "Leaderboard of the systems in RUN_DIR... (each with a results.csv)."),
    "data": ("data", "data", "Create, inspect and download datasets."),
    "describe": ("describe", "describe", "Describe a registered component, or list the components of KIND without NAME."),
    "evaluate": ("evaluate", "evaluate", "Score SUBMISSION_DIR (anomaly_score_<machine>_section_<XX>_test.csv files) with "
                 "official DCASE semantics: AUC (source/target), pAUC, official score, jackknife CI."),
    "plot": ("plot", "plot", "Write figures of RUN_DIR... (PNG, PDF or SVG) for a paper."),
    "plugin": ("plugin_new", "plugin", "Write your own plugins (see docs/authoring.md)."),
    "plugins": ("plugins_cmd", "plugins", "List every plugin: distribution, version, hooks, components, load errors."),
    "run": ("run", "run", "Train and evaluate systems x seeds and print a leaderboard."),
    "score": ("score", "score", "Score the WAV/FLAC files and folders PATH... with TRIAL_OR_SYSTEM_DIR (RUN/SYSTEM/seed-K for "
              "one trial, RUN/SYSTEM for the ensemble of its seeds): one row per clip with its anomaly score and "
              "decision (1 = anomalous)."),
}


class _Group(click.Group):
    """Imports built-in sub-commands on first use; turns user errors (AsdbenchError) into one
    line per problem on stderr and exit code 2, and environment faults (a full disk, a read-only
    folder) into one line naming the file, exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(f"{__name__}.{module}"), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)  # as click computes it
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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
        finally:  # plugin warnings belong to this command's stderr only (see main)
            from .. import plugins

            plugins.report_to(None)


@click.group(cls=_Group)
@click.version_option(package_name="asdbench")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Benchmark self-supervised learning strategies for anomalous sound detection."""
    from .. import plugins

    if ctx.invoked_subcommand != "plugins":  # `asdbench plugins` lists failures in its table
        plugins.report_to(lambda line: click.echo(f"Warning: {line}", err=True))


def _add_plugin_commands() -> None:
    """Each plugin's ``register_commands`` on its own: one that raises is recorded as failed (a
    warning line, ``asdbench plugins`` shows it) and every other command keeps working."""
    from .. import plugins

    try:
        manager = plugins.get_manager()
    except AsdbenchError as exc:
        click.echo(f"Warning: {exc}", err=True)
        return
    for impl in manager.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=main)
        except (Exception, SystemExit) as exc:  # a broken plugin must not make the whole CLI unusable
            plugins.skip_plugin(impl.plugin_name, f"failed in register_commands: {type(exc).__name__}: {exc}")


_add_plugin_commands()
