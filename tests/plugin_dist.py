"""A throw-away plugin distribution on disk: a module and its ``.dist-info`` with the entry point,
i.e. what ``pip install --target FOLDER`` leaves, so that any process with FOLDER on its path
(a worker process, a Ray worker that got FOLDER as its working directory) loads it."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_plugin_dist(folder: Path, module: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(code))
    distribution = module.replace("_", "-")
    info = folder / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\n{module.removeprefix('asdbench_')} = {module}\n")
    return folder
