"""The plugin engine: one pluggy manager, entry-point loading, and the component registry.

Loading is lazy and idempotent (as in ``llm``): the first call to :func:`get_manager` loads the
``asdbench`` entry-point group. ``ASDBENCH_LOAD_PLUGINS`` restricts it:

* unset: load every entry point;
* a comma-separated list of distribution names (e.g. ``asdbench-ssl``, compared normalised, so
  ``asdbench_ssl`` is the same): load asdbench's own built-in entry points plus those
  distributions only; names that match no installed plugin are reported as warnings;
* empty string: load only asdbench's own built-ins.

Plugins are isolated: an entry-point plugin that fails to import (or calls ``sys.exit``),
implements a hook that does not exist (a misspelt name), raises inside a ``register_*`` hook or
registers a component name another plugin already has is recorded in :data:`FAILED` (name +
reason, both plugins for a duplicate), unregistered and skipped; everything else keeps working.
Plugins registered at run time (:func:`register_plugin`, tests) fail loudly instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import re
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
WARNINGS: list[str] = []  # e.g. ASDBENCH_LOAD_PLUGINS names that matched no installed plugin
RUNTIME = "(runtime)"
_reporter: Callable[[str], None] | None = None
_reported: set[str] = set()
_registry_cache: tuple[tuple[tuple[str, int], ...], Registry] | None = None


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def normalise_distribution(name: str) -> str:
    """PEP 503 normal form: ``asdbench_SSL`` and ``asdbench-ssl`` name the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _allowed_distributions() -> set[str] | None:
    """None means 'all'; otherwise the (normalised) third-party distributions allowed to load."""
    value = os.environ.get(ENV_LOAD)
    if value is None:
        return None
    return {normalise_distribution(part.strip()) for part in value.split(",") if part.strip()}


def loading_note() -> str:
    """A hint for 'unknown component' errors when ``ASDBENCH_LOAD_PLUGINS`` restricts loading."""
    value = os.environ.get(ENV_LOAD)
    if value is None:
        return ""
    return f"; plugin loading is restricted by {ENV_LOAD}={value!r}"


def report_to(reporter: Callable[[str], None] | None) -> None:
    """Send one line per failed plugin and per loading warning to ``reporter`` (the CLI prints
    them as warnings), each once, now and whenever a new one appears."""
    global _reporter
    _reporter = reporter
    _flush_reports()


def _flush_reports() -> None:
    if _reporter is None:
        return
    lines = [f"plugin {f.name!r} ({f.distribution}) is skipped: {f.error} (see asdbench plugins)" for f in FAILED]
    for line in lines + WARNINGS:
        if line not in _reported:
            _reported.add(line)
            _reporter(line)


def _fail(name: str, meta: PluginMeta, error: str) -> None:
    FAILED.append(FailedPlugin(name, meta.distribution, meta.version, error))
    _flush_reports()


def skip_plugin(name: str, error: str) -> None:
    """Unregister a loaded plugin that turned out to be broken and record why."""
    pm = get_manager()
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    _fail(name, plugin_meta(name), error)
    _forget_registry()


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from .version import __version__

    allowed = _allowed_distributions()
    seen_builtin = False
    found: set[str] = set()
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)):
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else ""
        is_builtin = normalise_distribution(dist) == "asdbench"
        found.add(normalise_distribution(dist))
        if is_builtin:
            seen_builtin = True
        elif allowed is not None and normalise_distribution(dist) not in allowed:
            continue
        if pm.has_plugin(ep.value):
            continue
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # a broken plugin must not take the others down
            _fail(ep.value, PluginMeta(dist, version), _describe(exc))
            continue
        _register_module(pm, module, ep.value, PluginMeta(dist, version))
    for name in sorted((allowed or set()) - found):
        WARNINGS.append(f"{ENV_LOAD} names {name!r}, which is not an installed asdbench plugin "
                        f"(installed: {', '.join(sorted(found - {'asdbench'})) or 'none'})")
    if not seen_builtin:
        # Running from a source tree without an installed distribution: same modules, same hooks.
        for name in BUILTIN_MODULES.values():
            if not pm.has_plugin(name):
                _register_module(pm, importlib.import_module(name), name, PluginMeta("asdbench", __version__))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) at import"
    return f"{type(exc).__name__}: {exc}"


def _unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """Hooks ``plugin`` implements that no hookspec declares (what ``check_pending`` rejects)."""
    unknown = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None and any(not impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin):
            unknown.append(caller.name)
    return sorted(unknown)


def _register_module(pm: pluggy.PluginManager, module: Any, name: str, meta: PluginMeta) -> None:
    try:
        pm.register(module, name=name)
    except Exception as exc:
        _fail(name, meta, f"{type(exc).__name__}: {exc}")
        return
    unknown = _unknown_hooks(pm, module)
    if unknown:
        pm.unregister(name=name)
        known = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
        _fail(name, meta, f"implements unknown hook(s) {', '.join(unknown)} (misspelt? hooks: {', '.join(known)})")
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


