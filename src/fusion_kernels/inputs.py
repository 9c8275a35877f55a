"""Seeded random inputs. Never zeros: they hide unwritten outputs and run faster than real data."""

from __future__ import annotations

import numpy as np

from . import backend


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
