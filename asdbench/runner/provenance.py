"""What made a number: versions of everything that can change one, and the git commit asdbench
runs from (recorded in run.json by the driver and in trial.json by the process that trains)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def versions() -> dict[str, Any]:
    """Versions of everything that can change a number: asdbench, torch, numpy, every plugin;
    and the memory allocator (it changes speed and memory, never a number)."""
    import numpy
    import sklearn
    import torch

    from ..allocator import loaded_allocator
    from ..plugins import describe_plugins
    from ..version import __version__

    plugins = {}
    for row in describe_plugins():
        plugins[row["name"]] = {"distribution": row["distribution"], "version": row["version"], "status": row["status"]}
    return {"asdbench": __version__, "asdbench_git": source_revision(), "torch": torch.__version__,
            "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "allocator": loaded_allocator(), "plugins": plugins}


def source_revision() -> dict[str, Any] | None:
    """The git commit asdbench runs from (and whether it has uncommitted changes), for installs
    from a checkout (``pip install -e``), where the version number alone does not say which code
    made a number; None for installed releases or without git."""
    root = Path(__file__).resolve().parents[2]
    try:
        top, commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                                     capture_output=True, text=True, timeout=10, check=True).stdout.splitlines()
        if Path(top).resolve() != root:  # e.g. a site-packages inside some other repository
            return None
        changes = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return {"commit": commit, "dirty": bool(changes.strip())}


def trial_runtime(device: str) -> dict[str, Any]:
    """Where and how a trial ran, as the process that trains it sees it: host, device, thread
    count and versions of asdbench, torch and the plugins (these change numbers). A Ray worker
    may differ from the driver in any of them."""
    import torch

    from ..training.device import pick_device

    chosen = pick_device(device)
    name = torch.cuda.get_device_name(chosen) if chosen.type == "cuda" else platform.processor() or platform.machine()
    return {"host": socket.gethostname(), "pid": os.getpid(), "device": str(chosen), "device_name": name,
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "versions": versions()}
