"""ReLU(A @ B + bias[:, None]) on the GPU: every strategy against the hand-written case and the oracle."""

import numpy as np
import pytest

from fusion_kernels.kernels import matmul
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes
from hand_cases import A, B, BIAS, BIASED, PRODUCT, RELU

pytestmark = pytest.mark.gpu

STRATEGY_NAMES = list(matmul.STRATEGIES)


def hand_inputs(cp, dtype="float64"):
    return cp.asarray(A, dtype=dtype), cp.asarray(B, dtype=dtype), cp.asarray(BIAS, dtype=dtype)


def run_strategy(name, *args):
    with matmul.STRATEGIES[name](*args) as call:
        return call()


def test_unfused_steps_by_hand(cp):
    product, biased, relu = matmul.unfused_steps(*hand_inputs(cp))
    np.testing.assert_array_equal(product.get(), PRODUCT)
    np.testing.assert_array_equal(biased.get(), BIASED)
    np.testing.assert_array_equal(relu.get(), RELU)
    assert relu.flags.c_contiguous


@pytest.mark.nvmath
@pytest.mark.parametrize("name", ["partial", "fused_onecall", "fused_planned", "fused_graph"])
def test_fused_identical_to_unfused_by_hand(cp, name):
    args = hand_inputs(cp)
    expected = matmul.unfused(*args).get()
    got = run_strategy(name, *args)
    # cuBLASLt's result is column-major; partial keeps CuPy's row-major one
    assert got.flags.c_contiguous if name == "partial" else got.flags.f_contiguous
    np.testing.assert_array_equal(got.get(), expected)  # small integers in float64 are exact
    np.testing.assert_array_equal(got.get(), RELU)


@pytest.mark.nvmath
@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("shape", shapes.MATMUL_TEST_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_random_inputs_match_oracle(cp, name, shape, dtype, seed):
    args = inputs.matmul_inputs(shape, dtype, seed=seed)
    got = run_strategy(name, *args)
    assert got.shape == (shape[0], shape[2]) and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.matmul_bias_relu(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: relative error {err:.3e}"


@pytest.mark.nvmath
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_bias_is_added_per_row(cp, name):
    a = cp.eye(3, dtype=cp.float64)
    b = cp.arange(1.0, 10.0).reshape(3, 3)
    bias = cp.asarray([10.0, -100.0, 0.5])
    got = run_strategy(name, a, b, bias).get()
    np.testing.assert_array_equal(got, reference.matmul_bias_relu(a, b, bias))
    assert not np.array_equal(got, np.maximum(b.get() + bias.get()[None, :], 0))


def test_unfused_relu_propagates_nan(cp):
    a, b, bias = hand_inputs(cp)
    a[0, 0] = cp.nan
    out = matmul.unfused(a, b, bias).get()
    assert np.isnan(out[0]).all() and not np.isnan(out[1]).any()


@pytest.mark.nvmath
@pytest.mark.parametrize("name", ["fused_onecall", "fused_planned"])
def test_fused_relu_propagates_nan_like_unfused(cp, name):
    """Measured on an H100 (nvmath-python 1.0.0, CUDA 13): cuBLASLt's RELU_BIAS keeps NaN, as cupy.maximum does."""
    a, b, bias = hand_inputs(cp)
    a[0, 0] = cp.nan
    out = run_strategy(name, a, b, bias).get()
    assert np.isnan(out[0]).all()
    np.testing.assert_array_equal(out[1], RELU[1])
    np.testing.assert_array_equal(np.isnan(out), np.isnan(matmul.unfused(a, b, bias).get()))


@pytest.mark.nvmath
def test_planned_reset_operands_without_replanning(cp):
    a, b, bias = inputs.matmul_inputs((64, 48, 40), "float32", seed=10)
    a2, b2, bias2 = inputs.matmul_inputs((64, 48, 40), "float32", seed=11)
    with matmul.FusedMatmul(a, b, bias) as mm:
        first = mm()
        mm.reset_operands(a=a2, b=b2, bias=bias2)
        second = mm()
        assert tolerances.is_close(first, reference.matmul_bias_relu(a, b, bias), "float32")
        assert tolerances.is_close(second, reference.matmul_bias_relu(a2, b2, bias2), "float32")
        with pytest.raises(ValueError, match=r"a must have the planned shape \(64, 48\), got \(48, 64\)"):
            mm.reset_operands(a=a2.T.copy())
        with pytest.raises(TypeError, match="bias has unsupported dtype float64"):
            mm.reset_operands(bias=bias2.astype(cp.float64))


@pytest.mark.nvmath
def test_planned_close_releases(cp):
    mm = matmul.FusedMatmul(*inputs.matmul_inputs((16, 16, 16), "float32"))
    mm()
    mm.close()
    mm.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        mm()


@pytest.mark.nvmath
def test_planned_autotune_matches_oracle(cp):
    args = inputs.matmul_inputs((256, 128, 192), "float16", seed=5)
    with matmul.FusedMatmul(*args, autotune=True) as mm:
        assert tolerances.is_close(mm(), reference.matmul_bias_relu(*args), "float16")


@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
def test_partial_is_bitwise_unfused(cp, dtype):
    args = inputs.matmul_inputs((257, 129, 65), dtype, seed=9)
    np.testing.assert_array_equal(matmul.partial(*args).get(), matmul.unfused(*args).get())


@pytest.mark.nvmath
def test_graph_replays_into_one_buffer_and_reads_inputs_by_pointer(cp):
    a, b, bias = inputs.matmul_inputs((96, 64, 80), "float32", seed=12)
    a2, _, _ = inputs.matmul_inputs((96, 64, 80), "float32", seed=13)
    with matmul.GraphMatmul(a, b, bias) as mm:
        first = mm()
        assert tolerances.is_close(first, reference.matmul_bias_relu(a, b, bias), "float32")
        a[...] = a2  # new data into the captured input
        second = mm()
        assert second.data.ptr == first.data.ptr  # the same buffer, overwritten
        assert tolerances.is_close(second, reference.matmul_bias_relu(a2, b, bias), "float32")
    with pytest.raises(RuntimeError, match="closed"):
        mm()
