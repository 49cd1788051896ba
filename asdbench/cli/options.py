"""Click helpers shared by sub-commands."""

from __future__ import annotations

import click


class GreedyCommand(click.Command):
    """Lets chosen options take several values after one flag: ``--ssl featex statex``.

    Each following token that does not start with ``-`` is turned into another occurrence of the
    option before click parses, so the option must be declared with ``multiple=True``.
    """

    def __init__(self, *args, greedy: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.greedy = set(greedy)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_greedy(args, self.greedy))


def expand_greedy(args: list[str], greedy: set[str]) -> list[str]:
    out: list[str] = []
    current: str | None = None
    for arg in args:
        if arg == "--":
            current = None
            out.append(arg)
        elif arg in greedy:
            current = arg
            out.append(arg)
        elif current is not None and not arg.startswith("-") and out and out[-1] != current:
            out += [current, arg]
        elif current is not None and not arg.startswith("-"):
            out.append(arg)
        else:
            current = None
            out.append(arg)
    return out
