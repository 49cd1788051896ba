"""Built-in loss heads: sub-cluster AdaCos, plain AdaCos, AdaProj, ArcFace, softmax cross-entropy (factories in
:mod:`.networks`, imported when one is first built)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_losses(register):
    register("sub-cluster-adacos", lazy("asdbench.builtin.networks:sub_cluster_adacos"),
             "Sub-cluster AdaCos (16 sub-clusters per class, adaptive scale, reference quirk by default).")
    register("adacos", lazy("asdbench.builtin.networks:adacos"), "Plain AdaCos: one centre per class, adaptive scale.")
    register("adaproj", lazy("asdbench.builtin.networks:adaproj"),
             "AdaProj: cosine to the projection onto a subspace per class (dim 32, frozen by default), adaptive scale.")
    register("arcface", lazy("asdbench.builtin.networks:arcface"),
             "ArcFace: additive angular margin (m 0.5) on the labelled class, fixed scale (s 64).")
    register("softmax", lazy("asdbench.builtin.networks:softmax"),
             "Softmax cross-entropy with a bias-free linear classifier.")
