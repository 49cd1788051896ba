"""Neural networks: the two-branch embedder of the reference system and its building blocks."""

from .frontend import MagnitudeSTFT, magnitude_spectrum, stft_frames
from .tf_same import Conv1dSame, Conv2dSame, MaxPool2dSame, same_padding
from .two_branch import TwoBranchEmbedder

__all__ = [
    "Conv1dSame",
    "Conv2dSame",
    "MagnitudeSTFT",
    "MaxPool2dSame",
    "TwoBranchEmbedder",
    "magnitude_spectrum",
    "same_padding",
    "stft_frames",
]
