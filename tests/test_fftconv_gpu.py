"""FFT convolution on the GPU: every strategy against the hand-written case and the oracle."""

import numpy as np
import pytest

from fusion_kernels.gpu import backend
from fusion_kernels.kernels import fftconv
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes
from fusion_kernels.suite.strategy import Need
from hand_cases import CONVOLVED, FILTER, SIGNALS

pytestmark = pytest.mark.gpu

# single_kernel (cuFFTDx, n a power of two in [256, 4096]) is tested in test_fftconv_dx_gpu.py.
STRATEGY_NAMES = [name for name, s in fftconv.STRATEGIES.items() if s.needs is not Need.DX]
FUSED = ["fused_onecall", "fused_planned", "fused_graph"]


def run_strategy(name, *args):
    with fftconv.STRATEGIES[name](*args) as call:
        return call()


def needs(name):
    return [pytest.mark.callbacks] if name != "unfused" else []


STRATEGY_PARAMS = [pytest.param(n, marks=needs(n)) for n in STRATEGY_NAMES]


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("name", STRATEGY_PARAMS)
def test_by_hand(cp, name, dtype):
    got = run_strategy(name, cp.asarray(SIGNALS, dtype=dtype), cp.asarray(FILTER, dtype=dtype))
    np.testing.assert_allclose(got.get(), CONVOLVED, rtol=0, atol=1e-6 if dtype == "complex64" else 1e-14)


@pytest.mark.callbacks
@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("name", FUSED)
def test_fused_equals_unfused_to_rounding(cp, name, dtype, seed):
    args = inputs.fft_inputs((8, 512), dtype, seed=seed)
    err = tolerances.relative_error(run_strategy(name, *args), fftconv.unfused(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} vs unfused: {err:.3e}"


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("shape", shapes.FFT_TEST_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", STRATEGY_PARAMS)
def test_random_inputs_match_oracle(cp, name, shape, dtype, seed):
    args = inputs.fft_inputs(shape, dtype, seed=seed)
    got = run_strategy(name, *args)
    assert got.shape == shape and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.fft_convolve(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: relative error {err:.3e}"


@pytest.mark.nvmath
def test_nvmath_ifft_does_not_normalize(cp):
    nvmath = backend.nvmath()
    x = inputs.fft_inputs((2, 64), "complex128", seed=3)[0]
    roundtrip = nvmath.fft.ifft(nvmath.fft.fft(x, axes=[-1]), axes=[-1])
    np.testing.assert_allclose(roundtrip.get(), 64 * x.get(), rtol=1e-12)


@pytest.mark.callbacks
@pytest.mark.parametrize("name", FUSED)
def test_filter_layout_mismatch_is_refused(cp, name):
    a, filt = inputs.fft_inputs((8, 64), "complex64", seed=2)
    with pytest.raises(ValueError, match="filter"):
        run_strategy(name, a, cp.asfortranarray(filt))


@pytest.mark.callbacks
def test_planned_reset_operands(cp):
    a, filt = inputs.fft_inputs((16, 128), "complex128", seed=20)
    a2, filt2 = inputs.fft_inputs((16, 128), "complex128", seed=21)
    with fftconv.FusedFFTConv(a, filt) as conv:
        first = conv()
        conv.reset_operands(a=a2)
        second = conv()
        conv.reset_operands(filter=filt2)
        third = conv()
        assert tolerances.is_close(first, reference.fft_convolve(a, filt), "complex128")
        assert tolerances.is_close(second, reference.fft_convolve(a2, filt), "complex128")
        assert tolerances.is_close(third, reference.fft_convolve(a2, filt2), "complex128")
        with pytest.raises(ValueError, match=r"a must have the planned shape"):
            conv.reset_operands(a=a2[:8].copy())
    with pytest.raises(RuntimeError, match="closed"):
        conv()


@pytest.mark.callbacks
def test_planned_results_are_independent_arrays(cp):
    a, filt = inputs.fft_inputs((4, 256), "complex64", seed=7)
    with fftconv.FusedFFTConv(a, filt) as conv:
        r1 = conv()
        keep = r1.copy()
        r2 = conv()
        assert r1.data.ptr != r2.data.ptr
        np.testing.assert_array_equal(r1.get(), keep.get())


@pytest.mark.callbacks
def test_graph_replays_into_one_buffer_and_reads_signals_by_pointer(cp):
    a, filt = inputs.fft_inputs((8, 512), "complex64", seed=30)
    a2, _ = inputs.fft_inputs((8, 512), "complex64", seed=31)
    with fftconv.GraphFFTConv(a, filt) as conv:
        first = conv()
        assert tolerances.is_close(first, reference.fft_convolve(a, filt), "complex64")
        a[...] = a2
        second = conv()
        assert second.data.ptr == first.data.ptr
        assert tolerances.is_close(second, reference.fft_convolve(a2, filt), "complex64")


@pytest.mark.callbacks
def test_rejected_filter_reset_keeps_the_working_plan(cp):
    a, filt = inputs.fft_inputs((8, 128), "complex64", seed=40)
    with fftconv.FusedFFTConv(a, filt) as conv:
        before = conv().get()
        with pytest.raises(ValueError, match="filter layout"):
            conv.reset_operands(filter=cp.asfortranarray(inputs.fft_inputs((8, 128), "complex64", seed=41)[1]))
        np.testing.assert_array_equal(conv().get(), before)
