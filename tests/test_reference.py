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


def test_epilogues_by_hand():
    np.testing.assert_array_equal(reference.matmul_epilog("BIAS", A, B, BIAS), BIASED)
    np.testing.assert_array_equal(reference.matmul_epilog("RELU", A, B), np.maximum(PRODUCT, 0))
    np.testing.assert_array_equal(reference.matmul_epilog("RELU_BIAS", A, B, BIAS), RELU)
    gelu_biased = reference.matmul_epilog("GELU_BIAS", A, B, BIAS)
    assert gelu_biased[0, 1] == pytest.approx(8.0, abs=1e-12)  # GELU(8) = 8 to double precision
    assert gelu_biased[1, 1] == pytest.approx(0.0, abs=1e-12)  # GELU(-7) = -0.0...
    assert gelu_biased[0, 0] == pytest.approx(-0.04540230591222, rel=1e-9)  # GELU(-2), tanh form


def test_gelu_is_the_tanh_approximation_not_erf():
    from math import erf, sqrt

    from fusion_kernels.matmul import gelu_tanh

    x = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 2.5])
    tanh_form = 0.5 * x * (1 + np.tanh(sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    erf_form = np.array([0.5 * v * (1 + erf(v / sqrt(2))) for v in x])
    np.testing.assert_allclose(gelu_tanh(x, np), tanh_form, rtol=1e-15)
    assert gelu_tanh(np.array([1.0]), np)[0] == pytest.approx(0.8411919906082768, rel=1e-14)
    assert np.abs(gelu_tanh(x, np) - erf_form).max() > 1e-4  # the two GELUs differ measurably
