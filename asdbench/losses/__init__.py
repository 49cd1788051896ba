"""Loss heads: sub-cluster AdaCos, plain AdaCos, AdaProj, ArcFace and softmax cross-entropy."""

from .adacos import AdaCos, SubClusterAdaCos, initial_scale
from .adaproj import AdaProj
from .arcface import ArcFace
from .crossentropy import keras_categorical_crossentropy
from .softmax import SoftmaxCrossEntropy

__all__ = ["AdaCos", "AdaProj", "ArcFace", "SoftmaxCrossEntropy", "SubClusterAdaCos", "initial_scale", "keras_categorical_crossentropy"]
