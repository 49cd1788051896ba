"""The plugin engine: one pluggy manager, entry-point loading, and the component registry.

Loading is lazy and idempotent (as in ``llm``): the first call to :func:`get_manager` loads the
``asdbench`` entry-point group. ``ASDBENCH_LOAD_PLUGINS`` restricts it:

* unset: load every entry point;
* a comma-separated list of distribution names (e.g. ``asdbench-ssl``): load asdbench's own
  built-in entry points plus those distributions only;
* empty string: load only asdbench's own built-ins.

A plugin whose import fails is recorded in :data:`FAILED` (name + error) and skipped, so
everything else keeps working.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "asdbench"
ENV_LOAD = "ASDBENCH_LOAD_PLUGINS"
BUILTIN_MODULES = {
    "datasets": "asdbench.builtin.datasets",
    "embedders": "asdbench.builtin.embedders",
    "losses": "asdbench.builtin.losses",
    "backends": "asdbench.builtin.backends",
}
KINDS = ("dataset", "embedder", "augmenter", "loss", "backend", "system")
_HOOK_OF_KIND = {kind: f"register_{kind}es" if kind.endswith("s") else f"register_{kind}s" for kind in KINDS}


@dataclass
class FailedPlugin:
    name: str
    distribution: str
    version: str
    error: str


@dataclass
class PluginMeta:
    distribution: str = "asdbench"
    version: str = ""


_manager: pluggy.PluginManager | None = None
_meta: dict[str, PluginMeta] = {}
FAILED: list[FailedPlugin] = []
_registry_cache: tuple[tuple[tuple[str, int], ...], Registry] | None = None


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def _allowed_distributions() -> set[str] | None:
    """None means 'all'; otherwise the set of third-party distributions allowed to load."""
    value = os.environ.get(ENV_LOAD)
    if value is None:
        return None
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from . import __version__

    allowed = _allowed_distributions()
    seen_builtin = False
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)):
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else ""
        is_builtin = dist.lower() == "asdbench"
        if is_builtin:
            seen_builtin = True
        elif allowed is not None and dist.lower() not in allowed:
            continue
        if pm.has_plugin(ep.value):
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            FAILED.append(FailedPlugin(ep.value, dist, version, f"{type(exc).__name__}: {exc}"))
            continue
        _register_module(pm, module, ep.value, PluginMeta(dist, version))
    if not seen_builtin:
        # Running from a source tree without an installed distribution: same modules, same hooks.
        for name in BUILTIN_MODULES.values():
            if not pm.has_plugin(name):
                _register_module(pm, importlib.import_module(name), name, PluginMeta("asdbench", __version__))


def _register_module(pm: pluggy.PluginManager, module: Any, name: str, meta: PluginMeta) -> None:
    try:
        pm.register(module, name=name)
    except Exception as exc:
        FAILED.append(FailedPlugin(name, meta.distribution, meta.version, f"{type(exc).__name__}: {exc}"))
        return
    _meta[name] = meta


def get_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, loading entry points on first use."""
    global _manager
    if _manager is None:
        pm = _new_manager()
        _load_entry_points(pm)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin hook validation failed: {exc}") from exc
        _manager = pm
    return _manager


def register_plugin(plugin: Any, name: str, distribution: str = "(runtime)", version: str = "") -> None:
    """Register a plugin object at run time (tests, notebooks); hook names are validated."""
    pm = get_manager()
    pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=name)
        raise PluginError(f"plugin {name!r}: {exc}") from exc
    _meta[name] = PluginMeta(distribution, version)
    _forget_registry()


def unregister_plugin(name: str) -> None:
    pm = get_manager()
    pm.unregister(name=name)
    _meta.pop(name, None)
    _forget_registry()


def _forget_registry() -> None:
    """Run-time (un)registration always rebuilds the registry: an object id can be reused."""
    global _registry_cache
    _registry_cache = None


def reset() -> None:
    """Forget everything loaded (tests use this after changing ``ASDBENCH_LOAD_PLUGINS``)."""
    global _manager, _registry_cache
    _manager = None
    _registry_cache = None
    _meta.clear()
    FAILED.clear()


def plugin_meta(name: str) -> PluginMeta:
    return _meta.get(name, PluginMeta("?", ""))


