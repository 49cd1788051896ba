"""``asdbench describe KIND [NAME]``: what a registered component is, its options (type, default,
meaning from the signature and docstring), for embedders a Keras-style layer table with weights
and MACs per clip; without NAME the components of KIND."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import click

from ..errors import ConfigError
from ..plugins import KINDS, Component, LazyFactory, resolve
from ..static_signature import static_signature
from .completion import complete_component_name

# Clip length per preset: DCASE2023 (paper), DCASE2022, and the quick synthetic preset (2-s clips).
PRESET_SAMPLES = {"paper": 288000, "dcase2022": 160000, "quick": 32000}


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON when possible (``true``, ``3``, ``1e-5``), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--option {text!r}: expected KEY=VALUE")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = {"True": True, "False": False}.get(raw, raw)
    return key.strip().replace("-", "_"), value


def _signature_and_docs(component: Component) -> tuple[inspect.Signature | None, list[str]]:
    """The factory's signature and the docstrings that explain its options: the real target's
    (class docstring first) and the factory's. A lazily registered factory is read from its
    source file (:mod:`asdbench.static_signature`) so that describing it imports nothing heavy;
    only a factory whose source does not say is imported."""
    factory = component.factory
    if isinstance(factory, LazyFactory):
        static = static_signature(factory.signature_of or factory.path)
        if static is not None and factory.signature_of is None:
            return static
        if static is not None:  # the factory forwards that class's options; its own doc is the registration's
            return static[0], list(dict.fromkeys([*static[1], *([factory.__doc__] if factory.__doc__ else [])]))
    try:
        signature: inspect.Signature | None = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    target = getattr(factory, "target", factory)
    parts = [inspect.getdoc(obj) or "" for obj in (inspect.unwrap(target), target)]
    return signature, list(dict.fromkeys(p for p in parts if p))


def _meaning(name: str, doc: str, others: list[str]) -> str:
    """What the docstring says about option ``name``: a ``name: text`` / ``name (type): text``
    line of an Args section, else the part of the sentence that mentions ````name```` (up to
    the next option it mentions), else ""."""
    line = re.search(rf"^\s*{re.escape(name)}\s*(?:\([^)]*\))?\s*:\s*(.+)$", doc, re.M)
    if line:
        return line.group(1).strip()
    flat = " ".join(doc.split())
    for sentence in re.split(r"(?<=[.;])\s+", flat):
        start = sentence.find(f"``{name}``")
        if start < 0:
            continue
        ends = [i for i in (sentence.find(f"``{o}``", start + 1) for o in others if o != name) if i > start]
        return sentence[start:min(ends, default=len(sentence))].strip().rstrip(",;.").replace("Options: ", "")
    return ""


def option_rows(component: Component) -> list[dict[str, Any]]:
    """Each option of a component's factory: name, type, default (``required`` when none), meaning."""
    signature, docs = _signature_and_docs(component)
    if signature is None:
        return []
    doc = "\n".join(docs)
    params = list(signature.parameters.values())
    names = [p.name for p in params]
    rows = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue  # **options collectors take nothing the user can set by name
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
        rows.append({
            "name": p.name,
            "type": "" if p.annotation is p.empty else str(annotation),
            "required": p.default is p.empty,
            "default": None if p.default is p.empty else p.default,
            "meaning": _meaning(p.name, doc, names),
        })
    return rows


def _option_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        typed = f"{row['name']}: {row['type']}" if row["type"] else row["name"]
        head = f"  {typed} (required)" if row["required"] else f"  {typed} = {row['default']!r}"
        lines.append(f"{head}  -- {row['meaning']}" if row["meaning"] else head)
    return lines or ["  (none)"]


def _header(component: Component) -> list[str]:
    return [f"{component.kind} {component.name!r} (plugin {component.plugin})",
            f"  {component.description}" if component.description else "  (no description)",
            "options:", *_option_lines(option_rows(component))]


