"""``asdbench describe`` reads a lazily registered factory's signature and docstrings from its
source file (no import, so no torch): the answer must be the one importing it gives, and the
shapes it cannot read must fall back to importing rather than guess."""

from __future__ import annotations

import inspect
import json
import textwrap

import pytest
from click.testing import CliRunner

import asdbench.cli.describe as describe_module
from asdbench.cli import main
from asdbench.plugins import LazyFactory, get_registry
from asdbench.static_signature import static_signature

# The built-ins (and shipped plugins) whose source must be readable: describing them loads no torch.
# (The loss heads are made by one builder call each, which the source does not resolve: describing
# a loss imports it.)
STATIC = {("embedder", "two-branch"),
          *(("augmenter", n) for n in ("classmix", "featex", "mixup", "specaugment", "statex"))}


def _imported(factory) -> tuple[inspect.Signature, list[str]]:
    target = getattr(factory, "target", factory)
    parts = [inspect.getdoc(obj) or "" for obj in (inspect.unwrap(target), target)]
    return inspect.signature(factory), list(dict.fromkeys(p for p in parts if p))


def _lazy_components():
    registry = get_registry()
    return [registry.get(kind, name) for kind in ("embedder", "loss", "backend", "augmenter")
            for name in registry.names(kind) if isinstance(registry.get(kind, name).factory, LazyFactory)]


def test_the_source_gives_what_importing_gives_for_every_lazy_builtin():
    readable = set()
    for component in _lazy_components():
        static = static_signature(component.factory.path)
        if static is not None:
            readable.add((component.kind, component.name))
            assert static == _imported(component.factory), component.name
    assert STATIC <= readable, sorted(STATIC - readable)


@pytest.mark.parametrize("kind,name", sorted(STATIC) + [("backend", "kmeans"), ("augmenter", "pitchtime"),
                                                        ("loss", "arcface")])
def test_describe_prints_the_same_with_and_without_reading_the_source(monkeypatch, kind, name):
    args = ["describe", kind, name] + (["--no-layers"] if kind == "embedder" else [])
    static_text = CliRunner().invoke(main, args)
    static_json = CliRunner().invoke(main, [*args, "--json"])
    monkeypatch.setattr(describe_module, "static_signature", lambda path: None)
    imported_text = CliRunner().invoke(main, args)
    imported_json = CliRunner().invoke(main, [*args, "--json"])
    assert static_text.exit_code == 0 and static_text.output == imported_text.output
    assert json.loads(static_json.output) == json.loads(imported_json.output)
    assert "options:" in static_text.output and "(none)" not in static_text.output


def test_no_layers_prints_the_header_of_the_full_description():
    full = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--preset", "quick"]).output
    header = CliRunner().invoke(main, ["describe", "embedder", "two-branch", "--no-layers"]).output
    assert full.startswith(header.rstrip("\n") + "\n\ntwo-branch: 32000 samples per clip")


SOURCE = '''
from __future__ import annotations

import functools

LIMIT = 3


class Base:
    """Base docstring."""

    def __init__(self, width: int = 4, *, mode: str = "a") -> None:
        pass


class Child(Base):
    """Child docstring: ``width`` is inherited."""


class Undocumented(Base):
    pass


def plain(x: int, y: float = -1.5, *rest: str, flag: bool = False, **more: object) -> Base:
    """Plain function; ``flag`` switches."""


def non_literal(limit: int = LIMIT):
    """Default is a name."""


@functools.lru_cache
def decorated(a: int = 1):
    """Decorated."""


def wrapper(**options):
    """Wrapper doc."""


wrapper.__wrapped__ = Child
built = functools.partial(plain, 1)
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / "probe_pkg").mkdir()
    (tmp_path / "probe_pkg" / "__init__.py").write_text("raise RuntimeError('the package must not be imported')\n")
    (tmp_path / "probe_pkg" / "factories.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "probe_pkg.factories"


@pytest.mark.parametrize("attribute", ["plain", "Child", "Base", "wrapper"])
def test_readable_shapes_match_inspect(module, attribute, tmp_path, monkeypatch):
    static = static_signature(f"{module}:{attribute}")
    (tmp_path / "probe_pkg" / "__init__.py").write_text("")
    imported = _imported(LazyFactory(f"{module}:{attribute}"))
    assert static == imported


@pytest.mark.parametrize("attribute", ["non_literal", "decorated", "built", "Undocumented", "missing"])
def test_unreadable_shapes_fall_back_to_importing(module, attribute):
    assert static_signature(f"{module}:{attribute}") is None


def test_evaluated_annotations_fall_back(tmp_path, monkeypatch):
    (tmp_path / "probe_eval.py").write_text("def f(x: int = 1):\n    '''Doc.'''\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert static_signature("probe_eval:f") is None
    (tmp_path / "probe_plain.py").write_text("def f(x=1, *, y=(1, 'a')):\n    '''Doc.'''\n")
    signature, docs = static_signature("probe_plain:f")
    assert str(signature) == "(x=1, *, y=(1, 'a'))" and docs == ["Doc."]
