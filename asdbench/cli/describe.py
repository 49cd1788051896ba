"""``asdbench describe KIND NAME``: what a registered component is, its options, and for
embedders a Keras-style layer table with weights and MACs per clip."""

from __future__ import annotations

import inspect
import json
from typing import Any

import click

from ..errors import ConfigError
from ..plugins import KINDS, Component, resolve

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


def _signature_lines(component: Component) -> list[str]:
    try:
        params = inspect.signature(component.factory).parameters.values()
    except (TypeError, ValueError):
        return ["  (signature not available)"]
    lines = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            lines.append(f"  {'*' if p.kind == p.VAR_POSITIONAL else '**'}{p.name}")
        elif p.default is p.empty:
            lines.append(f"  {p.name} (required)")
        else:
            lines.append(f"  {p.name} = {p.default!r}")
    return lines or ["  (none)"]


def _header(component: Component) -> list[str]:
    return [f"{component.kind} {component.name!r} (plugin {component.plugin})",
            f"  {component.description}" if component.description else "  (no description)",
            "options:", *_signature_lines(component)]


def _describe_system(spec: str) -> None:
    """Any system spec (a registered name or a composition) as the runner resolves it."""
    from ..systems import describe_system, resolve_system

    resolved = describe_system(spec, resolve_system(spec))
    click.echo(f"system {spec!r}")
    click.echo(f"  heads: {', '.join(resolved['heads'])}; SSL label factor {resolved['ssl_label_factor']}"
               f"; SSL class labels {resolved['ssl_class_labels']}; SSL centres trainable {resolved['ssl_trainable_centres']}")
    for aug in resolved["augmenters"]:
        click.echo(f"  {aug['stage']:<9} {aug['name']} (factor {aug['factor']}) {aug['options']}")
    for component, values in resolved["options"].items():
        if component == "embedder" or component == "loss":
            click.echo(f"  {component} options: {values}")


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--preset", type=click.Choice(sorted(PRESET_SAMPLES)), default="paper", show_default=True,
              help="Clip length of embedders: paper=288000, dcase2022=160000, quick=32000 samples.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Clip length in samples (overrides --preset).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Option passed to the component's factory.")
def describe(kind: str, name: str, preset: str, samples: int | None, options: tuple[str, ...]) -> None:
    """Describe a registered component (e.g. ``asdbench describe embedder two-branch``).

    For ``system``, NAME may be any --ssl spec, e.g. ``regular+featex:featex.p=0.3``."""
    if kind == "system":
        _describe_system(name)
        return
    component = resolve(kind, name)
    factory_options = dict(parse_option(o) for o in options)
    if kind == "embedder":
        from ..model.summary import format_summary, summarize

        clip_samples = samples if samples is not None else PRESET_SAMPLES[preset]
        embedder = component.factory(clip_samples, **factory_options)  # errors before any output
        for line in _header(component):
            click.echo(line)
        click.echo("")
        click.echo(format_summary(summarize(embedder, clip_samples),
                                  title=f"{name}: {clip_samples} samples per clip, output {embedder.embedding_dim}-d"))
        return
    for line in _header(component):
        click.echo(line)
