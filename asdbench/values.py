"""Strict type checks of option values, shared by experiment files (``RunConfig``) and component
options (``--ssl "featex:p=0.3"``, ``backend_options``): no bool for an int, no string for a
list, so a typo never reaches a component as a value of another type."""

from __future__ import annotations

import types
import typing
from typing import Any

_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "none"}


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (a type or a typing hint), strictly."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and all(matches(v, typing.get_args(hint)[0]) for v in value)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        return isinstance(value, dict) and all(matches(k, key_hint) and matches(v, value_hint) for k, v in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def type_name(hint: Any) -> str:
    """How an error message names the type: ``an integer``, ``a list of strings``, ``a table``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(hint) if a is not type(None))
    if origin is list:
        return f"a list of {type_name(typing.get_args(hint)[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return "a table"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))
