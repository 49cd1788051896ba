"""System specs: what one leaderboard row trains, parsed from strings like ``regular+featex``.

Grammar (documented in the README)::

    SPEC    := TOKEN ("+" TOKEN)* [":" OPTION ("," OPTION)*]
    TOKEN   := "regular" | "ssl" | <registered system> | <registered augmenter>
    OPTION  := KEY "=" VALUE       KEY: ssl_class_labels | ssl_trainable_centres | heads | training_classes
                                        | loss | regular_loss | ssl_loss
                                        | <augmenter>.<option> | embedder.<option> | loss.<option>
                                        | <loss>.<option>

A spec that names a registered system verbatim is that system. Otherwise the tokens are merged in
order: systems contribute their augmenters, heads and options; augmenters are appended once each.
Heads: ``ssl`` when any augmenter has a label-space factor > 1 (the SSL head has ``C * prod(factors)``
classes), ``regular`` when the token ``regular`` is present or there is no SSL head. So
``featex`` alone means "SSL loss only" and ``regular+featex`` "regular and SSL loss", as in the
paper's Table 1.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .components import CLASS_SETS, Augmenter, SystemSpec
from .errors import ConfigError, PluginError
from .plugins import get_registry, loading_note, resolve

if TYPE_CHECKING:
    from .components import Embedder
    from .training.pipeline import AugmenterPipeline
    from .training.trainer import TrainingModel

HEAD_TOKENS = ("regular", "ssl")
TOP_LEVEL_OPTIONS = {"ssl_class_labels", "ssl_trainable_centres"}
MODEL_COMPONENTS = ("embedder", "loss")  # option prefixes every system accepts besides its augmenters
LOSS_OPTIONS = {"loss": HEAD_TOKENS, "regular_loss": ("regular",), "ssl_loss": ("ssl",)}
"""Spec options choosing a head's loss plugin: ``loss`` both heads, the others one each."""


