"""The data layer: DCASE file names, audio decoding, dataset folders, the decoded-clip cache and
batch loading. Import the submodules (``asdbench.data.dcase``, ``.cache``, ``.loader``, ...)."""
