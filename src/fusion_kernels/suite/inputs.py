"""Seeded random inputs. Never zeros: they hide unwritten outputs and run faster than real data."""

from __future__ import annotations

import numpy as np

from ..gpu import backend


def _xp(device: str):
    if device == "gpu":
        return backend.cupy()
    if device == "cpu":
        return np
    raise ValueError(f"device must be 'gpu' or 'cpu', got {device!r}")


def _uniform(xp, rng, shape, dtype):
    # Draw in float64/32 and round: cupy's generator has no float16 output.
    work = np.float64 if np.dtype(dtype).itemsize >= 8 else np.float32
    return (rng.random(shape, dtype=work) * 2 - 1).astype(dtype)


def matmul_inputs(shape, dtype, seed=0, device="gpu"):
    """(a, b, bias) for ReLU(a @ b + bias[:, None]), entries uniform in [-1, 1)."""
    m, k, n = shape
    xp = _xp(device)
    rng = xp.random.default_rng(seed)
    return _uniform(xp, rng, (m, k), dtype), _uniform(xp, rng, (k, n), dtype), _uniform(xp, rng, (m,), dtype)


def fft_inputs(shape, dtype, seed=0, device="gpu"):
    """(a, filter), complex, real and imaginary parts uniform in [-1, 1)."""
    xp = _xp(device)
    rng = xp.random.default_rng(seed)
    real = np.dtype(dtype).type(0).real.dtype

    def draw():
        return (_uniform(xp, rng, shape, real) + 1j * _uniform(xp, rng, shape, real)).astype(dtype)

    return draw(), draw()


def fft_shared_filter_inputs(shape, dtype, seed=0, device="gpu"):
    """(a (batch, n), filter (n,)) complex, parts uniform in [-1, 1)."""
    batch, n = shape
    a, filter = fft_inputs((batch + 1, n), dtype, seed=seed, device=device)
    return a[:batch].copy(), filter[0].copy()


def rfft_inputs(shape, dtype, seed=0, device="gpu"):
    """(a (batch, n) real, filter (batch, n // 2 + 1) complex of a's precision), parts uniform in [-1, 1).

    The filter's DC (and, n even, Nyquist) bins are real, as any real kernel's
    spectrum is: the product is then a valid half spectrum whose imaginary parts
    there no C2R transform has to ignore.
    """
    batch, n = shape
    xp = _xp(device)
    rng = xp.random.default_rng(seed)
    complex_dtype = np.result_type(dtype, np.complex64)
    half = (batch, n // 2 + 1)
    a = _uniform(xp, rng, shape, dtype)
    filter = (_uniform(xp, rng, half, dtype) + 1j * _uniform(xp, rng, half, dtype)).astype(complex_dtype)
    filter[:, 0] = filter[:, 0].real
    if n % 2 == 0:
        filter[:, -1] = filter[:, -1].real
    return a, filter


def fft2_inputs(shape, dtype, seed=0, device="gpu"):
    """(a (batch, h, w), filter (batch, h, w)) complex, parts uniform in [-1, 1)."""
    return fft_inputs(shape, dtype, seed=seed, device=device)
