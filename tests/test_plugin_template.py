"""``asdbench plugin new``: the generated package passes its own tests and is found as a plugin."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.cli.plugin_new import generate_plugin, plugin_names, render

GENERATED = [("tilt", "waveform", 2), ("band", "features", 3), ("blend", "embedding", 1)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASDBENCH_LOAD_PLUGINS")}
    env.update(extra)
    return env


def test_cli_creates_the_package_layout(tmp_path):
    result = CliRunner().invoke(main, ["plugin", "new", "gain_flip", "--dir", str(tmp_path), "--factor", "4"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "asdbench-gain-flip"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "asdbench_gain_flip/__init__.py", "asdbench_gain_flip/plugin.py",
                     "pyproject.toml", "tests/test_gain_flip.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "asdbench-gain-flip"' in pyproject
    assert '[project.entry-points.asdbench]\ngain_flip = "asdbench_gain_flip"' in pyproject
    plugin = (root / "asdbench_gain_flip" / "plugin.py").read_text()
    assert "class GainFlipAugmenter(Augmenter):" in plugin
    assert 'stage = "waveform"' in plugin and "factor: int = 4" in plugin
    assert "Created" in result.output and "pip install -e ." in result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_hyphenated_names_are_normalised_and_the_folder_is_printed(tmp_path):
    result = CliRunner().invoke(main, ["plugin", "new", "my-strategy", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Name 'my-strategy' normalised to 'my_strategy'" in result.output
    assert f"Created {tmp_path / 'asdbench-my-strategy'}/" in result.output
    assert (tmp_path / "asdbench-my-strategy" / "asdbench_my_strategy" / "plugin.py").is_file()
    assert "asdbench run --ssl regular+my_strategy" in result.output


def test_generated_code_is_valid_python_for_every_stage():
    for stage in ("waveform", "features", "embedding"):
        files = render("probe", stage, 2)
        for path, text in files.items():
            if path.endswith(".py"):
                compile(text, path, "exec")
            assert "$" not in text.replace("$ ", ""), f"unsubstituted placeholder in {path}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad-Name"], "plugin name 'Bad-Name' is invalid: use 1-40 lowercase letters"),
        (["9lives"], "plugin name '9lives' is invalid"),
        (["class"], "plugin name 'class' is invalid"),
        (["regular"], "plugin name 'regular' is reserved"),
        (["x" * 41], "plugin name '" + "x" * 41 + "' is invalid"),
    ],
)
def test_bad_names_are_one_line_errors(tmp_path, args, message):
    result = CliRunner().invoke(main, ["plugin", "new", *args, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}")
    assert result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_name_already_registered_is_refused(tmp_path):
    from asdbench.hookspecs import hookimpl
    from asdbench.testing import registered_plugin

    class Taken:
        @hookimpl
        def register_augmenters(self, register):
            register("taken_name", object)

    with registered_plugin(Taken(), "taken-plugin"):
        result = CliRunner().invoke(main, ["plugin", "new", "taken_name", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "Error: plugin name 'taken_name' is taken: an augmenter of that name is registered by plugin 'taken-plugin'" in result.output


def test_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "asdbench-mine").mkdir()
    (tmp_path / "asdbench-mine" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["plugin", "new", "mine", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists; refusing to overwrite it" in result.output
    assert (tmp_path / "asdbench-mine" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asdbench-mine"]


def test_bad_options_are_rejected(tmp_path):
    runner = CliRunner()
    assert "is not in the range x>=1" in runner.invoke(main, ["plugin", "new", "x", "--dir", str(tmp_path), "--factor", "0"]).output
    assert "'logits' is not one of" in runner.invoke(main, ["plugin", "new", "x", "--dir", str(tmp_path), "--stage", "logits"]).output
    missing = runner.invoke(main, ["plugin", "new", "x", "--dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugins")
    return {name: generate_plugin(name, root, stage, factor) for name, stage, factor in GENERATED}


def test_generated_plugins_pass_their_own_tests(generated):
    """One pytest subprocess runs the tests of a waveform, a features and an embedding plugin."""
    root = next(iter(generated.values())).parent
    env = _env(PYTHONPATH=os.pathsep.join(str(p) for p in generated.values()), ASDBENCH_LOAD_PLUGINS="")
    tests = [str(p / "tests") for p in generated.values()]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), *tests],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "21 passed" in result.stdout, result.stdout[-1000:]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed")
def test_generated_plugins_are_lint_clean(generated):
    for path in generated.values():  # the ruff of this environment (a test extra), not whatever is on PATH
        result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=path,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_entry_point_discovery_lists_the_generated_plugin(generated, tmp_path):
    """Simulate ``pip install``: a dist-info with the entry point on sys.path, then ``asdbench plugins``."""
    site = tmp_path / "site"
    names = plugin_names("tilt")
    info = site / f"{names['package']}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {names['dist']}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\ntilt = {names['package']}\n")
    env = _env(PYTHONPATH=os.pathsep.join([str(site), str(generated["tilt"])]),
               ASDBENCH_LOAD_PLUGINS=names["dist"])
    code = "import sys; from asdbench.cli import main; sys.argv = ['asdbench', 'plugins', '--json']; main()"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    row = rows["asdbench_tilt"]
    assert (row["distribution"], row["version"], row["status"]) == ("asdbench-tilt", "0.1.0", "loaded")
    assert row["hooks"] == ["register_augmenters"]
    assert row["components"] == [{
        "kind": "augmenter", "name": "tilt",
        "description": "Spectral-tilt pseudo-classes: class c filters clips with y[t] = x[t] - s_c * x[t-1].",
    }]
