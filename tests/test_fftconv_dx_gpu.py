"""The single-kernel cuFFTDx FFT convolution on the GPU, against by-hand cases, the oracle and CuPy."""

import numpy as np
import pytest

from fusion_kernels.harness import measure
from fusion_kernels.kernels import fftconv, fftconv_dx
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes

pytestmark = [pytest.mark.gpu, pytest.mark.dx]

SIZES = [256, 512, 1024, 2048, 4096]


def convolve(a, filt, **kwargs):
    with fftconv_dx.SingleKernelFFTConv(a, filt, **kwargs) as conv:
        return conv(), conv.launch_shape


def by_hand(n):
    """Signals whose convolution is known without an FFT, and that result."""
    j = np.arange(n)
    tone = np.exp(2j * np.pi * 5 * j / n)
    signals = np.zeros((4, n), dtype=np.complex128)
    filters = np.ones((4, n), dtype=np.complex128)
    expected = np.zeros((4, n), dtype=np.complex128)
    signals[0, 0] = 1  # impulse, all-pass filter: the impulse
    expected[0, 0] = 1
    signals[1, 3] = 1  # shifted impulse, all-pass: the same shifted impulse
    expected[1, 3] = 1
    signals[2] = 1  # constant: only the DC bin (n) is non-zero; filter 2 there -> 2 everywhere
    filters[2] = 7
    filters[2, 0] = 2
    expected[2] = 2
    signals[3] = tone  # a tone at bin 5, filter 3 - 1j there: the tone times 3 - 1j
    filters[3, 5] = 3 - 1j
    expected[3] = (3 - 1j) * tone
    return signals, filters, expected


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("n", [256, 4096])
def test_by_hand(cp, n, dtype):
    signals, filters, expected = by_hand(n)
    got, _ = convolve(cp.asarray(signals, dtype=dtype), cp.asarray(filters, dtype=dtype))
    np.testing.assert_allclose(got.get(), expected, rtol=0, atol=1e-5 if dtype == "complex64" else 1e-13)


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_random_inputs_match_oracle(cp, n, dtype, seed):
    a, filt = inputs.fft_inputs((37, n), dtype, seed=seed)
    got, _ = convolve(a, filt)
    assert got.shape == (37, n) and got.dtype == np.dtype(dtype) and got.flags.c_contiguous
    err = tolerances.relative_error(got, reference.fft_convolve(a, filt))
    assert err <= tolerances.tolerance(dtype), f"n={n} {dtype}: relative error {err:.3e}"


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
@pytest.mark.parametrize("n", [256, 1024])
def test_batch_not_a_multiple_of_ffts_per_block(cp, n, dtype):
    a, filt = inputs.fft_inputs((1, n), dtype, seed=9)
    _, shape = convolve(a, filt)
    per_block = shape["ffts_per_block"]
    for batch in {1, per_block + 1, 3 * per_block - 1, 2 * per_block + 1}:
        a, filt = inputs.fft_inputs((batch, n), dtype, seed=batch)
        # Rows past the batch must stay untouched: the output is a view into a larger, marked buffer.
        big = cp.full((batch + per_block, n), 7 + 7j, dtype=dtype)
        got, shape = convolve(a, filt, out=big[:batch])
        assert shape["grid"] == -(-batch // per_block)
        err = tolerances.relative_error(got, reference.fft_convolve(a, filt))
        assert err <= tolerances.tolerance(dtype), f"batch={batch} (ffts_per_block={per_block}): {err:.3e}"
        assert bool((big[batch:] == 7 + 7j).all())


@pytest.mark.parametrize("dtype", shapes.FFT_DTYPES)
def test_equals_cupy_to_rounding_at_the_suite_sizes(cp, dtype):
    for batch, n in [(256, 1024), (64, 4096)]:
        a, filt = inputs.fft_inputs((batch, n), dtype, seed=5)
        got, _ = convolve(a, filt)
        err = tolerances.relative_error(got, fftconv.unfused(a, filt))
        assert err <= tolerances.tolerance(dtype), f"{batch}x{n} {dtype} vs CuPy: {err:.3e}"


def test_each_call_reads_the_current_signals_and_launches_on_the_current_stream(cp):
    a, filt = inputs.fft_inputs((10, 512), "complex128", seed=11)
    a0 = a.copy()
    a2, _ = inputs.fft_inputs((10, 512), "complex128", seed=12)
    stream = cp.cuda.Stream(non_blocking=True)
    with fftconv_dx.SingleKernelFFTConv(a, filt) as conv:
        first = conv()
        a[...] = a2
        cp.cuda.get_current_stream().synchronize()  # a non-blocking stream does not wait for the default one
        with stream:
            second = conv()
        stream.synchronize()
        assert first is not second
    assert tolerances.is_close(first, reference.fft_convolve(a0, filt), "complex128")
    assert tolerances.is_close(second, reference.fft_convolve(a2, filt), "complex128")


def test_out_is_written_and_returned(cp):
    a, filt = inputs.fft_inputs((6, 2048), "complex64", seed=13)
    out = cp.empty_like(a)
    with fftconv_dx.SingleKernelFFTConv(a, filt, out=out) as conv:
        assert conv() is out
    assert tolerances.is_close(out, reference.fft_convolve(a, filt), "complex64")


def test_strided_inputs(cp):
    a, filt = inputs.fft_inputs((16, 2 * 256), "complex128", seed=14)
    a, filt = a[::2, ::2], filt[1::2, :256]  # every other element of every other row; every other row
    got, _ = convolve(a, filt)
    assert tolerances.is_close(got, reference.fft_convolve(a, filt), "complex128")


def test_nan_spreads_over_its_own_signal_only(cp):
    a, filt = inputs.fft_inputs((5, 256), "complex128", seed=4)
    a[1, 5] = cp.nan
    a[2, 7] = cp.inf
    got, _ = convolve(a, filt)
    got = got.get()
    assert np.isnan(got[1]).all() and not np.isfinite(got[2]).any()
    assert np.isfinite(got[[0, 3, 4]]).all()


def test_closed_object_refuses_to_run(cp):
    a, filt = inputs.fft_inputs((2, 256), "complex64", seed=1)
    conv = fftconv_dx.SingleKernelFFTConv(a, filt)
    conv.close()
    with pytest.raises(RuntimeError, match="closed"):
        conv()


@pytest.mark.parametrize("n", [128, 1000, 8192])
def test_unsupported_size_is_a_value_error_naming_n(cp, n):
    a, filt = inputs.fft_inputs((2, n), "complex64", seed=1)
    with pytest.raises(ValueError, match=rf"n = a.shape\[-1\] must be a power of two in \[256, 4096\], got {n}"):
        fftconv_dx.SingleKernelFFTConv(a, filt)


def test_measure_skips_an_unsupported_size_with_the_reason(cp):
    res = measure.measure_case("fft_conv", "single_kernel", (4, 8192), "complex64")
    assert res.skip.startswith("not supported: n = a.shape[-1] must be a power of two") and res.call_seconds == []


def test_measure_runs_the_suite_small_shape(cp):
    res = measure.measure_case("fft_conv", "single_kernel", shapes.FFT_SHAPES["small"], "complex64", check=True)
    assert res.measured, res.error_trace
    assert res.correct and len(res.cold_device_seconds) >= 10 and res.device_mode == "blocked"


def test_bad_out_is_refused(cp):
    a, filt = inputs.fft_inputs((4, 256), "complex64", seed=1)
    with pytest.raises(ValueError, match=r"out must have the result's shape \(4, 256\), got \(4, 512\)"):
        fftconv_dx.SingleKernelFFTConv(a, filt, out=cp.empty((4, 512), dtype=a.dtype))
    with pytest.raises(ValueError, match=r"out must be C-contiguous"):
        fftconv_dx.SingleKernelFFTConv(a, filt, out=cp.empty((256, 4), dtype=a.dtype).T)
    with pytest.raises(TypeError, match=r"out has unsupported dtype complex128"):
        fftconv_dx.SingleKernelFFTConv(a, filt, out=cp.empty((4, 256), dtype="complex128"))
