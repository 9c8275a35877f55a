"""The float64 NumPy oracle for both workloads; it needs no GPU.

It imports no kernel module (tests/test_reference.py enforces that): its GELU,
epilogue table and host copies are its own, so a bug in the code it judges
cannot pass on both sides. `checks` (shapes and dtypes only) is shared.
"""

from __future__ import annotations

import numpy as np

from ..suite import checks

# Which cuBLASLt forward epilogue takes a bias; kept apart from matmul.EPILOGS on purpose.
EPILOG_TAKES_BIAS = {"BIAS": True, "RELU": False, "RELU_BIAS": True, "GELU": False, "GELU_BIAS": True}

# Derived here rather than copied as a literal from the kernel side.
_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def to_numpy(x) -> np.ndarray:
    """A host NumPy array of a NumPy, CuPy or PyTorch array (a copy only when it lives on the GPU)."""
    module = type(x).__module__
    if module.startswith("torch"):
        return x.detach().cpu().numpy()
    if module.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def gelu_tanh(x) -> np.ndarray:
    """GELU, tanh approximation as cuBLASLt computes it: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), float64."""
    x = to_numpy(x).astype(np.float64)
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def check_epilog(epilog, a, b, bias) -> None:
    """The epilogue is known and gets a bias exactly when it takes one; operand shapes and dtypes agree."""
    if epilog not in EPILOG_TAKES_BIAS:
        raise ValueError(f"epilog must be one of {', '.join(EPILOG_TAKES_BIAS)}, got {epilog!r}")
    if EPILOG_TAKES_BIAS[epilog]:
        checks.matmul_operands(a, b, bias)
    elif bias is not None:
        raise ValueError(f"epilog {epilog} takes no bias, got one with shape {tuple(bias.shape)}")
    else:
        checks.matmul_ab(a, b)


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
    check_epilog(epilog, a, b, bias)
    x = to_numpy(a).astype(np.float64) @ to_numpy(b).astype(np.float64)
    if EPILOG_TAKES_BIAS[epilog]:
        x = x + to_numpy(bias).astype(np.float64).reshape(-1, 1)
    if epilog.startswith("RELU"):
        return np.maximum(x, 0.0)
    if epilog.startswith("GELU"):
        return gelu_tanh(x)
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


def fft_convolve2d_batched(a, filter) -> np.ndarray:
    """A batch of images a (batch, h, w): ifft2(fft2(a) * filter) over axes (-2, -1) in complex128.

    `filter` is (batch, h, w), one per image, or (h, w), shared by every image.
    """
    checks.fft2_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft2(np.fft.fft2(a, axes=(-2, -1)) * filter, axes=(-2, -1))


def fft_convolve2d_whole(a, filter) -> np.ndarray:
    """ONE 2-D convolution of the whole (n0, n1) array a: ifft2(fft2(a) * filter) in complex128.

    Rows are not a batch here (unlike `fft_convolve`); this is the global result
    `distributed.DistributedFFTConv` computes from its row blocks with cuFFTMp.
    """
    checks.fft_operands(a, filter)
    a = to_numpy(a).astype(np.complex128)
    filter = to_numpy(filter).astype(np.complex128)
    return np.fft.ifft2(np.fft.fft2(a) * filter)