def register_plugin(plugin: Any, name: str, distribution: str = RUNTIME, version: str = "") -> None:
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
    global _manager, _registry_cache, _reporter
    _manager = None
    _registry_cache = None
    _reporter = None
    _meta.clear()
    FAILED.clear()
    WARNINGS.clear()
    _reported.clear()


def plugin_meta(name: str) -> PluginMeta:
    return _meta.get(name, PluginMeta("?", ""))


class LazyFactory:
    """A factory named ``"package.module:attribute"``, imported on its first call.

    Registering ``LazyFactory("my_plugin.heavy:MyAugmenter", "one line")`` instead of the class
    keeps torch (or any heavy import) out of the plugin's registration module, so commands that
    only list, describe or compare (``asdbench plugins``, ``--help``, tab completion) stay fast.
    ``inspect.signature`` and :attr:`target` import the real factory; ``asdbench describe`` reads
    the signature and docstrings from the source file instead (:mod:`asdbench.static_signature`).
    """

    def __init__(self, target: str, doc: str = "", signature_of: str | None = None) -> None:
        for path in (target, signature_of or target):
            module, sep, attribute = path.partition(":")
            if not sep or not module or not attribute:
                raise PluginError(f"lazy factory {path!r}: expected 'package.module:attribute'")
        self.path = target
        self.signature_of = signature_of
        """Where ``describe`` reads the options when the factory itself is built by a call (a
        ``"module:Class"`` whose signature the factory forwards, e.g. through ``__wrapped__``)."""
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


def lazy(target: str, doc: str = "", signature_of: str | None = None) -> LazyFactory:
    """Shorthand for :class:`LazyFactory`."""
    return LazyFactory(target, doc, signature_of)


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
            raise PluginError(f"unknown {kind} {name!r} (known: {known}{loading_note()})") from None

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def by_plugin(self, plugin: str) -> list[Component]:
        return [c for kind in KINDS for c in self.components[kind].values() if c.plugin == plugin]


def _plugin_order(pm: pluggy.PluginManager) -> list[tuple[str, Any]]:
    """asdbench's built-ins first, then the others by name: the first to register a name keeps it."""
    def key(item: tuple[str, Any]) -> tuple[bool, str]:
        return (plugin_meta(item[0]).distribution != "asdbench", item[0])
    return sorted(pm.list_name_plugin(), key=key)


def _components_of(pm: pluggy.PluginManager, name: str, plugin: Any, registry: Registry) -> list[Component]:
    """Everything ``plugin`` registers, checked against ``registry``; PluginError if it cannot be used."""
    staged: list[Component] = []
    for kind in KINDS:
        hook = getattr(pm.hook, _HOOK_OF_KIND[kind])
        for impl in hook.get_hookimpls():
            if impl.plugin is not plugin:
                continue

            def register(name: str, factory: Callable[..., Any], description: str | None = None,
                         _kind: str = kind, _plugin: str = name) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {_plugin!r} registered a {_kind} without a name")
                staged.append(Component(_kind, name, factory, description or _first_doc_line(factory), _plugin))

            try:
                impl.function(register=register)
            except PluginError:
                raise
            except (Exception, SystemExit) as exc:
                raise PluginError(f"plugin {name!r} failed in {_HOOK_OF_KIND[kind]}: {_describe(exc)}") from exc
    seen: dict[tuple[str, str], Component] = {}
    for component in staged:
        existing = registry.components[component.kind].get(component.name) or seen.get((component.kind, component.name))
        if existing is not None:
            raise PluginError(f"{component.kind} {component.name!r} is registered twice: by plugin "
                              f"{existing.plugin!r} and by plugin {component.plugin!r}")
        seen[(component.kind, component.name)] = component
    return staged


def _collect(pm: pluggy.PluginManager) -> Registry:
    """The registry of every usable plugin; broken entry-point plugins are skipped (recorded in
    :data:`FAILED` and unregistered), a broken run-time plugin raises."""
    registry = Registry()
    for name, plugin in _plugin_order(pm):
        try:
            components = _components_of(pm, name, plugin, registry)
        except PluginError as exc:
            meta = plugin_meta(name)
            if meta.distribution == RUNTIME:
                raise
            pm.unregister(name=name)
            _fail(name, meta, str(exc))
            continue
        for component in components:
            registry.add(component)
    return registry


def get_registry() -> Registry:
    """The registry for the plugins registered right now (rebuilt when that set changes)."""
    global _registry_cache
    pm = get_manager()
    key = tuple(sorted((name, id(plugin)) for name, plugin in pm.list_name_plugin()))
    if _registry_cache is None or _registry_cache[0] != key:
        registry = _collect(pm)  # may unregister broken plugins: key after collecting
        _registry_cache = (tuple(sorted((n, id(p)) for n, p in pm.list_name_plugin())), registry)
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
