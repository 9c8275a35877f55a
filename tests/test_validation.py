"""Bad input gets a clear ValueError/TypeError naming the argument, before any GPU work (CPU only)."""

import re

import numpy as np
import pytest

from fusion_kernels.kernels import fftconv, matmul
from fusion_kernels.oracle import reference


def f64(*shape):
    return np.ones(shape, dtype=np.float64)


def c64(*shape):
    return np.ones(shape, dtype=np.complex64)


MATMUL_ENTRY_POINTS = [matmul.unfused, matmul.partial, matmul.fused, matmul.FusedMatmul, matmul.GraphMatmul,
                       reference.matmul_bias_relu]
FFT_ENTRY_POINTS = [fftconv.unfused, fftconv.fused, fftconv.FusedFFTConv, fftconv.GraphFFTConv, reference.fft_convolve]

MATMUL_CASES = [
    # (id, a, b, bias, error, pattern the message must contain)
    ("inner-dims", f64(3, 4), f64(5, 2), f64(3), ValueError, r"inner dimensions.*\(3, 4\).*\(5, 2\)"),
    ("bias-length", f64(3, 4), f64(4, 2), f64(2), ValueError, r"bias must have length m = .* 3.*\(2,\)"),
    ("bias-rank", f64(3, 4), f64(4, 2), f64(3, 1), ValueError, r"bias must be 1-D, got 2-D"),
    ("bias-per-column", f64(3, 4), f64(4, 2), f64(2), ValueError, r"bias"),
    ("a-1d", f64(4), f64(4, 2), f64(3), ValueError, r"a must be 2-D, got 1-D"),
    ("b-3d", f64(3, 4), f64(1, 4, 2), f64(3), ValueError, r"b must be 2-D, got 3-D"),
    ("mixed-dtype", f64(3, 4), f64(4, 2).astype(np.float32), f64(3), TypeError, r"b has dtype float32 but a has dtype float64"),
    ("bias-dtype", f64(3, 4), f64(4, 2), f64(3).astype(np.float16), TypeError, r"bias has dtype float16"),
    ("int-dtype", np.ones((3, 4), np.int32), np.ones((4, 2), np.int32), np.ones(3, np.int32), TypeError, r"a has unsupported dtype int32"),
    ("complex-dtype", c64(3, 4), c64(4, 2), c64(3), TypeError, r"a has unsupported dtype complex64"),
    ("empty-m", f64(0, 4), f64(4, 2), f64(0), ValueError, r"a has an empty dimension: shape \(0, 4\)"),
    ("empty-k", f64(3, 0), f64(0, 2), f64(3), ValueError, r"a has an empty dimension"),
    ("not-an-array", [[1.0]], f64(1, 1), f64(1), TypeError, r"a must be an array .* got list"),
]


@pytest.mark.parametrize("entry", MATMUL_ENTRY_POINTS, ids=lambda f: f.__qualname__)
@pytest.mark.parametrize("case", MATMUL_CASES, ids=lambda c: c[0])
def test_matmul_rejects(entry, case):
    _, a, b, bias, error, pattern = case
    with pytest.raises(error, match=pattern):
        entry(a, b, bias)


FFT_CASES = [
    ("filter-shape", c64(2, 8), c64(2, 4), ValueError, r"filter must have the shape of a \(2, 8\), got \(2, 4\)"),
    ("filter-shape-1d", c64(2, 8), c64(8), ValueError, r"filter must be 2-D, got 1-D"),
    ("a-1d", c64(8), c64(8), ValueError, r"a must be 2-D, got 1-D"),
    ("real-a", f64(2, 8), c64(2, 8), TypeError, r"a has unsupported dtype float64"),
    ("mixed-dtype", c64(2, 8), c64(2, 8).astype(np.complex128), TypeError, r"filter has dtype complex128 but a has dtype complex64"),
    ("empty", c64(0, 8), c64(0, 8), ValueError, r"a has an empty dimension"),
    ("not-an-array", [[1j]], c64(1, 1), TypeError, r"a must be an array"),
]


@pytest.mark.parametrize("entry", FFT_ENTRY_POINTS, ids=lambda f: f.__qualname__)
@pytest.mark.parametrize("case", FFT_CASES, ids=lambda c: c[0])
def test_fft_rejects(entry, case):
    _, a, filt, error, pattern = case
    with pytest.raises(error, match=pattern):
        entry(a, filt)


@pytest.mark.parametrize("entry", MATMUL_ENTRY_POINTS[:-1], ids=lambda f: f.__qualname__)
def test_matmul_numpy_input_is_refused_not_copied(entry):
    with pytest.raises(TypeError, match=r"a must be a cupy.ndarray on the GPU, got numpy.ndarray.*cupy.asarray\(a\)"):
        entry(f64(3, 4), f64(4, 2), f64(3))


@pytest.mark.parametrize("entry", FFT_ENTRY_POINTS[:-1], ids=lambda f: f.__qualname__)
def test_fft_numpy_input_is_refused_not_copied(entry):
    with pytest.raises(TypeError, match=re.escape("a must be a cupy.ndarray on the GPU")):
        entry(c64(2, 8), c64(2, 8))


EPILOG_ENTRY_POINTS = [matmul.unfused_epilog, lambda e, a, b, bias=None: matmul.FusedMatmul(a, b, bias, epilog=e),
                       reference.matmul_epilog]


@pytest.mark.parametrize("entry", EPILOG_ENTRY_POINTS, ids=["unfused_epilog", "FusedMatmul", "reference"])
def test_epilog_operands_are_checked(entry):
    with pytest.raises(ValueError, match=r"epilog must be one of BIAS, RELU, RELU_BIAS, GELU, GELU_BIAS, got 'SWISH'"):
        entry("SWISH", f64(3, 4), f64(4, 2))
    with pytest.raises(ValueError, match=r"epilog GELU takes no bias, got one with shape \(3,\)"):
        entry("GELU", f64(3, 4), f64(4, 2), f64(3))
    with pytest.raises(TypeError, match=r"bias must be an array"):
        entry("GELU_BIAS", f64(3, 4), f64(4, 2))
    with pytest.raises(ValueError, match=r"inner dimensions differ"):
        entry("RELU", f64(3, 4), f64(5, 2))
    with pytest.raises(TypeError, match=r"b has dtype float32 but a has dtype float64"):
        entry("RELU", f64(3, 4), f64(4, 2).astype(np.float32))
