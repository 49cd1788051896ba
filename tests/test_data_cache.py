"""The decoded-clip cache (build once, reuse, invalidate, rebuild); training reads it with ClipCache.read."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from shared_data import VALVE  # noqa: E402

import asdbench.data.cache as cache_mod
from asdbench.data.audio import load_clip
from asdbench.data.cache import open_clip_cache
from asdbench.data.dcase import load_dataset
from asdbench.errors import ConfigError

pytestmark = pytest.mark.skipif(not VALVE.is_dir(), reason="real DCASE2023 valve clips not available")
N_CLIPS = 24


@pytest.fixture
def dataset(tmp_path: Path):
    """24 real valve clips (both domains, both labels) in a DCASE2023 tree."""
    test = tmp_path / "data" / "dev_data" / "raw" / "valve" / "test"
    test.mkdir(parents=True)
    for path in sorted(VALVE.glob("*.wav"))[:: 200 // N_CLIPS][:N_CLIPS]:
        shutil.copyfile(path, test / path.name)
    ds = load_dataset(tmp_path / "data", seed=11)
    assert len(ds.clips) == N_CLIPS
    return ds


@pytest.fixture
def decode_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the clips the cache decodes."""
    calls: list[str] = []

    def spy(clip, ds):
        calls.append(clip.path.name)
        return load_clip(clip, ds)

    monkeypatch.setattr(cache_mod, "load_clip", spy)
    return calls


def test_cache_holds_the_decoded_clips_in_order(dataset, tmp_path: Path, decode_spy: list[str]):
    cache = open_clip_cache(dataset, None, tmp_path / "cache")
    assert cache.built and len(decode_spy) == N_CLIPS
    assert cache.shape == (N_CLIPS, 288000) and cache.samples == 288000 and cache.dtype == "int16"
    assert isinstance(cache.data, np.memmap) and not cache.data.flags.writeable
    assert cache.data.dtype == np.int16 and cache.data.shape == (N_CLIPS, 288000)
    expected = np.stack([load_clip(c, dataset) for c in dataset.clips])
    # int16 PCM sources round-trip exactly through the int16 cache
    np.testing.assert_array_equal(cache.read(np.arange(N_CLIPS)), expected)
    idx = np.array([17, 3, 4, 5, 3, 0, 23])  # shuffled, with a run and a duplicate
    got = cache.read(idx)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected[idx])
    np.testing.assert_array_equal(cache.data[idx], cache.read_raw(idx))
    loaded = np.load(cache.path, mmap_mode="r")  # a plain .npy file
    assert loaded.shape == cache.shape
    manifest = json.loads(cache.manifest_path.read_text())
    assert manifest["complete"] is True and manifest["key"] == cache.key
    assert manifest["length_policy"] == {"mode": "tile_crop", "samples": 288000, "seed": 11}
    assert len(manifest["clips"]) == N_CLIPS
    assert not list((tmp_path / "cache").glob("*.tmp"))
    with pytest.raises(IndexError):
        cache.read([N_CLIPS])


def test_second_open_reads_the_cache_without_decoding(dataset, tmp_path: Path, decode_spy: list[str]):
    first = open_clip_cache(dataset, None, tmp_path / "cache")
    decode_spy.clear()
    second = open_clip_cache(dataset, None, tmp_path / "cache")
    assert decode_spy == [] and not second.built
    assert (second.path, second.key) == (first.path, first.key)
    np.testing.assert_array_equal(second.read([0, 5]), first.read([0, 5]))


