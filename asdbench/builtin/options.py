"""Option checking shared by the built-in factories."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..values import matches, type_name


def check_options(kind: str, name: str, target: Callable[..., Any], options: dict[str, Any], positional: int) -> None:
    """Reject unknown keyword options with one line naming them and listing the known ones.

    ``positional``: how many leading parameters of ``target``'s signature are not options.
    """
    params = list(inspect.signature(target).parameters.values())[positional:]
    known = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"{kind} {name}: unknown option(s) {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
    for param in params:
        if param.name in options:
            check_option_type(f"{kind} {name}", param, options[param.name])


def check_option_type(who: str, param: inspect.Parameter, value: Any) -> None:
    """The value must have the type of the option's default (``tmn=maybe`` is not a boolean):
    spec options are parsed from text, so a typo must not reach the component as a string."""
    default = param.default
    if default is inspect.Parameter.empty or type(default) not in (bool, int, float, str):
        return
    if not matches(value, type(default)):
        raise ConfigError(f"{who}: option {param.name} must be {type_name(type(default))}, got {value!r}")
