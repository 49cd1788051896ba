"""Generate-once storage of the synthetic benchmark under ``<asdbench home>/synthetic/``.

Concurrency: a tree is generated in a private temporary folder next to its final place and
moved there with one rename, so readers only ever see finished trees, and two processes that
race both end up using one complete tree. A temporary folder left by a killed process (same
host, process gone) is claimed and resumed by the next caller instead of starting over.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from pathlib import Path

from ..data.paths import asdbench_home
from ..errors import DataError
from .presets import Preset, get_preset
from .version import GENERATOR_VERSION
from .writer import Progress, generate, is_complete, read_meta


def cache_dir(preset: str | Preset = "quick", seed: int = 0, home: Path | None = None) -> Path:
    """Where ``ensure_synthetic`` keeps a (preset, seed): ``<home>/synthetic/<preset>-seed<seed>-v<version>``."""
    name = get_preset(preset).name
    return Path(home if home is not None else asdbench_home()) / "synthetic" / f"{name}-seed{seed}-v{GENERATOR_VERSION}"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would not probe on Windows: never claim there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_or_create(final: Path) -> Path:
    """A temporary folder for this process: a dead process's leftover if there is one."""
    mine = final.parent / f".{final.name}.tmp-{_host()}-{os.getpid()}"
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.tmp-{re.escape(_host())}-(\d+)$")
    for cand in sorted(final.parent.glob(f".{final.name}.tmp-*")):
        m = pattern.match(cand.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                os.rename(cand, mine)
                return mine
            except OSError:
                continue  # another process claimed it first
    mine.mkdir(parents=True, exist_ok=True)
    return mine


def _install(tmp: Path, final: Path, preset: Preset, seed: int) -> None:
    """Move the finished ``tmp`` to ``final``; an unfinished (or stale) ``final`` is replaced, a
    finished one of the same parameters (another process won the race) is kept, ``tmp`` dropped."""
    for _ in range(5):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if is_complete(final, preset, seed):
                shutil.rmtree(tmp, ignore_errors=True)
                return
            trash = final.parent / f".{final.name}.trash-{uuid.uuid4().hex}"
            try:
                os.rename(final, trash)
            except FileNotFoundError:
                continue
            shutil.rmtree(trash, ignore_errors=True)
    raise DataError(f"{final}: could not move the generated synthetic data into place")


def ensure_synthetic(
    preset: str | Preset = "quick",
    seed: int = 0,
    home: Path | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """The root of the synthetic benchmark for (preset, seed), generated on first use.

    Lives in ``<home or asdbench_home()>/synthetic/<preset>-seed<seed>-v<version>/``; reused
    while its completion marker is there; regenerated when it is missing (e.g. a half-written
    tree). Safe to call from several processes at once; an interrupted generation is resumed
    by the next call.
    """
    p = get_preset(preset)
    final = cache_dir(p, seed, home)
    if is_complete(final, p, seed):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _claim_or_create(final)
    if _foreign(tmp, p, seed):
        shutil.rmtree(tmp)
        tmp.mkdir()
    # an interrupted run leaves ``tmp`` behind on purpose: the next call takes it over and resumes
    generate(tmp, p, seed, workers=workers, progress=progress)
    _install(tmp, final, p, seed)
    return final


def _foreign(tmp: Path, preset: Preset, seed: int) -> bool:
    """True when a claimed leftover holds other parameters (then it is wiped, not resumed)."""
    meta = read_meta(tmp)
    if meta is None:
        return any(tmp.iterdir())
    return meta.get("preset_config") != preset.to_dict() or meta.get("seed") != seed or meta.get("generator_version") != GENERATOR_VERSION
