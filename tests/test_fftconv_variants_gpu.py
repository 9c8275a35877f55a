"""FFT convolution variants on the GPU: prolog, shared filter, real signals, 2-D images, against the oracle."""

import numpy as np
import pytest

from fusion_kernels.kernels import fft_callbacks, fftconv, fftconv2d, fftconv_shared, rfftconv
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes

pytestmark = [pytest.mark.gpu]
CB = pytest.mark.callbacks


def run(factory, *args):
    with factory(*args) as call:
        return call()


def strategy_params(strategies):
    return [pytest.param(n, marks=[CB] if n != "unfused" else []) for n in strategies]


def ids(shape):
    return "x".join(map(str, shape))


# ---- prolog (1-D, per-signal filter) ----

PROLOG = ["fused_prolog", "fused_prolog_graph"]


@CB
@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("shape", shapes.FFT_TEST_SHAPES, ids=ids)
@pytest.mark.parametrize("name", PROLOG)
def test_prolog_matches_oracle(cp, name, shape, dtype, seed):
    args = inputs.fft_inputs(shape, dtype, seed=seed)
    got = run(fftconv.STRATEGIES[name], *args)
    assert got.shape == shape and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.fft_convolve(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: {err:.3e}"


@CB
def test_prolog_filter_layout_mismatch_is_refused(cp):
    a, filt = inputs.fft_inputs((8, 64), "complex64", seed=2)
    with pytest.raises(ValueError, match="inverse FFT's input"):
        fftconv.PrologFFTConv(a, cp.asfortranarray(filt))


@CB
def test_prolog_reset_operands_and_rejected_reset_keeps_plan(cp):
    a, filt = inputs.fft_inputs((16, 128), "complex128", seed=20)
    a2, filt2 = inputs.fft_inputs((16, 128), "complex128", seed=21)
    with fftconv.PrologFFTConv(a, filt) as conv:
        first = conv().copy()
        conv.reset_operands(a=a2)
        assert tolerances.is_close(conv(), reference.fft_convolve(a2, filt), "complex128")
        conv.reset_operands(filter=filt2)
        assert tolerances.is_close(conv(), reference.fft_convolve(a2, filt2), "complex128")
        with pytest.raises(ValueError, match="filter layout"):
            conv.reset_operands(filter=cp.asfortranarray(filt))
        assert tolerances.is_close(conv(), reference.fft_convolve(a2, filt2), "complex128")
        assert tolerances.is_close(first, reference.fft_convolve(a, filt), "complex128")
    with pytest.raises(RuntimeError, match="closed"):
        conv()


# ---- shared filter ----

@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("shape", shapes.FFT_TEST_SHAPES, ids=ids)
@pytest.mark.parametrize("name", strategy_params(fftconv_shared.STRATEGIES))
def test_shared_filter_matches_oracle(cp, name, shape, dtype, seed):
    args = inputs.fft_shared_filter_inputs(shape, dtype, seed=seed)
    got = run(fftconv_shared.STRATEGIES[name], *args)
    assert got.shape == shape and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.fft_convolve_shared(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: {err:.3e}"


@CB
@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
def test_shared_filter_prolog_matches_oracle(cp, dtype):
    args = inputs.fft_shared_filter_inputs((7, 96), dtype, seed=5)
    got = run(lambda a, f: fftconv_shared.SharedFilterFFTConv(a, f, kind="prolog"), *args)
    assert tolerances.is_close(got, reference.fft_convolve_shared(*args), dtype)


@CB
def test_shared_filter_equals_broadcast_full_filter(cp):
    a, f = inputs.fft_shared_filter_inputs((32, 256), "complex128", seed=9)
    shared = run(fftconv_shared.SharedFilterFFTConv, a, f)
    full = run(fftconv.FusedFFTConv, a, cp.ascontiguousarray(cp.broadcast_to(f, a.shape)))
    assert tolerances.relative_error(shared, full) <= tolerances.tolerance("complex128")


@CB
def test_shared_filter_with_fortran_ordered_signals(cp):
    # nvmath lays the forward output out C-contiguous even for an F-ordered input (seen on the
    # H100), so the shared-filter layout check passes and offset % n indexes the right element.
    # The refusal itself is tested on CPU (test_fft_variants.py) with a non-contiguous layout.
    a, f = inputs.fft_shared_filter_inputs((8, 64), "complex64", seed=3)
    with fftconv_shared.SharedFilterFFTConv(cp.asfortranarray(a), f) as conv:
        err = tolerances.relative_error(conv(), reference.fft_convolve_shared(a, f))
    assert err <= tolerances.tolerance("complex64")


# ---- real signals ----

@pytest.mark.parametrize("dtype", shapes.RFFT_DTYPES)
@pytest.mark.parametrize("shape", shapes.RFFT_TEST_SHAPES, ids=ids)
@pytest.mark.parametrize("name", strategy_params(rfftconv.STRATEGIES))
def test_rfft_matches_oracle(cp, name, shape, dtype, seed):
    args = inputs.rfft_inputs(shape, dtype, seed=seed)
    got = run(rfftconv.STRATEGIES[name], *args)
    assert got.shape == shape and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.rfft_convolve(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: {err:.3e}"


@CB
@pytest.mark.parametrize("kind", ["epilog", "prolog"])
def test_rfft_repeated_calls_reuse_the_c2r_input_copy(cp, kind):
    a, f = inputs.rfft_inputs((8, 512), "float32", seed=11)
    ref = reference.rfft_convolve(a, f)
    with rfftconv.RFFTConv(a, f, kind=kind) as conv:
        for _ in range(3):
            assert tolerances.is_close(conv(), ref, "float32")


@CB
def test_rfft_graph_reads_new_signals(cp):
    a, f = inputs.rfft_inputs((8, 512), "float64", seed=12)
    a2, _ = inputs.rfft_inputs((8, 512), "float64", seed=13)
    with rfftconv.GraphRFFTConv(a, f) as conv:
        first = conv()
        assert tolerances.is_close(first, reference.rfft_convolve(a, f), "float64")
        a[...] = a2
        assert tolerances.is_close(conv(), reference.rfft_convolve(a2, f), "float64")


@CB
def test_rfft_filter_layout_mismatch_is_refused(cp):
    a, f = inputs.rfft_inputs((8, 64), "float32", seed=2)
    with pytest.raises(ValueError, match="filter layout"):
        rfftconv.RFFTConv(a, cp.asfortranarray(f))


@CB
def test_rfft_refused_length_is_a_clear_skip_or_correct(cp):
    # 2 * 8191 (prime): nvmath-python refuses real-side callbacks of CUDA 13.3's cuFFT at such
    # lengths; ours are complex-side, so either the plan works and is right, or the refusal says so.
    a, f = inputs.rfft_inputs((2, 2 * 8191), "float32", seed=4)
    try:
        conv = rfftconv.RFFTConv(a, f)
    except fft_callbacks.CallbackRefused as exc:
        assert "cuFFT refused" in str(exc)
        return
    with conv:
        assert tolerances.is_close(conv(), reference.rfft_convolve(a, f), "float32")


# ---- 2-D images ----

FFT2_STRATEGIES = strategy_params(fftconv2d.STRATEGIES)


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("shape", shapes.FFT2_TEST_SHAPES, ids=ids)
@pytest.mark.parametrize("name", FFT2_STRATEGIES)
def test_fft2_matches_oracle(cp, name, shape, dtype, seed):
    args = inputs.fft2_inputs(shape, dtype, seed=seed)
    got = run(fftconv2d.STRATEGIES[name], *args)
    assert got.shape == shape and got.dtype == np.dtype(dtype)
    err = tolerances.relative_error(got, reference.fft_convolve2d_batched(*args))
    assert err <= tolerances.tolerance(dtype), f"{name} {shape} {dtype}: {err:.3e}"


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("name", FFT2_STRATEGIES)
def test_fft2_shared_filter_matches_oracle(cp, name, dtype):
    a, f = inputs.fft2_inputs((5, 24, 40), dtype, seed=6)
    shared = f[0].copy()
    got = run(fftconv2d.STRATEGIES[name], a, shared)
    assert tolerances.is_close(got, reference.fft_convolve2d_batched(a, shared), dtype)


@CB
def test_fft2_filter_layout_mismatch_is_refused(cp):
    a, f = inputs.fft2_inputs((4, 16, 16), "complex64", seed=8)
    with pytest.raises(ValueError, match="filter layout"):
        fftconv2d.FFTConv2D(a, cp.asfortranarray(f))