def test_touching_a_file_makes_the_cache_stale(dataset, tmp_path: Path, decode_spy: list[str]):
    first = open_clip_cache(dataset, None, tmp_path / "cache")
    st = os.stat(dataset.clips[4].path)
    os.utime(dataset.clips[4].path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    decode_spy.clear()
    second = open_clip_cache(dataset, None, tmp_path / "cache")
    assert second.built and len(decode_spy) == N_CLIPS
    assert second.key != first.key and second.path == first.path  # same slot, rebuilt in place
    decode_spy.clear()
    assert not open_clip_cache(dataset, None, tmp_path / "cache").built and decode_spy == []


def test_other_policy_seed_or_dtype_is_another_cache(dataset, tmp_path: Path):
    import dataclasses

    a = open_clip_cache(dataset, None, tmp_path / "cache")
    reseeded = dataclasses.replace(dataset, length_policy=dataclasses.replace(dataset.length_policy, seed=12))
    b = open_clip_cache(reseeded, None, tmp_path / "cache")
    c = open_clip_cache(dataset, None, tmp_path / "cache", dtype="float16")
    assert len({a.key, b.key, c.key}) == 3 and b.built and c.built
    assert not np.array_equal(a.read([0]), b.read([0]))  # another crop
    assert c.data.dtype == np.float16
    np.testing.assert_allclose(c.read([1, 2]), a.read([1, 2]), atol=1e-3)
    with pytest.raises(ConfigError, match="bfloat"):
        open_clip_cache(dataset, None, tmp_path / "cache", dtype="bfloat")


@pytest.mark.parametrize("damage", ["truncate", "no_marker", "no_manifest", "header"])
def test_damaged_cache_is_detected_and_rebuilt(dataset, tmp_path: Path, decode_spy: list[str], damage: str):
    first = open_clip_cache(dataset, None, tmp_path / "cache")
    reference = first.read(np.arange(N_CLIPS))
    first.close()
    if damage == "truncate":
        with open(first.path, "r+b") as handle:
            handle.truncate(first.path.stat().st_size // 2)
    elif damage == "no_marker":
        manifest = json.loads(first.manifest_path.read_text())
        del manifest["complete"]
        first.manifest_path.write_text(json.dumps(manifest))
    elif damage == "no_manifest":
        first.manifest_path.unlink()
    else:
        with open(first.path, "r+b") as handle:
            handle.write(b"garbage!")
    decode_spy.clear()
    second = open_clip_cache(dataset, None, tmp_path / "cache")
    assert second.built and len(decode_spy) == N_CLIPS
    np.testing.assert_array_equal(second.read(np.arange(N_CLIPS)), reference)


def test_decode_failure_skips_the_clip_and_the_rest_is_cached(dataset, tmp_path: Path):
    from asdbench.data.audio import clip_key

    bad = dataset.clips[7]
    bad.path.write_bytes(b"")  # became unreadable after loading
    cache = open_clip_cache(dataset, None, tmp_path / "cache")
    assert list(cache.failed) == [clip_key(bad)] and str(bad.path) in cache.failed[clip_key(bad)]
    usable = cache.without_failed()
    assert len(usable) == N_CLIPS - 1 and bad not in usable.clips
    np.testing.assert_array_equal(usable.read([6, 7]), cache.read([6, 8]))  # rows after the bad one shift
    again = open_clip_cache(dataset, None, tmp_path / "cache")  # the manifest remembers the failure
    assert not again.built and again.failed == cache.failed
    assert not list((tmp_path / "cache").glob("*.tmp"))


def _open_in_child(dataset, folder, barrier, results):
    barrier.wait()
    cache = open_clip_cache(dataset, None, folder)
    results.put((cache.built, cache.key, float(cache.read([3]).sum())))


def test_two_processes_building_at_once_build_once(dataset, tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_in_child, args=(dataset, tmp_path / "cache", barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcome = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(built for built, _, _ in outcome) == [False, True]
    assert len({key for _, key, _ in outcome}) == 1 and len({s for _, _, s in outcome}) == 1
    assert not open_clip_cache(dataset, None, tmp_path / "cache").built


def test_cache_pickles_for_worker_processes(dataset, tmp_path: Path):
    cache = open_clip_cache(dataset, None, tmp_path / "cache")
    cache.read([0])
    clone = pickle.loads(pickle.dumps(cache))
    np.testing.assert_array_equal(clone.read([2, 1]), cache.read([2, 1]))


