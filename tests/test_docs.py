"""The plugin docs are checked: every hook is documented with its exact signature, every Python
block of the authoring guide runs, and every ``asdbench`` command shown there exists."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from asdbench import hookspecs
from asdbench.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"
HOOKS_DOC = DOCS / "plugin_hooks.md"
GUIDE = DOCS / "authoring.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)
FILE_HEADER = re.compile(r"^# file: (\S+)\n")


def hook_specs() -> dict[str, inspect.Signature]:
    """Every function in asdbench.hookspecs marked with @hookspec."""
    marker = f"{hookspecs.hookspec.project_name}_spec"
    return {name: inspect.signature(fn) for name, fn in vars(hookspecs).items()
            if callable(fn) and hasattr(fn, marker)}


def blocks(path: Path) -> list[tuple[str, str]]:
    """(info string, code) of every fenced block, in order."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


# --------------------------------------------------------------------------------------------
# (a) every hook is documented with its exact signature
# --------------------------------------------------------------------------------------------


def test_there_are_hooks_to_document():
    assert {"register_augmenters", "register_commands"} <= set(hook_specs())


@pytest.mark.parametrize("hook", sorted(hook_specs()))
def test_every_hook_is_documented_with_its_exact_signature(hook):
    signature = f"{hook}{hook_specs()[hook]}"
    headings = [line for line in HOOKS_DOC.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert f"## `{signature}`" in headings, (
        f"docs/plugin_hooks.md has no heading '## `{signature}`' for the hook {hook}")


def test_documented_hooks_all_exist():
    documented = re.findall(r"^## `(register_\w+)\(", HOOKS_DOC.read_text(encoding="utf-8"), re.M)
    assert sorted(documented) == sorted(hook_specs())


def test_the_guide_table_uses_the_exact_signatures():
    text = GUIDE.read_text(encoding="utf-8")
    for hook, signature in hook_specs().items():
        assert f"`{hook}{signature}`" in text, f"docs/authoring.md does not show `{hook}{signature}`"


# --------------------------------------------------------------------------------------------
# (b) the guide's Python blocks run, in order, in one namespace
# --------------------------------------------------------------------------------------------


@pytest.fixture
def guide_dir(tmp_path, monkeypatch):
    """A scratch folder as cwd and on sys.path; modules and plugins the guide made are dropped after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]


def run_guide(root: Path) -> dict:
    """Write the ``# file:`` blocks under ``root`` and execute the other Python blocks in order."""
    namespace: dict = {"__name__": "authoring_guide"}
    for number, (info, code) in enumerate(blocks(GUIDE), start=1):
        header = FILE_HEADER.match(code)
        if header:
            path = root / header.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code, encoding="utf-8")
        elif info == "python":
            try:
                exec(compile(code, f"docs/authoring.md block {number}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"docs/authoring.md python block {number} failed: {exc!r}\n{code}") from exc
    return namespace


def _featex_available() -> bool:
    from asdbench.errors import PluginError
    from asdbench.plugins import get_registry

    try:
        return "featex" in get_registry().names("augmenter")
    except PluginError:  # reported by tests/test_plugins.py; the guide then cannot run either
        return False


@pytest.mark.skipif(not _featex_available(), reason="the guide composes with featex (plugins/asdbench-ssl)")
def test_every_python_block_of_the_guide_runs(guide_dir, capsys):
    python_blocks = [code for info, code in blocks(GUIDE) if info == "python"]
    assert len(python_blocks) >= 5
    namespace = run_guide(guide_dir)
    assert (guide_dir / "asdbench_saturate" / "saturate.py").is_file()
    assert (guide_dir / "pyproject.toml").read_text().count("[project.entry-points.asdbench]") == 1
    assert "Saturate" in namespace and "component" in namespace
    out = capsys.readouterr().out
    assert "of 8 clips saturated" in out and "saturate from plugin asdbench_saturate" in out


@pytest.mark.skipif(not _featex_available(), reason="the guide composes with featex (plugins/asdbench-ssl)")
def test_the_guides_plugin_passes_its_own_tests(guide_dir):
    run_guide(guide_dir)
    env = {k: v for k, v in os.environ.items() if k != "ASDBENCH_LOAD_PLUGINS"}
    env["PYTHONPATH"] = str(guide_dir)
    env["ASDBENCH_LOAD_PLUGINS"] = ""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(guide_dir), "tests"],
        cwd=guide_dir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout


# --------------------------------------------------------------------------------------------
# (c) the asdbench commands shown in console blocks exist, with the options they use
# --------------------------------------------------------------------------------------------


def console_commands(path: Path) -> list[list[str]]:
    commands = []
    for info, code in blocks(path):
        if info == "console":
            for line in code.splitlines():
                if line.startswith("$ asdbench "):
                    commands.append(shlex.split(line[2:])[1:])
    return commands


def _command_for(args: list[str]) -> tuple[list[str], click.Command]:
    path, command = [], main
    for token in args:
        sub = command.get_command(click.Context(command), token) if isinstance(command, click.Group) else None
        if sub is not None:  # get_command: the top-level group imports its sub-commands lazily
            path.append(token)
            command = sub
        else:
            break
    return path, command


def test_guide_shows_commands():
    assert ["plugin", "new", "saturate", "--stage", "waveform", "--factor", "2"] in console_commands(GUIDE)


@pytest.mark.parametrize("args", console_commands(GUIDE), ids=" ".join)
def test_every_command_in_the_guide_exists(args):
    path, command = _command_for(args)
    assert path, f"'asdbench {' '.join(args)}': no such command"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for token in args[len(path):]:
        if token.startswith("--"):
            assert token.split("=")[0] in known, f"'asdbench {' '.join(path)}' has no option {token}"
