"""The commands that do not compute start without torch (the start-up time itself is measured by
``benchmarks/startup.py``, not here), and the lazy command table matches the commands."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from asdbench.cli import COMMANDS, main
from asdbench.launcher import COMPUTE_COMMANDS, command_of

# Runs in a fresh interpreter: which heavy modules did importing the CLI and running ARGS load?
PROBE = textwrap.dedent("""
    import json, sys
    from click.testing import CliRunner
    from asdbench.cli import main
    result = CliRunner().invoke(main, sys.argv[1:])
    heavy = sorted(m for m in ("torch", "sklearn", "scipy", "matplotlib", "soundfile") if m in sys.modules)
    print(json.dumps({"exit": result.exit_code, "heavy": heavy, "output": result.output[-400:]}))
""")


def _probe(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_torch():
    done = subprocess.run([sys.executable, "-c", "import sys, asdbench, asdbench.cli, asdbench.api, asdbench.components;"
                           "print('torch' in sys.modules)"], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("args", [
    ["--help"], ["--version"], ["plugins"], ["plugins", "--json"], ["describe", "backend", "kmeans"],
    ["describe", "augmenter"], ["describe", "system"], ["describe", "embedder", "two-branch", "--no-layers"],
    ["describe", "embedder", "two-branch", "--json"], ["describe", "augmenter", "featex"],
    ["describe", "system", "combined"], ["describe", "loss", "adaproj"], ["describe", "loss", "sub-cluster-adacos", "--json"],
    ["compare", "--help"], ["evaluate", "--help"],
    ["score", "--help"], ["run", "--help"],
])
def test_listing_describing_and_help_load_no_heavy_module(args):
    probe = _probe(*args)
    assert probe["exit"] == 0, probe["output"]
    assert "torch" not in probe["heavy"] and "sklearn" not in probe["heavy"], (args, probe["heavy"])


def test_completion_of_component_names_loads_no_torch(monkeypatch):
    env = {"_ASDBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "asdbench run --ssl regular+fe", "COMP_CWORD": "3"}
    code = ("import sys, runpy\nfrom asdbench.cli import main\n"
            "try:\n    main(prog_name='asdbench')\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, **env})
    lines = done.stdout.strip().splitlines()
    assert "plain,regular+featex" in lines and lines[-1] == "False", done.stdout + done.stderr
    backends = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**__import__("os").environ, **env, "COMP_WORDS": "asdbench run --backend m"})
    assert "plain,mahalanobis" in backends.stdout


def test_the_help_table_says_what_each_command_says():
    lazy = CliRunner().invoke(main, ["--help"], prog_name="asdbench").output
    for name in COMMANDS:
        command = main.get_command(None, name)
        assert command is not None and command.name == name
    loaded = CliRunner().invoke(main, ["--help"], prog_name="asdbench").output
    assert lazy == loaded and "score" in lazy


def test_only_compute_commands_reexecute_under_the_allocator():
    assert COMPUTE_COMMANDS == {"run", "score"}
    assert command_of(["--quiet", "run", "--ssl", "x"]) == "run"
    assert command_of(["--help"]) is None and command_of(["plugins"]) == "plugins"
