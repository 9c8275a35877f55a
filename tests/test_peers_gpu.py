"""PyTorch peers and the GEMM-alone baselines on the same CuPy inputs, against the float64 oracle."""

import numpy as np
import pytest

from fusion_kernels.gpu import timing
from fusion_kernels.kernels import peers
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes

SHAPES = shapes.MATMUL_TEST_SHAPES[1:]


@pytest.mark.gpu
@pytest.mark.torch
@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", list(peers.PEERS))
def test_peer_matches_oracle(cp, name, shape, dtype):
    args = inputs.matmul_inputs(shape, dtype, seed=41)
    with peers.PEERS[name](*args) as call:
        got = call()
        assert tuple(got.shape) == (shape[0], shape[2])
        assert tolerances.relative_error(got, reference.matmul_bias_relu(*args)) <= tolerances.tolerance(dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("name", list(peers.GEMMS))
def test_gemm_alone_matches_oracle(cp, name, dtype):
    need = peers.GEMMS[name].needs
    why = need.reason()
    if why:
        pytest.skip(f"{need.value}: {why}")
    args = inputs.matmul_inputs((257, 129, 65), dtype, seed=42)
    with peers.GEMMS[name](*args) as call:
        got = call()
        assert tolerances.relative_error(got, reference.matmul_product(args[0], args[1])) <= tolerances.tolerance(dtype)


@pytest.mark.gpu
@pytest.mark.torch
def test_addmm_activation_returns_a_view_of_the_transposed_product(cp):
    args = inputs.matmul_inputs((64, 32, 48), "float32", seed=43)
    with peers.torch_addmm_activation(*args) as call:
        got = call()
        assert got.shape == (64, 48) and got.stride() == (1, 64)  # C^T row-major = C column-major, no copy


@pytest.mark.gpu
@pytest.mark.torch
def test_peers_run_on_cupys_current_stream(cp):
    # On a non-default CuPy stream, the events (and the blocking kernel) must bracket the torch kernels:
    # a large matmul cannot take a few microseconds.
    args = inputs.matmul_inputs((4096, 4096, 4096), "float32", seed=44)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream, peers.torch_eager(*args) as call:
        t = timing.warm_device_times(call, batch=3, criterion=timing.Criterion(min_samples=3, max_seconds=0.1)).median
        got = call()
        stream.synchronize()
    assert t > 1e-3  # 137 GFLOP: over 1 ms on any current GPU
    rows = np.arange(8)
    expected = reference.matmul_bias_relu(args[0][rows], args[1], args[2][rows])
    assert tolerances.relative_error(got[rows.tolist()], expected) <= tolerances.tolerance("float32")


@pytest.mark.gpu
@pytest.mark.torch
def test_compile_happens_at_construction(cp):
    args = inputs.matmul_inputs((96, 64, 80), "float16", seed=45)
    with peers.torch_compile(*args) as call:
        times = timing.host_times(call, criterion=timing.Criterion(min_samples=5, max_samples=5), warmup=0)
    assert max(times) < 0.5  # no compilation inside a timed call


@pytest.mark.gpu
@pytest.mark.torch
@pytest.mark.parametrize("name", ["torch_eager", "torch_addmm_activation", "gemm_torch"])
def test_torch_peak_memory_counts_its_own_allocator(cp, name):
    from fusion_kernels.gpu import memory

    m, k, n = 512, 256, 384
    args = inputs.matmul_inputs((m, k, n), "float32", seed=46)
    factory = peers.PEERS.get(name) or peers.GEMMS[name]
    with factory(*args) as call:
        peak = memory.peak_call_bytes(call)
    out = m * n * 4
    assert out <= peak <= 4 * out  # the result at least; eager adds a temporary or two
