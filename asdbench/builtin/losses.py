"""Built-in loss heads: sub-cluster AdaCos, plain AdaCos, AdaProj, ArcFace, softmax cross-entropy (factories in
:mod:`.networks`, imported when one is first built; ``describe`` reads each class's options from source)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import lazy

LOSSES: dict[str, tuple[str, str]] = {
    "sub-cluster-adacos": ("asdbench.losses.adacos:SubClusterAdaCos",
                           "Sub-cluster AdaCos (16 sub-clusters per class, adaptive scale, reference quirk by default)."),
    "adacos": ("asdbench.losses.adacos:AdaCos", "Plain AdaCos: one centre per class, adaptive scale."),
    "adaproj": ("asdbench.losses.adaproj:AdaProj",
                "AdaProj: cosine to the projection onto a subspace per class (dim 32, frozen by default), adaptive scale."),
    "arcface": ("asdbench.losses.arcface:ArcFace",
                "ArcFace: additive angular margin (m 0.5) on the labelled class, fixed scale (s 64)."),
    "softmax": ("asdbench.losses.softmax:SoftmaxCrossEntropy", "Softmax cross-entropy with a bias-free linear classifier."),
}
"""name -> (the head's class, one line): the one table of the built-in losses."""


def factory_name(name: str) -> str:
    return name.replace("-", "_")


@hookimpl
def register_losses(register):
    for name, (cls, doc) in LOSSES.items():
        register(name, lazy(f"asdbench.builtin.networks:{factory_name(name)}", doc, signature_of=cls), doc)