def parse_value(text: str) -> Any:
    """``true``/``false``/ints/floats as such; everything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def _parse_options(text: str, spec: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" not in item:
            raise ConfigError(f"--ssl {spec!r}: option {item!r} must look like key=value")
        key, value = item.split("=", 1)
        options[key.strip()] = parse_value(value)
    return options


def resolve_system(spec: str) -> SystemSpec:
    """Turn a spec string into a :class:`SystemSpec`, validating every name against the registry."""
    registry = get_registry()
    body, _, option_text = spec.partition(":")
    body = body.strip()
    if not body:
        raise ConfigError(f"--ssl: empty system spec {spec!r}")
    systems = registry.components["system"]
    augmenters = registry.components["augmenter"]
    if body in systems:
        system = systems[body].factory()
    else:
        aug_names: list[str] = []
        heads: set[str] = set()
        options: dict[str, dict[str, Any]] = {}
        flags: dict[str, Any] = {}
        for token in (t.strip() for t in body.split("+")):
            if token in HEAD_TOKENS:
                heads.add(token)
            elif token in systems:
                sub = systems[token].factory()
                aug_names += [a for a in sub.augmenters if a not in aug_names]
                heads.update(sub.heads)
                for key, value in sub.options.items():
                    options.setdefault(key, {}).update(value)
                if not sub.ssl_class_labels:
                    flags["ssl_class_labels"] = False
                if not sub.ssl_trainable_centres:
                    flags["ssl_trainable_centres"] = False
                if sub.training_classes != "train":
                    flags["training_classes"] = sub.training_classes
            elif token in augmenters:
                if token not in aug_names:
                    aug_names.append(token)
            else:
                known = sorted(set(systems) | set(augmenters) | set(HEAD_TOKENS))
                raise ConfigError(f"--ssl {spec!r}: unknown system or augmenter {token!r} (known: {', '.join(known)}"
                                  f"{loading_note()})")
        system = SystemSpec(augmenters=tuple(aug_names), heads=tuple(sorted(heads)), options=options, **flags)
    if option_text:
        system = _apply_options(system, _parse_options(option_text, spec), spec)
    return _normalise_heads(system, spec)


def _apply_options(system: SystemSpec, options: dict[str, Any], spec: str) -> SystemSpec:
    component_options = {k: dict(v) for k, v in system.options.items()}
    changes: dict[str, Any] = {}
    losses = _chosen_losses(system, options, spec)
    if losses != system.losses:
        changes["losses"] = losses
    # options of a chosen loss go by its name (``adaproj.subspace_dim``): only the heads using it get them
    components = (*system.augmenters, *MODEL_COMPONENTS, *sorted(set(losses.values())))
    for key, value in options.items():
        if key in LOSS_OPTIONS:
            continue
        if key in TOP_LEVEL_OPTIONS:
            if not isinstance(value, bool):
                raise ConfigError(f"--ssl {spec!r}: option {key} must be true or false, got {value!r}")
            changes[key] = value
        elif key == "training_classes":
            if value not in CLASS_SETS:
                raise ConfigError(f"--ssl {spec!r}: training_classes must be one of {', '.join(CLASS_SETS)}, got {value!r}")
            changes["training_classes"] = value
        elif key == "heads":
            changes["heads"] = tuple(h for h in str(value).split("/") if h)
        elif "." in key:
            component, _, name = key.partition(".")
            if component not in components or not name:
                raise ConfigError(f"--ssl {spec!r}: option {key!r} is for {component!r}, which is not a component of "
                                  f"this system (components: {', '.join(components)})")
            component_options.setdefault(component, {})[name] = value
        else:
            raise ConfigError(f"--ssl {spec!r}: unknown option {key!r} (known: {', '.join(sorted(TOP_LEVEL_OPTIONS | set(LOSS_OPTIONS)))}, training_classes, "
                              "heads, <component>.<option>)")
    return replace(system, options=component_options, **changes)


def _chosen_losses(system: SystemSpec, options: dict[str, Any], spec: str) -> dict[str, str]:
    """Head -> loss plugin after the spec's ``loss`` / ``regular_loss`` / ``ssl_loss`` options."""
    losses = dict(system.losses)
    registered = get_registry().components["loss"]
    for key, heads in LOSS_OPTIONS.items():
        if key not in options:
            continue
        name = options[key]
        if not isinstance(name, str) or name not in registered:
            raise ConfigError(f"--ssl {spec!r}: option {key}: unknown loss {name!r} (known: {', '.join(sorted(registered))})")
        losses.update(dict.fromkeys(heads, name))
    return losses


def build_augmenters(system: SystemSpec) -> list[Augmenter]:
    """Instantiate the system's augmenters with their options and let each see the pipeline."""
    registry = get_registry()
    instances: list[Augmenter] = []
    for name in system.augmenters:
        component = registry.get("augmenter", name)
        try:
            instance = component.factory(**system.options.get(name, {}))
        except TypeError as exc:
            raise ConfigError(f"augmenter {name!r}: bad option ({exc})") from exc
        instances.append(instance)
    for instance in instances:
        instance.bind(instances)
    return instances


def label_factor(augmenters: list[Augmenter]) -> int:
    return math.prod(int(a.factor) for a in augmenters)


def _normalise_heads(system: SystemSpec, spec: str) -> SystemSpec:
    unknown = set(system.heads) - set(HEAD_TOKENS)
    if unknown:
        raise ConfigError(f"--ssl {spec!r}: unknown head(s) {sorted(unknown)}")
    try:
        factor = label_factor(build_augmenters(system))
    except PluginError:
        raise
    heads = set(system.heads)
    if factor > 1:
        heads.add("ssl")
    else:
        heads.discard("ssl")
        heads.add("regular")
    if not heads:
        heads.add("regular")
    return replace(system, heads=tuple(h for h in HEAD_TOKENS if h in heads))


