"""``asdbench plugin new NAME``: write a working, tested skeleton of an augmenter plugin.

The files come from ``asdbench/templates/plugin/`` (``string.Template``, ``$name`` style). The
package is written into a temporary folder beside the target and renamed into place, so an
interrupted run never leaves a half-written plugin behind.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import click

from ..components import STAGES
from ..errors import ConfigError
from ..version import __version__

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED = {"regular", "ssl", "asdbench", "builtin", "test", "tests"}


@dataclass(frozen=True)
class StageTemplate:
    """What the generated augmenter does on one stage."""

    summary: str
    max_strength: str
    strength_limit: str


STAGE_TEMPLATES = {
    "waveform": StageTemplate(
        "Spectral-tilt pseudo-classes: class c filters clips with y[t] = x[t] - s_c * x[t-1].",
        "0.9", "1.0"),
    "features": StageTemplate(
        "Band-emphasis pseudo-classes: class c scales the upper half of the frequencies by 1 + s_c.",
        "1.0", "10.0"),
    "embedding": StageTemplate(
        "Neighbour-blend pseudo-classes: class c blends sub-embeddings with a rotated copy by s_c.",
        "0.5", "1.0"),
}

# template file (relative to templates/plugin) -> output path (relative to the new folder)
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "package/__init__.py.tmpl": "{package}/__init__.py",
    "package/plugin.py.tmpl": "{package}/plugin.py",
    "tests/test_plugin.py.tmpl": "tests/test_{name}.py",
}


def normalize_name(name: str) -> str:
    """``my-strategy`` -> ``my_strategy``: hyphens (the usual spelling of a distribution name)
    become underscores, so the name is also a Python identifier and an ``--ssl`` token."""
    return name.strip().replace("-", "_")


def validate_name(name: str, check_registry: bool = True) -> None:
    """A one-line ConfigError unless ``name`` (hyphens allowed, see :func:`normalize_name`) can be
    an augmenter, a package suffix and an ``--ssl`` token."""
    given, name = name, normalize_name(name)
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise ConfigError(
            f"plugin name {given!r} is invalid: use 1-40 lowercase letters, digits, hyphens or underscores, "
            "starting with a letter (e.g. 'gain-flip')")
    if name in RESERVED:
        raise ConfigError(f"plugin name {name!r} is reserved; choose another name")
    if check_registry:
        from ..plugins import get_registry

        registry = get_registry()
        for kind in ("augmenter", "system"):
            if name in registry.components[kind]:
                owner = registry.components[kind][name].plugin
                article = "an" if kind[0] in "aeiou" else "a"
                raise ConfigError(
                    f"plugin name {name!r} is taken: {article} {kind} of that name is registered "
                    f"by plugin {owner!r}")


def plugin_names(name: str) -> dict[str, str]:
    """The names derived from ``name``: distribution, package, class."""
    return {
        "name": name,
        "dist": "asdbench-" + name.replace("_", "-"),
        "package": f"asdbench_{name}",
        "class_name": "".join(part.capitalize() for part in name.split("_") if part) + "Augmenter",
    }


def _template(relative: str) -> Template:
    node = resources.files("asdbench") / "templates" / "plugin"
    for part in relative.split("/"):
        node = node / part
    return Template(node.read_text(encoding="utf-8"))


def render(name: str, stage: str, factor: int) -> dict[str, str]:
    """Every file of the new plugin: relative path -> text."""
    stage_template = STAGE_TEMPLATES[stage]
    values = plugin_names(name) | {
        "stage": stage,
        "factor": str(factor),
        "summary": stage_template.summary,
        "max_strength": stage_template.max_strength,
        "strength_limit": stage_template.strength_limit,
        "asdbench_version": __version__,
    }
    values["transform"] = _template(f"stages/{stage}.py.tmpl").substitute(values)
    return {out.format(**values): _template(src).substitute(values) for src, out in FILES.items()}


def generate_plugin(name: str, directory: Path | str = ".", stage: str = "waveform", factor: int = 2,
                    check_registry: bool = True) -> Path:
    """Write ``asdbench-<name>/`` into ``directory`` and return its path; never overwrites.
    Hyphens in ``name`` become underscores (:func:`normalize_name`)."""
    validate_name(name, check_registry)
    name = normalize_name(name)
    if stage not in STAGES:
        raise ConfigError(f"--stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ConfigError(f"--factor must be a positive integer, got {factor!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"--dir {directory}: no such folder")
    target = directory / plugin_names(name)["dist"]
    if target.exists():
        raise ConfigError(f"{target} already exists; refusing to overwrite it (choose another --dir or name)")
    files = render(name, stage, factor)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=directory))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(staging, target)  # atomic; fails rather than merging if target appeared meanwhile
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"cannot create {target}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


@click.group()
def plugin() -> None:
    """Write your own plugins (see docs/authoring.md)."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder in which to create asdbench-NAME/.")
@click.option("--stage", type=click.Choice(STAGES), default="waveform", show_default=True,
              help="Where in the forward pass the augmenter acts.")
@click.option("--factor", type=click.IntRange(min=1), default=2, show_default=True,
              help="Label-space factor (number of pseudo-classes; 1 = plain augmentation).")
def new(name: str, directory: Path, stage: str, factor: int) -> None:
    """Create asdbench-NAME/: an augmenter plugin package with tests, ready for pip install -e.

    NAME may use hyphens (my-strategy); the augmenter and package use underscores (my_strategy)."""
    target = generate_plugin(name, directory, stage, factor)
    given, name = name, normalize_name(name)
    names = plugin_names(name)
    if given.strip() != name:
        click.echo(f"Name {given!r} normalised to {name!r} (augmenter, --ssl token, package {names['package']}).")
    click.echo(f"Created {target}/ ({stage} augmenter {name!r}, factor {factor}):")
    for relative in sorted(render(name, stage, factor)):
        click.echo(f"  {relative}")
    click.echo("Next:")
    click.echo(f"  cd {target} && pip install -e . && python -m pytest tests")
    click.echo(f"  asdbench plugins        # lists {names['package']}")
    click.echo(f"  asdbench run --ssl regular+{name}")