class LazyFactory:
    """A factory named ``"package.module:attribute"``, imported on its first call.

    Registering ``LazyFactory("my_plugin.heavy:MyAugmenter", "one line")`` instead of the class
    keeps torch (or any heavy import) out of the plugin's registration module, so commands that
    only list, describe or compare (``asdbench plugins``, ``--help``, tab completion) stay fast.
    ``inspect.signature`` and :attr:`target` import the real factory (``asdbench describe``).
    """

    def __init__(self, target: str, doc: str = "") -> None:
        module, sep, attribute = target.partition(":")
        if not sep or not module or not attribute:
            raise PluginError(f"lazy factory {target!r}: expected 'package.module:attribute'")
        self.path = target
        self.__doc__ = doc
        self._target: Callable[..., Any] | None = None

    @property
    def target(self) -> Callable[..., Any]:
        """The real factory (imported now if it was not yet)."""
        if self._target is None:
            module, _, attribute = self.path.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attribute.split("."):
                obj = getattr(obj, part)
            self._target = obj
        return self._target

    @property
    def __signature__(self) -> Any:
        import inspect

        return inspect.signature(self.target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyFactory({self.path!r})"


def lazy(target: str, doc: str = "") -> LazyFactory:
    """Shorthand for :class:`LazyFactory`."""
    return LazyFactory(target, doc)


@dataclass(frozen=True)
class Component:
    """One registered component: what kind, under which name, from which plugin."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    plugin: str


def _first_doc_line(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


@dataclass
class Registry:
    """Resolves component names to factories, per kind."""

    components: dict[str, dict[str, Component]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, component: Component) -> None:
        existing = self.components[component.kind].get(component.name)
        if existing is not None:
            raise PluginError(
                f"{component.kind} {component.name!r} is registered twice: by plugin "
                f"{existing.plugin!r} and by plugin {component.plugin!r}"
            )
        self.components[component.kind][component.name] = component

    def get(self, kind: str, name: str) -> Component:
        try:
            return self.components[kind][name]
        except KeyError:
            known = ", ".join(sorted(self.components[kind])) or "none"
            raise PluginError(f"unknown {kind} {name!r} (known: {known})") from None

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def by_plugin(self, plugin: str) -> list[Component]:
        return [c for kind in KINDS for c in self.components[kind].values() if c.plugin == plugin]


def _collect(pm: pluggy.PluginManager) -> Registry:
    registry = Registry()
    for kind in KINDS:
        hook = getattr(pm.hook, _HOOK_OF_KIND[kind])
        for impl in hook.get_hookimpls():

            def register(name: str, factory: Callable[..., Any], description: str | None = None,
                         _kind: str = kind, _plugin: str = impl.plugin_name) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {_plugin!r} registered a {_kind} without a name")
                registry.add(Component(_kind, name, factory, description or _first_doc_line(factory), _plugin))

            try:
                impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name!r} failed in {_HOOK_OF_KIND[kind]}: {exc}") from exc
    return registry


def get_registry() -> Registry:
    """The registry for the plugins registered right now (rebuilt when that set changes)."""
    global _registry_cache
    pm = get_manager()
    key = tuple(sorted((name, id(plugin)) for name, plugin in pm.list_name_plugin()))
    if _registry_cache is None or _registry_cache[0] != key:
        _registry_cache = (key, _collect(pm))
    return _registry_cache[1]


def resolve(kind: str, name: str) -> Component:
    """The component of ``kind`` registered as ``name``; a clear error lists the known names."""
    return get_registry().get(kind, name)


def describe_plugins() -> list[dict[str, Any]]:
    """Every loaded plugin with distribution, version, hooks and components; then the failed ones."""
    pm = get_manager()
    registry = get_registry()
    rows = []
    for name, plugin in sorted(pm.list_name_plugin()):
        meta = plugin_meta(name)
        hooks = sorted(impl.name for impl in pm.get_hookcallers(plugin) or [])
        rows.append({
            "name": name,
            "distribution": meta.distribution,
            "version": meta.version,
            "hooks": hooks,
            "components": [
                {"kind": c.kind, "name": c.name, "description": c.description}
                for c in registry.by_plugin(name)
            ],
            "status": "loaded",
        })
    for failed in FAILED:
        rows.append({
            "name": failed.name,
            "distribution": failed.distribution,
            "version": failed.version,
            "hooks": [],
            "components": [],
            "status": "failed",
            "error": failed.error,
        })
    return rows
