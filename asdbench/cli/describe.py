"""``asdbench describe KIND NAME``: what a registered component is, its options, and for
embedders a Keras-style layer table with weights and MACs per clip."""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict, is_dataclass
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


def _system_lines(component: Component) -> list[str]:
    try:
        spec = component.factory()
    except Exception as exc:  # a plugin's factory failing is reported, not raised
        return [f"(could not build the system: {type(exc).__name__}: {exc})"]
    if is_dataclass(spec) and not isinstance(spec, type):
        return ["spec:", *(f"  {k} = {v!r}" for k, v in asdict(spec).items())]
    return [f"spec: {spec!r}"]


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--preset", type=click.Choice(sorted(PRESET_SAMPLES)), default="paper", show_default=True,
              help="Clip length of embedders: paper=288000, dcase2022=160000, quick=32000 samples.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Clip length in samples (overrides --preset).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Option passed to the component's factory.")
def describe(kind: str, name: str, preset: str, samples: int | None, options: tuple[str, ...]) -> None:
    """Describe a registered component (e.g. ``asdbench describe embedder two-branch``)."""
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
    if kind == "system":
        for line in _system_lines(component):
            click.echo(line)
