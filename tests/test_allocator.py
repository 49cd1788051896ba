"""Choosing the memory allocator (asdbench/allocator.py): detection, the ASDBENCH_MALLOC
choices, and the re-execution of the asdbench command under it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from asdbench import allocator
from asdbench.allocator import (
    ENV,
    JEMALLOC_CONF,
    allocator_name,
    find_allocator,
    find_preferred,
    loaded_allocator,
    preload_choice,
    preload_environment,
    without_allocator,
)
from asdbench.errors import ConfigError

PREFERRED = find_preferred()
needs_allocator = pytest.mark.skipif(
    PREFERRED is None or not os.path.isabs(PREFERRED) or not sys.platform.startswith("linux"),
    reason="neither jemalloc nor tcmalloc is installed (Debian: libjemalloc2, libtcmalloc-minimal4)")
PREFERRED_NAME = allocator_name(PREFERRED) if PREFERRED else None

MAPS = """\
7f00-7f01 r-xp 00000000 fe:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6
7f02-7f03 r-xp 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10
7f04-7f05 rw-p 00000000 00:00 0
"""


def test_loaded_allocator_names_the_serving_one_and_its_library():
    assert loaded_allocator(MAPS, "tcmalloc") == {"name": "tcmalloc",
                                                  "path": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10"}
    deleted = MAPS.replace("libtcmalloc_minimal.so.4.5.10", "libjemalloc.so.2 (deleted)")  # after an upgrade
    assert loaded_allocator(deleted, "jemalloc") == {"name": "jemalloc", "path": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}
    assert loaded_allocator(MAPS, "jemalloc") == {"name": "jemalloc"}  # serving, but no library mapped by that name
    assert loaded_allocator(MAPS, "system") == {"name": "system"}  # a mapped copy that does not serve malloc
    assert allocator_name("/x/libjemalloc.so.2") == "jemalloc" and allocator_name("/x/libc.so.6") is None


def test_this_test_process_runs_under_its_own_allocator():
    expected = allocator_name(os.environ.get("LD_PRELOAD", "").split(":")[0]) or "system"
    assert loaded_allocator()["name"] == expected


def test_find_allocator_looks_in_the_library_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda name: None)
    assert find_allocator("tcmalloc", (str(tmp_path),)) is None
    (tmp_path / "libtcmalloc.so.4").write_bytes(b"")
    assert find_allocator("tcmalloc", (str(tmp_path),)) == str(tmp_path / "libtcmalloc.so.4")
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")  # the minimal build comes first
    assert find_allocator("tcmalloc", (str(tmp_path),)) == str(tmp_path / "libtcmalloc_minimal.so.4")
    assert find_allocator("jemalloc", (str(tmp_path),)) is None
    (tmp_path / "libjemalloc.so.2").write_bytes(b"")
    assert find_allocator("jemalloc", (str(tmp_path),)) == str(tmp_path / "libjemalloc.so.2")


def test_preload_choice(tmp_path, monkeypatch):
    installed = {"jemalloc": "/lib/libjemalloc.so.2", "tcmalloc": "/lib/libtcmalloc_minimal.so.4"}
    monkeypatch.setattr(allocator, "find_allocator", lambda name: installed.get(name))
    assert preload_choice({}) == "/lib/libjemalloc.so.2"  # jemalloc first
    assert preload_choice({ENV: "auto"}) == "/lib/libjemalloc.so.2"
    assert preload_choice({ENV: "tcmalloc"}) == "/lib/libtcmalloc_minimal.so.4"
    assert preload_choice({ENV: "system"}) is None
    assert preload_choice({"LD_PRELOAD": "/x/libjemalloc.so.2"}) is None  # the user chose one already
    assert preload_choice({"LD_PRELOAD": "/x/libasan.so.8"}) is None  # or preloads something else
    assert preload_choice({"_ASDBENCH_MALLOC_REEXEC": "1"}) is None  # never twice
    lib = tmp_path / "libmimalloc.so"
    lib.write_bytes(b"")
    assert preload_choice({ENV: str(lib)}) == str(lib)
    with pytest.raises(ConfigError, match=r"^ASDBENCH_MALLOC=/nowhere/lib.so: no such file \(use auto, jemalloc"):
        preload_choice({ENV: "/nowhere/lib.so"})
    del installed["jemalloc"]
    assert preload_choice({}) == "/lib/libtcmalloc_minimal.so.4"  # the next one
    with pytest.raises(ConfigError, match=r"^ASDBENCH_MALLOC=jemalloc: jemalloc is not installed \(Debian/Ubuntu: "
                                          r"apt-get install libjemalloc2\)$"):
        preload_choice({ENV: "jemalloc"})
    installed.clear()
    assert preload_choice({}) is None  # none installed: glibc it is


def test_preload_environment_puts_the_library_first():
    env = preload_environment({"PATH": "/bin", "LD_PRELOAD": "/a.so"}, "/t.so")
    assert env["LD_PRELOAD"] == "/t.so:/a.so" and env["PATH"] == "/bin" and env["_ASDBENCH_MALLOC_REEXEC"] == "1"
    assert "MALLOC_CONF" not in env
    assert preload_environment({}, "/t.so")["LD_PRELOAD"] == "/t.so"
    assert preload_environment({}, "/lib/libjemalloc.so.2")["MALLOC_CONF"] == JEMALLOC_CONF
    assert preload_environment({"MALLOC_CONF": "narenas:1"}, "/lib/libjemalloc.so.2")["MALLOC_CONF"] == "narenas:1"


def _clean_env(**extra: str) -> dict[str, str]:
    return {**without_allocator(os.environ), **extra}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocator is only chosen on Linux")
def test_bad_choice_is_one_line_and_exit_code_2():
    # Only the commands that train or embed (run, score) choose an allocator; --help of one is enough.
    result = subprocess.run([sys.executable, "-m", "asdbench", "score", "--help"], env=_clean_env(ASDBENCH_MALLOC="/nowhere.so"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: ASDBENCH_MALLOC=/nowhere.so: no such file (use auto, jemalloc, tcmalloc, system or the path of "
        "an allocator library such as libjemalloc.so.2)"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's loader message is checked")
def test_command_reexecutes_once_under_the_chosen_library(tmp_path):
    """A file that is no library: the loader says so and ignores it, the guard prevents a second
    re-execution, and the command's own output and exit code are intact."""
    fake = tmp_path / "libnot-an-allocator.so"
    fake.write_text("not an ELF file\n")
    result = subprocess.run([sys.executable, "-m", "asdbench", "run", "--help"], env=_clean_env(ASDBENCH_MALLOC=str(fake)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m asdbench run")
    assert str(fake) in result.stderr and result.stderr.count("cannot be preloaded") == 1
    # Commands that do not compute start without the re-execution (asdbench/launcher.py).
    quick = subprocess.run([sys.executable, "-m", "asdbench", "--version"], env=_clean_env(ASDBENCH_MALLOC=str(fake)),
                           capture_output=True, text=True, timeout=120)
    assert quick.returncode == 0 and quick.stdout.strip().endswith(", version 0.1.0") and quick.stderr == ""


CHILD = """
import json
from asdbench.allocator import loaded_allocator
from asdbench.allocator import host_memory_reuse
with host_memory_reuse() as active:
    pass
print(json.dumps([loaded_allocator()["name"], active]))
"""


@needs_allocator
def test_host_memory_reuse_leaves_other_allocators_alone():
    out = subprocess.run([sys.executable, "-c", CHILD], env=_clean_env(LD_PRELOAD=PREFERRED), capture_output=True,
                         text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [PREFERRED_NAME, False]


@needs_allocator
def test_launcher_reexecutes_under_the_preferred_allocator(tmp_path):
    launcher = tmp_path / "launch.py"
    launcher.write_text("from asdbench.allocator import loaded_allocator, reexec_with_preferred_allocator\n"
                        "import os\nreexec_with_preferred_allocator()\n"
                        "print(loaded_allocator()['name'], os.environ.get('MALLOC_CONF'))\n")
    out = subprocess.run([sys.executable, str(launcher)], env=_clean_env(), capture_output=True, text=True, timeout=120)
    conf = JEMALLOC_CONF if PREFERRED_NAME == "jemalloc" else None
    assert out.returncode == 0 and out.stdout.split() == [PREFERRED_NAME, str(conf)], out.stderr
    if PREFERRED_NAME == "jemalloc":  # preloaded by the user without MALLOC_CONF: re-executed to set it
        out = subprocess.run([sys.executable, str(launcher)], env=_clean_env(LD_PRELOAD=PREFERRED),
                             capture_output=True, text=True, timeout=120)
        assert out.stdout.split() == ["jemalloc", JEMALLOC_CONF], out.stderr
    out = subprocess.run([sys.executable, str(launcher)], env=_clean_env(ASDBENCH_MALLOC="system"), capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["system", "None"]


TRAIN = """
import hashlib, json
import numpy as np, torch
from asdbench.allocator import loaded_allocator
from asdbench.systems import resolve_system
from asdbench.testing import train_system
from asdbench.training.trainer import TrainConfig
rng = np.random.default_rng(0)
waves = (0.3 * rng.standard_normal((16, 8000))).astype(np.float32)
ids = np.arange(16) % 4
config = TrainConfig(epochs=1, batch_size=8, seed=3, device="cpu", precision="PRECISION")
model = train_system("combined", lambda idx: waves[np.asarray(idx)], ids, 4, 8000, config)
digest = hashlib.sha256(b"".join(t.detach().numpy().tobytes() for t in model.state_dict().values())).hexdigest()
print(json.dumps([loaded_allocator()["name"], digest]))
"""


@needs_allocator
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_is_bit_identical_under_the_preferred_allocator(precision):
    """The allocator changes speed and memory, never a number."""
    script = TRAIN.replace("PRECISION", precision)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                      check=True, timeout=300).stdout.strip().splitlines()[-1])
            for env in (_clean_env(ASDBENCH_MALLOC="system"), preload_environment(_clean_env(), PREFERRED))]
    assert [name for name, _ in runs] == ["system", PREFERRED_NAME]
    assert runs[0][1] == runs[1][1]
