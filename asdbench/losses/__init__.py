"""Loss heads: sub-cluster AdaCos, plain AdaCos and softmax cross-entropy (Keras semantics)."""

from .adacos import AdaCos, SubClusterAdaCos, initial_scale
from .crossentropy import keras_categorical_crossentropy
from .softmax import SoftmaxCrossEntropy

__all__ = ["AdaCos", "SoftmaxCrossEntropy", "SubClusterAdaCos", "initial_scale", "keras_categorical_crossentropy"]
