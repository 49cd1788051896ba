"""The speed options of the trainer: precision policy, bf16 autocast with float32 heads, batch
prefetching, host-memory reuse, torch.compile, and the CUDA path (skipped without a GPU).

Speed itself is measured by benchmarks/speed.py, not here; these tests check that every fast
path computes what the plain path computes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from equivalence import run_both_with_gradients

from asdbench.allocator import host_memory_reuse
from asdbench.errors import ConfigError
from asdbench.model.two_branch import TwoBranchEmbedder
from asdbench.systems import build_training_model, resolve_system
from asdbench.testing import train_system
from asdbench.training import device as device_module
from asdbench.training.device import compile_embedder, resolve_precision
from asdbench.training.inference import extract_embeddings, prefetched
from asdbench.training.trainer import TrainConfig, Trainer

SAMPLES = 8000  # 0.5 s: the real network on a short clip
C = 4
CPU = torch.device("cpu")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _data(n: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / 16000
    ids = np.arange(n) % C
    waves = np.stack([np.sin(2 * np.pi * (300 + 200 * k) * t) + 0.3 * rng.standard_normal(SAMPLES) for k in ids])
    return waves.astype(np.float32), ids


def _fit(**options):
    waves, ids = _data()
    config = TrainConfig(epochs=1, batch_size=8, seed=3, device=options.pop("device", "cpu"), **options)
    return train_system("combined", lambda idx: waves[np.asarray(idx)], ids, C, SAMPLES, config)


# -- precision policy --------------------------------------------------------------------------

def test_precision_policy(monkeypatch):
    assert resolve_precision(CPU, "fp32") == "fp32"
    assert resolve_precision(CPU, "bf16") == "bf16"
    monkeypatch.setattr(device_module, "AUTO_CPU_BF16", False)
    assert resolve_precision(CPU, "auto") == "fp32"
    monkeypatch.setattr(device_module, "AUTO_CPU_BF16", True)
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision(CPU, "auto") == "bf16"
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision(CPU, "auto") == "fp32"  # emulated bf16 is slower than fp32
    gpu = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision(gpu, "auto") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision(gpu, "auto") == "fp16"
    with pytest.raises(ConfigError, match="--precision fp16 needs a CUDA device"):
        resolve_precision(CPU, "fp16")
    with pytest.raises(ConfigError, match="--precision must be one of fp32, bf16, fp16, auto, got 'fp8'"):
        resolve_precision(CPU, "fp8")


def test_cpu_has_native_bf16_reads_the_cpu_flags():
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        flags = next((line for line in handle if line.startswith("flags")), "")
    expected = "avx512_bf16" in flags.split() or "amx_bf16" in flags.split()
    assert device_module.cpu_has_native_bf16() is expected


# -- bf16 on CPU -------------------------------------------------------------------------------

def test_bf16_step_runs_the_network_in_bf16_and_the_heads_in_float32(monkeypatch):
    system = resolve_system("combined")
    config = TrainConfig(device="cpu", precision="bf16", seed=1)
    model, pipeline = build_training_model(system, SAMPLES, C, seed=config.seed)
    seen = []
    for name, head in model.heads.items():
        original = head.forward

        def spy(embeddings, labels, _original=original, _name=name):
            seen.append((_name, embeddings.dtype, torch.is_autocast_enabled("cpu")))
            return _original(embeddings, labels)

        monkeypatch.setattr(head, "forward", spy)
    sub_dtypes = []
    encode = model.embedder.encode

    def encode_spy(features):
        out = encode(features)
        sub_dtypes.append({k: v.dtype for k, v in out.items()})
        return out

    monkeypatch.setattr(model.embedder, "encode", encode_spy)
    waves, ids = _data(8)
    trainer = Trainer(config)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    loss, _ = trainer._step(model, pipeline, optimizer, torch.Generator().manual_seed(0), torch.from_numpy(waves),
                         torch.eye(C)[torch.as_tensor(ids)])
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    assert sub_dtypes == [{"spectrum": torch.bfloat16, "spectrogram": torch.bfloat16}]
    assert sorted(seen) == [("regular", torch.float32, False), ("ssl", torch.float32, False)]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_bf16_training_and_extraction_track_fp32():
    waves, _ = _data()
    fp32 = _fit(precision="fp32")
    bf16 = _fit(precision="bf16")
    read = lambda idx: waves[np.asarray(idx)]  # noqa: E731
    a = extract_embeddings(fp32.embedder, read, len(waves), batch_size=8, device=CPU)
    b = extract_embeddings(bf16.embedder, read, len(waves), batch_size=8, device=CPU, precision="bf16")
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == (16, 256)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.95, cos  # one epoch apart in precision only: the same embedding, roughly
    same = extract_embeddings(fp32.embedder, read, len(waves), batch_size=8, device=CPU, precision="bf16")
    cos_same = (a * same).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(same, axis=1)
    assert cos_same.min() > 0.995  # the same weights run in bf16: rounding only


# -- the stem's space-to-depth convolution --------------------------------------------------------

@pytest.mark.parametrize("size", [(61, 513), (60, 40), (7, 9)])  # symmetric and Keras' odd 'same' padding
def test_space_to_depth_stem_values_and_gradients_equal_conv2d(size):
    from asdbench.model.tf_same import Conv2dSame

    torch.manual_seed(0)
    plain = Conv2dSame(1, 16, 7, 2).double()
    fast = Conv2dSame(1, 16, 7, 2, space_to_depth=True).double()
    assert fast.space_to_depth and not Conv2dSame(2, 16, 7, 2, space_to_depth=True).space_to_depth
    x = torch.randn(3, 1, *size, dtype=torch.float64)
    _, out = run_both_with_gradients(plain, fast, x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():  # inference takes conv2d itself: bit-identical
        assert torch.equal(fast(x), plain(x))


def test_space_to_depth_stem_under_bf16_autocast_tracks_conv2d():
    from asdbench.model.space_to_depth import space_to_depth_conv2d

    torch.manual_seed(1)
    x = torch.randn(2, 1, 41, 37)
    w = torch.randn(16, 1, 7, 7)
    xa, wa, xb, wb = (t.clone().requires_grad_() for t in (x, w, x, w))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ya = torch.nn.functional.conv2d(xa, wa, None, 2, (3, 3))
        yb = space_to_depth_conv2d(xb, wb, 2, ((3, 3), (3, 3)))
    assert yb.dtype == ya.dtype == torch.bfloat16
    torch.testing.assert_close(yb.float(), ya.float(), rtol=2e-2, atol=5e-2)  # bf16 rounding
    grad = torch.randn_like(ya)
    ya.backward(grad)
    yb.backward(grad)
    assert xb.grad.dtype == wb.grad.dtype == torch.float32
    torch.testing.assert_close(xb.grad, xa.grad, rtol=2e-2, atol=5e-2)
    torch.testing.assert_close(wb.grad, wa.grad, rtol=2e-2, atol=2e-1)


# -- prefetching and host-memory reuse change no number -----------------------------------------

def test_prefetched_yields_in_order_and_loads_one_batch_ahead():
    batches = [np.array([k, k + 1]) for k in range(0, 8, 2)]
    started = {int(b[0]): threading.Event() for b in batches}

    def load(idx):
        started[int(idx[0])].set()
        return idx * 10

    out = []
    for idx, value in prefetched(load, batches):
        following = int(idx[0]) + 2
        if following in started:  # the next batch is read while this one is still in use
            assert started[following].wait(timeout=10)
        out.append((idx.tolist(), value.tolist()))
    assert out == [(b.tolist(), (b * 10).tolist()) for b in batches]
    assert list(prefetched(load, [])) == []
    assert [i.tolist() for i, _ in prefetched(load, batches, enabled=False)] == [b.tolist() for b in batches]


def test_prefetch_errors_reach_the_caller():
    def load(idx):
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetched(load, [np.arange(2)]))


def test_prefetch_and_memory_reuse_leave_training_bit_for_bit_unchanged():
    plain = _fit(prefetch=False, reuse_host_memory=False).state_dict()
    fast = _fit(prefetch=True, reuse_host_memory=True).state_dict()
    assert plain.keys() == fast.keys() and all(torch.equal(plain[k], fast[k]) for k in plain)


FAULTS_SCRIPT = """
import json, resource, torch
from asdbench.allocator import host_memory_reuse

