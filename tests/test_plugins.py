"""The plugin engine: registration, resolution, duplicates, typos, broken plugins, env control."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from click.testing import CliRunner

from asdbench import plugins
from asdbench.cli import main
from asdbench.components import Augmenter
from asdbench.errors import PluginError
from asdbench.hookspecs import hookimpl


class _Flip(Augmenter):
    """Reverses the waveform in time (a throw-away test strategy)."""

    stage = "waveform"
    factor = 2

    def __call__(self, data, labels, generator):
        flipped = torch.rand(len(data), generator=generator) < 0.5
        out = torch.where(flipped[:, None], data.flip(-1), data)
        zeros = torch.zeros_like(labels)
        new = torch.where(flipped[:, None], torch.cat([zeros, labels], 1), torch.cat([labels, zeros], 1))
        return out, new


class _ThrowAway:
    @hookimpl
    def register_augmenters(self, register):
        register("flip-test", _Flip)


@pytest.fixture(autouse=True)
def fresh_plugins():
    plugins.reset()
    yield
    plugins.reset()


def test_throwaway_augmenter_is_resolved_by_name_then_gone():
    plugins.register_plugin(_ThrowAway(), name="throwaway")
    component = plugins.resolve("augmenter", "flip-test")
    assert component.plugin == "throwaway"
    assert component.description.startswith("Reverses the waveform")
    aug = component.factory()
    wave, labels = torch.randn(4, 100), torch.eye(4)
    out, new = aug(wave, labels, torch.Generator().manual_seed(0))
    assert out.shape == wave.shape and new.shape == (4, 8)
    assert torch.allclose(new.sum(1), torch.ones(4))
    plugins.unregister_plugin("throwaway")
    with pytest.raises(PluginError, match="unknown augmenter 'flip-test'"):
        plugins.resolve("augmenter", "flip-test")


def test_duplicate_component_names_both_plugins():
    class _Second:
        @hookimpl
        def register_augmenters(self, register):
            register("flip-test", _Flip)

    plugins.register_plugin(_ThrowAway(), name="first-plugin")
    plugins.register_plugin(_Second(), name="second-plugin")
    with pytest.raises(PluginError) as err:
        plugins.get_registry()
    assert "first-plugin" in str(err.value) and "second-plugin" in str(err.value)
    assert "'flip-test' is registered twice" in str(err.value)


def test_hook_typo_is_caught_by_check_pending():
    class _Typo:
        @hookimpl
        def register_augmentors(self, register):  # typo: not a hook
            pass

    with pytest.raises(PluginError, match="register_augmentors"):
        plugins.register_plugin(_Typo(), name="typo")
    assert not plugins.get_manager().has_plugin("typo")


def _fake_distribution(tmp_path, dist: str, module: str, source: str):
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    info = tmp_path / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\n{module} = {module}\n")


def test_broken_plugin_is_reported_and_the_rest_still_work(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "asdbench-broken", "asdbench_broken_mod", "raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(plugins.ENV_LOAD, raising=False)
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    broken = [r for r in rows if r["distribution"] == "asdbench-broken"]
    assert len(broken) == 1 and broken[0]["status"] == "failed"
    assert "RuntimeError: boom at import" in broken[0]["error"]
    names = {c["name"] for r in rows for c in r["components"]}
    assert {"two-branch", "kmeans"} <= names  # built-ins still listed
    text = CliRunner().invoke(main, ["plugins"]).output
    assert "FAILED to load: RuntimeError: boom at import" in text


def test_env_var_restricts_entry_point_loading(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "asdbench-extra", "asdbench_extra_mod", """
        from asdbench.hookspecs import hookimpl

        @hookimpl
        def register_backends(register):
            register("extra-backend", dict, "a test back-end")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    plugins.reset()
    assert "extra-backend" not in plugins.get_registry().names("backend")
    assert "kmeans" in plugins.get_registry().names("backend")  # built-ins always load
    monkeypatch.setenv(plugins.ENV_LOAD, "asdbench-extra")
    plugins.reset()
    assert "extra-backend" in plugins.get_registry().names("backend")
    monkeypatch.delenv(plugins.ENV_LOAD)
    plugins.reset()
    component = plugins.resolve("backend", "extra-backend")
    assert component.plugin == "asdbench_extra_mod"
    assert plugins.plugin_meta("asdbench_extra_mod").version == "1.2.3"


def test_plugins_json_lists_builtin_components_with_hooks():
    rows = json.loads(CliRunner().invoke(main, ["plugins", "--json"]).output)
    by_name = {r["name"]: r for r in rows}
    embedders = by_name["asdbench.builtin.embedders"]
    assert embedders["distribution"] == "asdbench" and embedders["hooks"] == ["register_embedders"]
    assert {"kind": "embedder", "name": "two-branch"} in [
        {k: c[k] for k in ("kind", "name")} for c in embedders["components"]]
    kinds = {c["kind"] for r in rows for c in r["components"]}
    assert {"dataset", "embedder", "loss", "backend"} <= kinds
    for row in rows:
        for comp in row["components"]:
            assert comp["description"], f"{comp['name']} has no description"


def test_plugin_failing_inside_hook_names_the_plugin():
    class _Raises:
        @hookimpl
        def register_losses(self, register):
            raise ValueError("bad loss table")

    plugins.register_plugin(_Raises(), name="raising-plugin")
    with pytest.raises(PluginError, match="raising-plugin.*register_losses.*bad loss table"):
        plugins.get_registry()
