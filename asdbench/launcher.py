"""The ``asdbench`` command's entry point: picks the memory allocator (a re-execution, before
torch is imported; see :mod:`asdbench.allocator`) for the commands that train or embed, then
runs the click command line.

Commands that only list, describe, compare or evaluate start without the re-execution (it
costs a second interpreter start and only matters for training's memory).
"""

from __future__ import annotations

import sys

COMPUTE_COMMANDS = frozenset({"run", "score"})
"""Sub-commands that train or embed, and so run under the preferred allocator."""


def command_of(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (the first argument not starting with ``-``), or None."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main() -> None:
    if command_of(sys.argv[1:]) in COMPUTE_COMMANDS:
        from .allocator import reexec_with_preferred_allocator
        from .errors import AsdbenchError

        try:
            reexec_with_preferred_allocator()
        except AsdbenchError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            sys.exit(2)
    from .cli import main as cli_main

    cli_main()