def faults(mb=64):
    # fewest page faults of allocating + filling a large buffer again, of 5 tries (the kernel's
    # idle-memory reclaim, e.g. DAMON, may take a free page back now and then)
    counts = []
    for _ in range(5):
        torch.ones(mb * 2**18)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.ones(mb * 2**18)
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return min(counts)

outside = faults()  # a fresh process: glibc maps and zero-fills every large buffer anew
with host_memory_reuse() as active:
    inside = faults()
    with host_memory_reuse() as nested:
        pass
    after_nested = faults()
print(json.dumps([active, nested, outside, inside, after_nested]))
"""


def test_host_memory_reuse_avoids_page_faults_of_repeated_large_allocations():
    out = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], capture_output=True, text=True, check=True)
    active, nested, outside, inside, after_nested = json.loads(out.stdout.strip().splitlines()[-1])
    if not active:
        pytest.skip("host-memory reuse needs glibc")
    pages = 64 * 2**20 // resource.getpagesize()
    assert nested is True
    assert outside > pages // 2, (outside, inside, after_nested)  # 64 MB mapped and zero-filled again
    assert max(inside, after_nested) < pages // 16, (outside, inside, after_nested)
    with host_memory_reuse(enabled=False) as disabled:
        assert disabled is False


# -- torch.compile -----------------------------------------------------------------------------

@pytest.mark.slow
def test_compiled_embedder_keeps_names_and_numbers():
    torch.manual_seed(0)
    model = TwoBranchEmbedder(SAMPLES).eval()
    keys = list(model.state_dict())
    wave = torch.from_numpy(_data(4)[0])
    with torch.no_grad():
        eager = model(wave)
        compile_embedder(model)
        compiled = model(wave)
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(compiled, eager, rtol=1e-3, atol=1e-3)


# -- CUDA (runs only where a GPU is present) ----------------------------------------------------

@cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16", "auto"])
def test_cuda_training_and_extraction(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    model = _fit(device="cuda", precision=precision, channels_last=True)
    assert next(model.parameters()).device.type == "cuda"
    waves, _ = _data()
    emb = extract_embeddings(model.embedder, lambda idx: waves[np.asarray(idx)], len(waves), batch_size=8,
                             precision=precision)
    assert emb.dtype == np.float32 and emb.shape == (16, 256) and np.isfinite(emb).all()


@cuda
def test_cuda_fp16_uses_loss_scaling_and_checkpoints_it(tmp_path):
    waves, ids = _data()
    config = TrainConfig(epochs=1, batch_size=8, seed=3, device="cuda", precision="fp16")
    trainer = Trainer(config, checkpoint=tmp_path / "c.pt")
    assert trainer.scaler.is_enabled()
    model, pipeline = build_training_model(resolve_system("combined"), SAMPLES, C, seed=config.seed)
    trainer.fit(model, pipeline, lambda idx: waves[np.asarray(idx)], ids, C)
    assert "scaler" in torch.load(tmp_path / "c.pt", weights_only=True)


# -- the folded inference copy ----------------------------------------------------------------------

def test_folded_inference_copy_matches_the_eval_network_and_leaves_it_untouched():
    from asdbench.model.two_branch import TwoBranchEmbedder

    torch.manual_seed(0)
    model = TwoBranchEmbedder(8000).double()  # the published graph: unit 1 has ReLU before BN
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # non-trivial running statistics and affine parameters
        optimizer.zero_grad()
        model(torch.randn(6, 8000, dtype=torch.float64)).square().sum().backward()
        optimizer.step()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = model.for_inference()
    n_bn = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    n_folded_bn = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    # stem + 7 unit BNs (the unit with ReLU before BN keeps its own) + 4 dense BNs
    assert n_bn - n_folded_bn == 1 + 7 + 4
    x = torch.randn(5, 8000, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-10, atol=1e-10)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(p.requires_grad for p in folded.parameters())


@pytest.mark.parametrize("shape", [(2, 3, 281, 257), (1, 2, 7, 9), (2, 2, 8, 10), (1, 1, 3, 3)])
def test_separable_max_pool_equals_max_pool2d(shape):
    from asdbench.model.inference import SeparableMaxPool2d

    x = torch.randn(*shape).bfloat16().contiguous(memory_format=torch.channels_last)
    x[..., 0, 0] = x[..., 0, 1]  # ties are harmless for values
    out = SeparableMaxPool2d(3, 2)(x)
    assert torch.equal(out, torch.nn.functional.max_pool2d(x, 3, 2))
    assert out.is_contiguous(memory_format=torch.channels_last)
