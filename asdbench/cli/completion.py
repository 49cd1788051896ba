"""Shell completion of component names (systems, augmenters, back-ends, ...).

The names come from the plugin registry, which is cheap to build (registrations import no torch),
so completing ``asdbench run --ssl <TAB>`` takes about as long as ``asdbench --help``.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem


def _names(kind: str, incomplete: str) -> list[CompletionItem]:
    from ..plugins import get_registry

    registry = get_registry()
    return [CompletionItem(n, help=registry.get(kind, n).description) for n in registry.names(kind)
            if n.startswith(incomplete)]


def complete_systems(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``--ssl``: registered systems and augmenters, and after a ``+`` the next token of a composition."""
    head, plus, last = incomplete.rpartition("+")
    prefix = head + plus
    tokens = _names("system", last) + _names("augmenter", last) + ([CompletionItem("regular")] if "regular".startswith(last) else [])
    return [CompletionItem(prefix + t.value, help=t.help) for t in tokens]


def complete_backends(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _names("backend", incomplete)


def complete_component_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """NAME of ``describe KIND NAME``: the registered names of that kind."""
    kind = ctx.params.get("kind")
    return _names(kind, incomplete) if kind else []


def complete_datasets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _names("dataset", incomplete)
