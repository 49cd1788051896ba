"""A lazily registered factory's signature and docstrings, read from its source file with
:mod:`ast`, without importing it.

``asdbench describe`` shows a component's options (signature) and their meaning (docstrings).
Importing the factory to read them would import torch for every embedder, loss or augmenter;
reading the source gives the same answer for the usual shapes of a factory: a function, a class
with its own ``__init__`` (or one inherited along single bases that can be read the same way), and
a function whose ``__wrapped__`` is set to such a class in its module
(``two_branch.__wrapped__ = TwoBranchEmbedder``). Anything else (decorators, a factory built by a
call, a default that is not a literal, annotations evaluated at import time) returns ``None`` and
the caller imports the factory as before: the static answer is never a guess.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class _Module:
    name: str
    tree: ast.Module
    package: str  # for relative imports

    def top_level(self, name: str) -> ast.stmt | None:
        found = None
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                found = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and name in _assigned(node):
                found = node  # rebinding: not a plain definition
        return found

    def wrapped(self, name: str) -> ast.expr | None:
        """``X`` in a top-level ``name.__wrapped__ = X``."""
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if (isinstance(target, ast.Attribute) and target.attr == "__wrapped__"
                        and isinstance(target.value, ast.Name) and target.value.id == name):
                    return node.value
        return None

    def imported(self, name: str) -> tuple[str, str] | None:
        """(module, attribute) that ``from M import attribute [as name]`` binds to ``name``."""
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        base = ("." * node.level) + (node.module or "")
                        return importlib.util.resolve_name(base, self.package) if node.level else base, alias.name
        return None

    @property
    def postponed_annotations(self) -> bool:
        return any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                   and any(a.name == "annotations" for a in n.names) for n in self.tree.body)


def _assigned(node: ast.stmt) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _source_file(module: str) -> Path | None:
    """The ``.py`` file of ``module``, found without importing it or its parent packages."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for location in spec.submodule_search_locations or []:
        base = Path(location).joinpath(*rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _load(module: str, cache: dict[str, _Module | None]) -> _Module | None:
    if module not in cache:
        path = _source_file(module)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8")) if path else None
        except (OSError, SyntaxError, UnicodeDecodeError):
            tree = None
        package = module if path is not None and path.name == "__init__.py" else module.rpartition(".")[0]
        cache[module] = _Module(module, tree, package) if tree is not None else None
    return cache[module]


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return inspect.Parameter.empty
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _MISSING


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef, module: _Module, drop_first: bool) -> inspect.Signature | None:
    """The :class:`inspect.Signature` Python would build for ``fn`` (annotations as the strings
    PEP 563 stores); ``None`` when a default is not a literal or annotations are evaluated."""
    args = fn.args
    if not module.postponed_annotations and any(
            a.annotation is not None for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                               *(x for x in (args.vararg, args.kwarg) if x))):
        return None
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    rows: list[tuple[ast.arg, Any, Any]] = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = inspect.Parameter.POSITIONAL_ONLY if index < len(args.posonlyargs) else inspect.Parameter.POSITIONAL_OR_KEYWORD
        rows.append((arg, kind, _literal(default)))
    if args.vararg:
        rows.append((args.vararg, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.empty))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        rows.append((arg, inspect.Parameter.KEYWORD_ONLY, _literal(default)))
    if args.kwarg:
        rows.append((args.kwarg, inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty))
    if drop_first:
        if not rows or rows[0][1] not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            return None
        rows = rows[1:]
    if any(default is _MISSING for _, _, default in rows):
        return None
    params = [inspect.Parameter(arg.arg, kind, default=default,
                                annotation=ast.unparse(arg.annotation) if arg.annotation is not None
                                else inspect.Parameter.empty) for arg, kind, default in rows]
    returns = ast.unparse(fn.returns) if fn.returns is not None else inspect.Signature.empty
    return inspect.Signature(params, return_annotation=returns)


def _resolve(module: _Module, name: str, cache: dict[str, _Module | None]) -> tuple[_Module, ast.stmt] | None:
    """The definition ``name`` refers to in ``module``, following ``from ... import`` once per hop."""
    for _ in range(8):
        node = module.top_level(name)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return module, node
        if node is not None:
            return None
        source = module.imported(name)
        if source is None:
            return None
        loaded = _load(source[0], cache)
        if loaded is None:
            return None
        module, name = loaded, source[1]
    return None


def _class_signature(module: _Module, node: ast.ClassDef, cache: dict[str, _Module | None]) -> inspect.Signature | None:
    """``inspect.signature(cls)``: its own ``__init__``, else its single base's (read the same way)."""
    if node.decorator_list or node.keywords:
        return None
    body = {n.name: n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if "__new__" in body:
        return None
    init = body.get("__init__")
    if init is not None:
        return None if init.decorator_list else _signature(init, module, drop_first=True)
    if len(node.bases) != 1 or not isinstance(node.bases[0], ast.Name):
        return None
    base = _resolve(module, node.bases[0].id, cache)
    if base is None or not isinstance(base[1], ast.ClassDef):
        return None
    return _class_signature(base[0], base[1], cache)


def static_signature(path: str) -> tuple[inspect.Signature, list[str]] | None:
    """For ``"package.module:attribute"``: its signature and the docstrings that explain it (the
    unwrapped target's, then the factory's), as :func:`inspect.signature` and
    :func:`inspect.getdoc` would give them after importing; ``None`` when the source does not say."""
    module_name, _, attribute = path.partition(":")
    if "." in attribute:
        return None
    cache: dict[str, _Module | None] = {}
    module = _load(module_name, cache)
    found = _resolve(module, attribute, cache) if module is not None else None
    if found is None:
        return None
    module, node = found
    own_doc = ast.get_docstring(node)
    if isinstance(node, ast.ClassDef):
        if own_doc is None:
            return None  # inspect.getdoc would inherit a base class's docstring
        signature = _class_signature(module, node, cache)
        return (signature, [own_doc]) if signature is not None else None
    if node.decorator_list:
        return None
    wrapped = module.wrapped(node.name)
    if wrapped is None:
        signature = _signature(node, module, drop_first=False)
        return (signature, [own_doc] if own_doc else []) if signature is not None else None
    if not isinstance(wrapped, ast.Name):
        return None
    target = _resolve(module, wrapped.id, cache)
    if target is None or not isinstance(target[1], ast.ClassDef) or target[1].decorator_list:
        return None
    target_doc = ast.get_docstring(target[1])
    signature = _class_signature(target[0], target[1], cache)
    if signature is None or target_doc is None:
        return None
    return signature, [target_doc, *([own_doc] if own_doc else [])]