def describe_system(spec: str, system: SystemSpec) -> dict[str, Any]:
    """A JSON-able record of the resolved system (for run.json and ``asdbench describe system``)."""
    augmenters = build_augmenters(system)
    return {
        "spec": spec,
        "augmenters": [{"name": name, "stage": a.stage, "factor": int(a.factor), "options": _jsonable(a.options())}
                       for name, a in zip(system.augmenters, augmenters, strict=True)],
        "heads": list(system.heads),
        "ssl_label_factor": label_factor(augmenters),
        "ssl_class_labels": system.ssl_class_labels,
        "ssl_trainable_centres": system.ssl_trainable_centres,
        "training_classes": system.training_classes,
        "losses": {head: system.losses[head] for head in system.heads if head in system.losses},
        "options": _jsonable(system.options),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


# -- assembling what a system trains (the one place that turns names into objects) ------------

def build_embedder(name: str, options: dict[str, Any], system: SystemSpec, clip_samples: int) -> Embedder:
    """The embedder a system trains: the run's options, overridden by the system's ``embedder.*``
    options (also what ``asdbench score`` rebuilds before loading ``weights.pt``)."""
    return resolve("embedder", name).factory(clip_samples, **{**options, **system.options.get("embedder", {})})


def build_head(system: SystemSpec, head: str, embedding_dim: int, n_classes: int, trainable: bool,
               loss: str, loss_options: dict[str, Any]) -> Any:
    """The loss head ``head``: the system's loss for it (``loss=adaproj`` in the spec) or the run's
    ``loss``.

    Options, later ones winning: the run's ``loss_options`` (only when the head uses the run's
    loss), the spec's ``loss.<option>`` (every head) and ``<loss name>.<option>`` (that loss only).
    """
    name = system.losses.get(head, loss)
    options = {**(loss_options if name == loss else {}), **system.options.get("loss", {}),
               **system.options.get(name, {})}
    return resolve("loss", name).factory(embedding_dim, n_classes, trainable, **options)


def build_training_model(system: SystemSpec, clip_samples: int, n_classes: int, *, seed: int = 0,
                         embedder: str = "two-branch", embedder_options: dict[str, Any] | None = None,
                         loss: str = "sub-cluster-adacos", loss_options: dict[str, Any] | None = None,
                         init_weights: str | Path | None = None) -> tuple[TrainingModel, AugmenterPipeline]:
    """Embedder + heads + augmenter pipeline of a system, initialised from ``seed``: the regular
    head has ``n_classes`` classes with frozen centres, the SSL head ``n_classes * prod(factors)``
    (or only the pseudo-classes without class labels). ``init_weights`` then replaces the
    embedder's initial weights (:func:`load_initial_weights`)."""
    import torch

    from .training.pipeline import AugmenterPipeline
    from .training.trainer import TrainingModel

    torch.manual_seed(seed)
    net = build_embedder(embedder, dict(embedder_options or {}), system, clip_samples)
    augmenters = build_augmenters(system)
    heads: dict[str, Any] = {}
    if "regular" in system.heads:
        heads["regular"] = build_head(system, "regular", net.embedding_dim, n_classes, False, loss, dict(loss_options or {}))
    if "ssl" in system.heads:
        base = n_classes if system.ssl_class_labels else 1
        heads["ssl"] = build_head(system, "ssl", net.embedding_dim, base * label_factor(augmenters),
                                  system.ssl_trainable_centres, loss, dict(loss_options or {}))
    if init_weights is not None:
        load_initial_weights(net, Path(init_weights))
    return TrainingModel(net, heads, system.ssl_class_labels), AugmenterPipeline(augmenters)


def load_initial_weights(embedder: Embedder, path: Path) -> None:
    """Start from given embedder weights: a ``.npz`` in the Keras key scheme of the author's code
    (:mod:`asdbench.model.keras_import`) or a ``.pt`` state_dict (e.g. a trial's ``weights.pt``).
    A file that does not fit the embedder is a ``ConfigError`` naming it."""
    import torch

    if path.suffix == ".npz":
        from .model.keras_import import load_keras_weights
        from .model.two_branch import TwoBranchEmbedder

        if not isinstance(embedder, TwoBranchEmbedder):
            raise ConfigError(f"--init-weights {path}: Keras weights fit the two-branch embedder only")
        load_keras_weights(embedder, path)
        return
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        embedder.load_state_dict(state)
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--init-weights {path}: not an embedder state_dict of this system ({first})") from None
