"""asdbench-ssl: the SSL strategies of Wilkinghoff (ICASSP 2024) as an asdbench plugin.

Augmenters ``mixup`` (waveform), ``statex`` (spectrogram) and ``featex`` (sub-embeddings), and the
named systems of the paper's Tables 1 and 2. Registered through the ``asdbench`` entry-point
group (``asdbench_ssl.plugin``), exactly as any third-party strategy would be.
"""

from __future__ import annotations

from .featex import FeatEx
from .labels import exchange_labels
from .mixup import Mixup
from .statex import StatEx, exchange_statistics

__version__ = "0.1.0"

__all__ = ["FeatEx", "Mixup", "StatEx", "exchange_labels", "exchange_statistics", "__version__"]
