"""Weights of the author's Keras model (ssl4asd) loaded into the two-branch embedder.

Why: the published code produced the paper's numbers, so its weights are the ground truth for
equivalence tests, and people who trained with it can move their models to asdbench to extract,
score and evaluate. The key scheme is the one of ``shared/reference/keras-two-branch.npz``:
Keras layer kinds numbered in creation order (``conv2d_0`` is the first ``Conv2D`` the script
creates), Keras layouts (docs/fidelity.md shows the few lines of Keras that export it):

* ``w/conv1d_K``: (kernel, in, out); ``w/conv2d_K``: (height = time, width = frequency, in, out)
* ``w/dense_K``, ``w/emb_fft``, ``w/emb_mel``, ``w/se_K_L2``, ``w/se_K_L3``: (in, out)
* ``w/bn_K_{gamma,beta,mean,var,eps}``: (n,)

:func:`keras_parameter_table` is the one table from those names to module parameters; every
layout conversion is one of the four converters below it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from .two_branch import TwoBranchEmbedder

PREFIX = "w/"
BN_FIELDS = {"gamma": "weight", "beta": "bias", "mean": "running_mean", "var": "running_var"}


def _conv1d(a: np.ndarray) -> np.ndarray:  # (k, in, out) -> (out, in, k)
    return a.transpose(2, 1, 0)


def _conv2d(a: np.ndarray) -> np.ndarray:  # (kh, kw, in, out) -> (out, in, kh, kw)
    return a.transpose(3, 2, 0, 1)


def _dense(a: np.ndarray) -> np.ndarray:  # (in, out) -> (out, in)
    return a.T


def _same(a: np.ndarray) -> np.ndarray:
    return a


CONVERTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "conv1d": _conv1d, "conv2d": _conv2d, "dense": _dense, "bn": _same,
}


def keras_parameter_table(embedder: TwoBranchEmbedder) -> dict[str, tuple[str, str]]:
    """``{keras key: (state_dict key, converter)}`` for every weight of ``embedder``.

    Creation order of the published script: spectrum branch (3 Conv1D + SE, 4 Dense + BN,
    ``emb_fft``), then the spectrogram branch (input BN, stem conv + BN, then per residual unit
    its leading BN, conv1, middle BN, conv2, SE and shortcut conv), head BN, ``emb_mel``. The
    pre-fix variant (``stage2_first_unit_bn="input"``) has the same layers; a network without SE
    has fewer, and the numbering follows its own creation order.
    """
    table: dict[str, tuple[str, str]] = {}
    counters = {"conv1d": 0, "conv2d": 0, "dense": 0, "bn": 0, "se": 0}

    def add(kind: str, module_name: str) -> None:
        index = counters[kind]
        counters[kind] += 1
        if kind == "bn":
            for field, attr in BN_FIELDS.items():
                table[f"{PREFIX}bn_{index}_{field}"] = (f"{module_name}.{attr}", "bn")
        elif kind == "se":
            table[f"{PREFIX}se_{index}_L2"] = (f"{module_name}.reduce.weight", "dense")
            table[f"{PREFIX}se_{index}_L3"] = (f"{module_name}.expand.weight", "dense")
        else:
            table[f"{PREFIX}{kind}_{index}"] = (f"{module_name}.weight", kind)

    spectrum = embedder.spectrum
    for k, se in enumerate(spectrum.se):
        add("conv1d", f"spectrum.convs.{k}")
        if not isinstance(se, torch.nn.Identity):
            add("se", f"spectrum.se.{k}")
    for k in range(len(spectrum.dense)):
        add("dense", f"spectrum.dense.{k}")
        add("bn", f"spectrum.bn.{k}")
    table[f"{PREFIX}emb_fft"] = ("spectrum.out.weight", "dense")
    add("bn", "spectrogram.input_bn")
    add("conv2d", "spectrogram.stem_conv")
    add("bn", "spectrogram.stem_bn")
    for k, unit in enumerate(embedder.spectrogram.units):
        name = f"spectrogram.units.{k}"
        if unit.pre_bn is not None:
            add("bn", f"{name}.pre_bn")
        add("conv2d", f"{name}.conv1")
        if unit.bn is not None:
            add("bn", f"{name}.bn")
        add("conv2d", f"{name}.conv2")
        if unit.se is not None:
            add("se", f"{name}.se")
        if unit.shortcut is not None:
            add("conv2d", f"{name}.shortcut.1")
    add("bn", "spectrogram.head_bn")
    table[f"{PREFIX}emb_mel"] = ("spectrogram.out.weight", "dense")
    return table


def load_keras_weights(embedder: TwoBranchEmbedder, weights: Mapping[str, np.ndarray] | str | Path,
                       source: str = "") -> TwoBranchEmbedder:
    """Copy Keras-named weights into ``embedder`` (in place; returned for chaining).

    ``weights``: a mapping or the path of an ``.npz`` file in the key scheme above. Every
    parameter and batch-norm statistic of the embedder must be present with the right shape, and
    every batch norm's ``eps`` (when given) must equal the embedder's: otherwise a ``ConfigError``
    names the key, so a model of another size or variant is never loaded half-way.
    """
    if isinstance(weights, (str, Path)):
        source = source or str(weights)
        try:
            with np.load(weights, allow_pickle=False) as archive:
                weights = {k: archive[k] for k in archive.files}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{weights}: not a readable .npz file of Keras weights ({exc})") from exc
    where = f"{source}: " if source else ""
    state = embedder.state_dict()
    table = keras_parameter_table(embedder)
    missing = [k for k in table if k not in weights]
    if missing:
        raise ConfigError(f"{where}missing Keras weight(s) {', '.join(missing[:4])}"
                          f"{' ...' if len(missing) > 4 else ''} ({len(missing)} of {len(table)})")
    converted: dict[str, torch.Tensor] = {}
    for key, (target, kind) in table.items():
        value = CONVERTERS[kind](np.asarray(weights[key], dtype=np.float32))
        expected = tuple(state[target].shape)
        if value.shape != expected:
            raise ConfigError(f"{where}{key} has shape {value.shape} after conversion, {target} needs {expected} "
                              f"(a model of another clip length or variant?)")
        converted[target] = torch.from_numpy(np.ascontiguousarray(value))
    _check_eps(embedder, table, weights, where)
    with torch.no_grad():
        for target, value in converted.items():
            state[target].copy_(value)
    return embedder


def _check_eps(embedder: TwoBranchEmbedder, table: dict[str, tuple[str, str]],
               weights: Mapping[str, np.ndarray], where: str) -> None:
    modules = dict(embedder.named_modules())
    for key, (target, _) in table.items():
        if not key.endswith("_gamma"):
            continue
        eps_key = key[: -len("gamma")] + "eps"
        if eps_key in weights:
            bn = modules[target.rsplit(".", 1)[0]]
            if not np.isclose(float(weights[eps_key]), bn.eps, rtol=1e-6):
                raise ConfigError(f"{where}{eps_key} = {float(weights[eps_key])} but the embedder's batch norm "
                                  f"uses eps = {bn.eps}")


def embedder_from_keras(weights: Mapping[str, np.ndarray] | str | Path, clip_samples: int,
                        **options: object) -> TwoBranchEmbedder:
    """A two-branch embedder of ``clip_samples`` built with ``options`` and Keras weights loaded."""
    return load_keras_weights(TwoBranchEmbedder(clip_samples, **options), weights)


REFERENCE_STAGES = ("spectrum", "spectrogram", "spectrogram_tmn", "spectrum_flat", "spectrogram_flat",
                    *[f"unit_mean/{k}" for k in range(8)], "emb_fft", "emb_mel", "embedding")
"""The inference stages ``keras-two-branch.npz`` records under ``eval/`` (its README)."""


@torch.no_grad()
def reference_stages(model: TwoBranchEmbedder, wave: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every stage of :data:`REFERENCE_STAGES` from one pass of ``model`` (in its current mode)
    over ``wave``, captured with hooks, for comparison with the reference's recorded outputs."""
    out: dict[str, torch.Tensor] = {}
    net = model.spectrogram
    batch = wave.shape[0]
    hooks = [
        model.spectrum.dense[0].register_forward_pre_hook(lambda _m, a: out.__setitem__("spectrum_flat", a[0].clone())),
        net.head_bn.register_forward_pre_hook(lambda _m, a: out.__setitem__("spectrogram_flat", a[0].clone())),
        net.input_bn.register_forward_pre_hook(  # input (B*T, F) after TMN
            lambda _m, a: out.__setitem__("spectrogram_tmn", a[0].reshape(batch, -1, a[0].shape[-1]).clone())),
    ]
    for k, unit in enumerate(net.units):
        hooks.append(unit.register_forward_hook(
            lambda _m, _a, y, k=k: out.__setitem__(f"unit_mean/{k}", y.float().mean(dim=(2, 3)))))
    try:
        features = model.features(wave)
        sub = model.encode(features)
    finally:
        for h in hooks:
            h.remove()
    out.update(spectrum=features["spectrum"], spectrogram=features["spectrogram"], emb_fft=sub["spectrum"],
               emb_mel=sub["spectrogram"], embedding=model.combine(sub))
    return out
