"""The float64 oracle on inputs a person can check on paper (CPU only)."""

import numpy as np
import pytest

from fusion_kernels import reference

from hand_cases import A, B, BIAS, BIASED, CONVOLVED, FILTER, PRODUCT, RELU, SIGNALS


def test_matmul_steps_by_hand():
    product, biased, relu = reference.matmul_bias_relu_steps(A, B, BIAS)
    np.testing.assert_array_equal(product, PRODUCT)
    np.testing.assert_array_equal(biased, BIASED)
    np.testing.assert_array_equal(relu, RELU)
    assert (BIASED < 0).any() and (RELU >= 0).all()


def test_bias_is_per_row():
    a = np.eye(2)
    b = np.array([[1.0, 2.0], [3.0, 4.0]])
    bias = np.array([10.0, -100.0])
    out = reference.matmul_bias_relu(a, b, bias)
    np.testing.assert_array_equal(out, [[11, 12], [0, 0]])  # per column would give [[11, 0], [13, 0]]


def test_matmul_reference_propagates_nan():
    a = A.copy()
    a[0, 0] = np.nan
    out = reference.matmul_bias_relu(a, B, BIAS)
    assert np.isnan(out[0]).all() and not np.isnan(out[1]).any()


def test_fft_convolution_by_hand():
    np.testing.assert_allclose(reference.fft_convolve(SIGNALS, FILTER), CONVOLVED, rtol=0, atol=1e-15)


def test_fft_reference_identity_filter_returns_signal():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 12)) + 1j * rng.standard_normal((3, 12))
    np.testing.assert_allclose(reference.fft_convolve(a, np.ones_like(a)), a, atol=1e-14)


def test_fft_reference_is_circular_convolution():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(8) + 0j
    h = rng.standard_normal(8) + 0j
    direct = np.array([sum(x[j] * h[(t - j) % 8] for j in range(8)) for t in range(8)])
    out = reference.fft_convolve(x[None, :], np.fft.fft(h)[None, :])
    np.testing.assert_allclose(out[0], direct, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_reference_upcasts_to_float64(dtype):
    out = reference.matmul_bias_relu(A.astype(dtype), B.astype(dtype), BIAS.astype(dtype))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, RELU)
