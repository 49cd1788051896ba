"""Hook specifications: the whole plugin surface of asdbench.

Every hook receives a ``register`` callable. A plugin calls it once per component:
``register(name, factory, description=None)``. ``description`` defaults to the first line of the
factory's docstring. Built-in components use exactly these hooks (see ``asdbench.builtin``).
The reference for each hook, with its exact signature, is ``docs/plugin_hooks.md``; a test fails
when a hook is missing there.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("asdbench")
hookimpl = pluggy.HookimplMarker("asdbench")


@hookspec
def register_datasets(register):
    """Register dataset factories: ``factory(root, **options) -> asdbench.components.Dataset``."""


@hookspec
def register_embedders(register):
    """Register embedder factories: ``factory(clip_samples, **options) -> Embedder`` (a torch module)."""


@hookspec
def register_augmenters(register):
    """Register augmenter (SSL strategy) classes: ``factory(**options) -> Augmenter``."""


@hookspec
def register_losses(register):
    """Register loss-head factories: ``factory(embedding_dim, n_classes, trainable, **options) -> LossHead``."""


@hookspec
def register_backends(register):
    """Register back-end factories: ``factory(**options) -> Backend`` (fit / score_samples)."""


@hookspec
def register_systems(register):
    """Register named systems (leaderboard rows): ``factory() -> SystemSpec``."""


@hookspec
def register_commands(cli):
    """Add click sub-commands to the ``asdbench`` command group ``cli``."""
