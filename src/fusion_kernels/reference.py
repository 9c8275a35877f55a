"""The float64 NumPy oracle for both workloads; it needs no GPU."""

from __future__ import annotations

import numpy as np

from . import checks
from .tolerances import to_numpy


def matmul_bias_relu_steps(a, b, bias):
    """(a @ b, a @ b + bias per row, ReLU of that), all float64."""
    checks.matmul_operands(a, b, bias)
    a, b, bias = (to_numpy(x).astype(np.float64) for x in (a, b, bias))
    product = a @ b
    biased = product + bias.reshape(-1, 1)
    return product, biased, np.maximum(biased, 0.0)


def matmul_bias_relu(a, b, bias) -> np.ndarray:
    """ReLU(a @ b + bias[:, None]) in float64. NaN propagates (np.maximum)."""
    return matmul_bias_relu_steps(a, b, bias)[2]


def matmul_epilog(epilog, a, b, bias=None) -> np.ndarray:
    """f(a @ b [+ bias[:, None]]) in float64 for a cuBLASLt forward epilogue (GELU: tanh approximation)."""
    from .matmul import EPILOGS, check_epilog, gelu_tanh

    check_epilog(epilog, a, b, bias)
    x = to_numpy(a).astype(np.float64) @ to_numpy(b).astype(np.float64)
    if EPILOGS[epilog]:
        x = x + to_numpy(bias).astype(np.float64).reshape(-1, 1)
    if epilog.startswith("RELU"):
        return np.maximum(x, 0.0)
    if epilog.startswith("GELU"):
        return gelu_tanh(x, np)
    return x


def matmul_product(a, b) -> np.ndarray:
    """a @ b in float64 (the GEMM-alone baselines)."""
    checks.matmul_ab(a, b)
    return to_numpy(a).astype(np.float64) @ to_numpy(b).astype(np.float64)


def matmul_relu_forward(a, b, bias) -> tuple[np.ndarray, np.ndarray]:
    """(ReLU(a @ b + bias[:, None]), its mask C > 0) in float64."""
    c = matmul_bias_relu(a, b, bias)
    return c, c > 0


def matmul_drelu_bgrad(a, b, mask) -> tuple[np.ndarray, np.ndarray]:
    """((a @ b) * mask, its row sums) in float64; `mask` is a bool (m, n) array."""
    checks.matmul_ab(a, b)
    d = (to_numpy(a).astype(np.float64) @ to_numpy(b).astype(np.float64)) * to_numpy(mask).astype(bool)
    return d, d.sum(axis=1)


def fft_convolve(a, filter) -> np.ndarray:
    """ifft(fft(a, axis=-1) * filter, axis=-1) in complex128, normalized by 1/n as NumPy does."""
    checks.fft_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft(np.fft.fft(a, axis=-1) * filter, axis=-1)


def fft_convolve_shared(a, filter) -> np.ndarray:
    """ifft(fft(a, axis=-1) * filter[None, :], axis=-1) in complex128: one filter for every signal."""
    checks.fft_shared_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft(np.fft.fft(a, axis=-1) * filter[None, :], axis=-1)


def rfft_convolve(a, filter) -> np.ndarray:
    """irfft(rfft(a, axis=-1) * filter, n, axis=-1) in float64 for real signals a (batch, n)."""
    _, n = checks.rfft_operands(a, filter)
    a = to_numpy(a).astype(np.float64)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.irfft(np.fft.rfft(a, axis=-1) * filter, n=n, axis=-1)


def fft_convolve2d(a, filter) -> np.ndarray:
    """ifft2(fft2(a) * filter) over axes (-2, -1) in complex128; a (h, w) filter is shared by every image."""
    checks.fft2_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft2(np.fft.fft2(a, axes=(-2, -1)) * filter, axes=(-2, -1))
def fft_convolve_2d(a, filter) -> np.ndarray:
    """ifft2(fft2(a) * filter) in complex128, normalized by 1/(n0 * n1): the 2-D form cuFFTMp computes."""
    checks.fft_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft2(np.fft.fft2(a) * filter)