def _record(component: Component) -> dict[str, Any]:
    return {"kind": component.kind, "name": component.name, "plugin": component.plugin,
            "description": component.description, "options": option_rows(component)}


def _list_kind(kind: str, as_json: bool) -> None:
    from ..plugins import get_registry

    registry = get_registry()
    components = [registry.get(kind, name) for name in registry.names(kind)]
    if as_json:
        click.echo(json.dumps([{"kind": c.kind, "name": c.name, "plugin": c.plugin, "description": c.description}
                               for c in components], indent=2))
        return
    width = max((len(c.name) for c in components), default=0)
    for c in components:
        click.echo(f"{c.name:<{width}}  {c.description}  [{c.plugin}]")
    if not components:
        click.echo(f"(no {kind} registered)")


def _describe_system(spec: str, as_json: bool = False) -> None:
    """Any system spec (a registered name or a composition) as the runner resolves it."""
    from ..systems import describe_system, resolve_system

    resolved = describe_system(spec, resolve_system(spec))
    if as_json:
        click.echo(json.dumps({"kind": "system", "name": spec, **resolved}, indent=2, default=repr))
        return
    click.echo(f"system {spec!r}")
    click.echo(f"  heads: {', '.join(resolved['heads'])}; SSL label factor {resolved['ssl_label_factor']}"
               f"; SSL class labels {resolved['ssl_class_labels']}; SSL centres trainable {resolved['ssl_trainable_centres']} (where its loss trains centres)"
               f"; classes from {resolved['training_classes']}")
    if resolved["losses"]:
        click.echo("  losses: " + ", ".join(f"{head} {loss}" for head, loss in resolved["losses"].items()))
    for aug in resolved["augmenters"]:
        click.echo(f"  {aug['stage']:<9} {aug['name']} (factor {aug['factor']}) {aug['options']}")
    for component, values in resolved["options"].items():
        if component == "embedder" or component == "loss":
            click.echo(f"  {component} options: {values}")


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name", required=False, shell_complete=complete_component_name)
@click.option("--preset", type=click.Choice(sorted(PRESET_SAMPLES)), default="paper", show_default=True,
              help="Clip length of embedders: paper=288000, dcase2022=160000, quick=32000 samples.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Clip length in samples (overrides --preset).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Option passed to the component's factory.")
@click.option("--json", "as_json", is_flag=True, help="The component (its options: name, type, default, meaning) as JSON.")
@click.option("--layers/--no-layers", default=True, show_default=True,
              help="For an embedder: build it and show its layer table (this imports torch).")
def describe(kind: str, name: str | None, preset: str, samples: int | None, options: tuple[str, ...], as_json: bool,
             layers: bool) -> None:
    """Describe a registered component, or list the components of KIND without NAME.

    Shows each option with its type, default and meaning, and for an embedder a layer table
    (weights, MACs per clip; ``--no-layers`` skips it and loads no torch). For ``system``, NAME may be any --ssl spec, e.g.
    ``regular+featex:featex.p=0.3``."""
    if name is None:
        _list_kind(kind, as_json)
        return
    if kind == "system":
        _describe_system(name, as_json)
        return
    component = resolve(kind, name)
    factory_options = dict(parse_option(o) for o in options)
    if as_json:
        click.echo(json.dumps(_record(component), indent=2, default=repr))
        return
    if kind == "embedder" and layers:
        from ..model.summary import format_summary, summarize

        clip_samples = samples if samples is not None else PRESET_SAMPLES[preset]
        embedder = component.factory(clip_samples, **factory_options)  # errors before any output
        for line in _header(component):
            click.echo(line)
        click.echo("")
        click.echo(format_summary(summarize(embedder, clip_samples),
                                  title=f"{name}: {clip_samples} samples per clip, output {embedder.embedding_dim}-d"))
        layout = embedder.layout()
        if layout:
            click.echo("")
            click.echo("Order of operations:")
            for line in layout:
                click.echo(f"  {line}")
        return
    for line in _header(component):
        click.echo(line)
