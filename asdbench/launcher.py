"""The ``asdbench`` command's entry point: picks the memory allocator (a re-execution, before
torch is imported; see :mod:`asdbench.allocator`), then runs the click command line."""

from __future__ import annotations

import sys


def main() -> None:
    from .allocator import reexec_with_preferred_allocator
    from .errors import AsdbenchError

    try:
        reexec_with_preferred_allocator()
    except AsdbenchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)
    from .cli import main as cli_main

    cli_main()
