"""One broken plugin never breaks the others: real plugin distributions built in a temp dir.

Each case installs (on ``sys.path``) a distribution with an ``asdbench`` entry point that is
broken in one way, then checks that ``asdbench plugins`` lists it as failed with the reason, that
another command prints one warning line for it and still works, and that nothing else is lost.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from asdbench import plugins


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    monkeypatch.delenv(plugins.ENV_LOAD, raising=False)
    plugins.reset()
    yield
    plugins.report_to(None)
    plugins.reset()


def install_distribution(site: Path, dist: str, module: str, source: str) -> None:
    """A real distribution: a module plus ``<dist>-1.0.dist-info`` with METADATA and entry points."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\n{module} = {module}\n")


GOOD = """
    from asdbench.hookspecs import hookimpl

    @hookimpl
    def register_backends(register):
        register("iso-good-backend", dict, "a test back-end")
"""

# (case, module source, text the failure reason must contain)
BROKEN = [
    ("import-error", "raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    ("sys-exit", "import sys\nsys.exit(3)\n", "SystemExit(3)"),
    ("misspelt-hook", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_augmentors(register):
            pass
     """, "unknown hook(s) register_augmentors"),
    ("raises-in-register", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_losses(register):
            raise ValueError('bad loss table')
     """, "failed in register_losses: ValueError: bad loss table"),
    ("exits-in-register", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_backends(register):
            raise SystemExit(4)
     """, "failed in register_backends"),
    ("duplicate-name", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_backends(register):
            register("kmeans", dict, "a second kmeans")
     """, "backend 'kmeans' is registered twice: by plugin 'asdbench.builtin.backends' and by plugin"),
    ("raises-in-commands", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_commands(cli):
            raise RuntimeError('no commands today')
     """, "register_commands: RuntimeError: no commands today"),
]


def _cli(args: list[str]):
    """A fresh CLI (plugin commands are added when the module is imported)."""
    import importlib

    import asdbench.cli as cli

    cli = importlib.reload(cli)
    return CliRunner().invoke(cli.main, args)


@pytest.mark.parametrize(("case", "source", "reason"), BROKEN, ids=[c for c, _, _ in BROKEN])
def test_broken_plugin_is_reported_once_and_skipped(case, source, reason, tmp_path, monkeypatch):
    site = tmp_path / "site"
    module = f"asdbench_iso_{case.replace('-', '_')}"
    install_distribution(site, f"asdbench-iso-{case}", module, source)
    install_distribution(site, "asdbench-iso-good", "asdbench_iso_good", GOOD)
    monkeypatch.syspath_prepend(str(site))

    listing = _cli(["plugins", "--json"])
    assert listing.exit_code == 0, listing.output
    rows = json.loads(listing.stdout)
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["name"] for r in failed] == [module], rows
    assert reason in failed[0]["error"]
    loaded = {c["name"] for r in rows if r["status"] == "loaded" for c in r["components"]}
    assert {"iso-good-backend", "kmeans", "two-branch", "baseline"} <= loaded
    assert "Traceback" not in listing.output

    plugins.reset()
    other = _cli(["describe", "system", "baseline"])
    assert other.exit_code == 0, other.output
    warnings = [line for line in other.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1 and module in warnings[0] and reason in warnings[0], other.stderr
    assert "Traceback" not in other.output


def test_load_plugins_matches_normalised_names_and_warns_about_unknown(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_distribution(site, "asdbench-iso-good", "asdbench_iso_good", GOOD)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv(plugins.ENV_LOAD, "asdbench_iso_good,Asdbench.ISO-good,asdbench-typo")
    assert "iso-good-backend" in plugins.get_registry().names("backend")
    assert len(plugins.WARNINGS) == 1 and "'asdbench-typo', which is not an installed asdbench plugin" in plugins.WARNINGS[0]
    plugins.reset()
    result = _cli(["describe", "system", "baseline"])
    assert result.exit_code == 2
    assert "asdbench-typo" in result.stderr
    assert "plugin loading is restricted by ASDBENCH_LOAD_PLUGINS" in result.stderr  # baseline is asdbench-ssl's


def test_unknown_component_mentions_restricted_loading(monkeypatch):
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    with pytest.raises(plugins.PluginError, match="restricted by ASDBENCH_LOAD_PLUGINS=''"):
        plugins.resolve("augmenter", "featex")
