"""The package layout's rules, checked on the source (README "Design"): which stage may import
which, and that every file name of a run directory is spelled in one module only.

Imports are read with ``ast`` (function-level imports included: a lazy import is still a
dependency), so the rules hold for every code path, not only for what a test happens to run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from asdbench.results import layout

PACKAGE = Path(__file__).resolve().parents[1] / "asdbench"

# Module prefix -> layer. The longest matching prefix wins.
LAYER_OF = {
    "asdbench.errors": "core", "asdbench.components": "core", "asdbench.nn_components": "core",
    "asdbench.atomic": "core", "asdbench.hookspecs": "core", "asdbench.allocator": "core",
    "asdbench.version": "core", "asdbench.values": "core",
    "asdbench.data": "data",
    "asdbench.scoring": "scoring",
    "asdbench.results": "results",
    "asdbench.model": "model",
    "asdbench.training": "training",
    "asdbench.losses": "components", "asdbench.backends": "components", "asdbench.synth": "components",
    "asdbench.builtin": "components",
    "asdbench.plugins": "registry",
    "asdbench.systems": "systems", "asdbench.testing": "systems",
    "asdbench.runner": "runner", "asdbench.trained": "runner",
    "asdbench.reports": "reports",
    "asdbench.api": "api",
    "asdbench.cli": "cli", "asdbench.launcher": "cli", "asdbench.__main__": "cli", "asdbench.static_signature": "cli",
}

# Layer -> the layers it may import (its own included). Read bottom-up: core <- data <- scoring
# <- results <- training <- systems <- runner <- api / cli; reports read results and scoring only.
ALLOWED = {
    "core": {"core"},
    "data": {"core", "data"},
    "scoring": {"core", "data", "scoring"},
    "results": {"core", "data", "scoring", "results"},
    "model": {"core", "model"},
    "training": {"core", "data", "results", "model", "training"},
    "registry": {"core", "registry"},
    "components": {"core", "data", "scoring", "results", "model", "components", "registry"},
    "systems": {"core", "data", "model", "training", "components", "registry", "systems"},
    "runner": {"core", "data", "scoring", "results", "model", "training", "components", "registry", "systems",
               "runner", "reports"},
    "reports": {"core", "scoring", "results", "reports"},
    "api": {"core", "data", "scoring", "results", "model", "training", "components", "registry", "systems",
            "runner", "reports", "api"},
    "cli": set(LAYER_OF.values()) | {"cli"},
    "root": {"api", "core", "registry", "systems", "runner", "results", "scoring", "reports"},
}


def layer_of(module: str) -> str:
    if module == "asdbench":
        return "root"
    matches = [prefix for prefix in LAYER_OF if module == prefix or module.startswith(prefix + ".")]
    if not matches:
        raise AssertionError(f"{module}: no layer (add it to LAYER_OF in {Path(__file__).name})")
    return LAYER_OF[max(matches, key=len)]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "templates" not in p.parts}


def imports_of(module: str, path: Path, known: set[str]) -> list[str]:
    """Every asdbench module ``module`` imports, anywhere in its code."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            if target == "asdbench" and not submodules and {a.name for a in node.names} == {"__version__"}:
                continue  # the version string: defined in the package itself, importing nothing
            found += submodules or [target]
    return [name for name in found if name == "asdbench" or name.startswith("asdbench.")]


def test_every_import_follows_the_layer_rules():
    modules = package_modules()
    known = set(modules)
    broken = []
    for module, path in modules.items():
        source = layer_of(module)
        for target in imports_of(module, path, known):
            if layer_of(target) not in ALLOWED[source]:
                broken.append(f"{module} ({source}) imports {target} ({layer_of(target)})")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("layer", ["training", "scoring"])
def test_training_and_scoring_never_use_the_plugin_registry(layer):
    modules = package_modules()
    users = [m for m, p in modules.items() if layer_of(m) == layer
             for t in imports_of(m, p, set(modules)) if layer_of(t) in ("registry", "systems")]
    assert users == []


def test_the_rules_catch_a_violation(tmp_path):
    """The checker itself: a scoring module importing the runner is reported."""
    fake = tmp_path / "asdbench" / "scoring" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from ..runner.trial import run_trial\n")
    targets = imports_of("asdbench.scoring.bad", fake, {"asdbench.runner.trial"})
    assert targets == ["asdbench.runner.trial"]
    assert layer_of(targets[0]) not in ALLOWED["scoring"]


RUN_DIRECTORY_NAMES = {name: value for name, value in vars(layout).items()
                       if name.isupper() and isinstance(value, str) and "." in value}
"""The file names (``run.json``, ``scores.csv``, ...); folder names such as ``ensemble`` or
``plots`` are also ordinary words (a seed label, an option), so only their constants are checked."""


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_every_run_directory_file_name_is_spelled_in_one_module():
    assert {"run.json", "trial.json", "results.csv", "scores.csv", "metrics.csv", "weights.pt",
            "embeddings.npz", "history.csv", "backend.json"} <= set(RUN_DIRECTORY_NAMES.values())
    spelled: dict[str, set[str]] = {}
    for module, path in package_modules().items():
        for node in _string_constants(ast.parse(path.read_text(encoding="utf-8"))):
            if node.value in RUN_DIRECTORY_NAMES.values():
                spelled.setdefault(node.value, set()).add(module)
    elsewhere = {name: sorted(mods - {"asdbench.results.layout"}) for name, mods in spelled.items()
                 if mods - {"asdbench.results.layout"}}
    assert elsewhere == {}
    assert set(spelled) == set(RUN_DIRECTORY_NAMES.values())  # each is spelled (once) in the layout


def test_the_folder_names_are_defined_once():
    defined = {}
    for module, path in package_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in ("ENSEMBLE", "PLOTS_DIR", "TENSORBOARD_DIR"):
                        defined.setdefault(target.id, []).append(module)
    assert defined == {name: ["asdbench.results.layout"] for name in ("ENSEMBLE", "PLOTS_DIR", "TENSORBOARD_DIR")}


def test_the_public_api_resolves_every_name_and_a_plugin_needs_no_torch():
    code = ("import sys, asdbench\n"
            "from asdbench import hookimpl, lazy, Augmenter, ConfigError, resolve, resolve_system, leaderboard\n"
            "light = 'torch' in sys.modules\n"
            "names = [n for n in asdbench.__all__ if n != '__version__']\n"
            "assert all(getattr(asdbench, n) is not None for n in names)\n"
            "print(len(names), light)\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 25 and out[1] == "False"


SHIPPED_PLUGINS = PACKAGE.parent / "plugins"


def test_shipped_plugins_and_the_template_use_only_the_public_api():
    """Plugins import ``asdbench`` (and ``asdbench.testing`` in tests), never internal modules."""
    sources = [p for p in SHIPPED_PLUGINS.glob("*/asdbench_*/*.py")]
    sources += list((PACKAGE / "templates").rglob("*.py.tmpl"))
    assert len(sources) >= 10
    internal = []
    for path in sources:
        text = path.read_text(encoding="utf-8").replace("$package", "package").replace("$", "_")  # template fields
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("asdbench.") \
                    and node.module != "asdbench.testing":
                internal.append(f"{path.relative_to(PACKAGE.parent)}: from {node.module}")
    assert internal == []
