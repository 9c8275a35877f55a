"""The roofline model: FLOP and byte counts of each call, and the device's measured peaks.

Byte counts are the fewest bytes each strategy must move through device memory
(each array it reads read once, each array it writes written once), from the
passes over memory its declaration gives (`strategy.Strategy.passes`); a bound is
max(FLOP / peak FLOP/s, bytes / peak bandwidth) with peaks measured on the
device itself (a large device-to-device copy; a large CuPy matmul per dtype).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..gpu import backend, cache


def matmul_flops(shape) -> float:
    m, k, n = shape
    return 2.0 * m * k * n + 2.0 * m * n  # product, then bias add and ReLU per element


def matmul_bytes(shape, dtype, passes: int) -> float:
    """A, B and the bias read once, `passes` passes over the (m, n) output."""
    m, k, n = shape
    isz = np.dtype(dtype).itemsize
    return float(isz * (m * k + k * n + m + passes * m * n))


def unfused_epilog_passes(epilog: str, with_bias: bool) -> int:
    """Passes over C of the unfused C = f(A @ B [+ bias]): it writes the product, then reads and
    writes C once per later step (bias, activation). Fused: 1."""
    return 1 + 2 * (int(with_bias) + int(epilog != "BIAS"))


def matmul_epilog_bytes(with_bias: bool):
    """bytes(shape, dtype, passes) of C = f(A @ B [+ bias]): the bias is read only where there is one."""

    def count(shape, dtype, passes: int) -> float:
        m, k, n = shape
        return float(np.dtype(dtype).itemsize * (m * k + k * n + m * with_bias + passes * m * n))

    return count


def gemm_flops(shape) -> float:
    m, k, n = shape
    return 2.0 * m * k * n


def gemm_bytes(shape, dtype, passes: int) -> float:
    m, k, n = shape
    return float(np.dtype(dtype).itemsize * (m * k + k * n + passes * m * n))


def fft_conv_flops(shape) -> float:
    batch, n = shape
    return batch * (2 * 5.0 * n * math.log2(n) + 6.0 * n)  # two FFTs (5 n log2 n each) and a complex multiply


def fft_conv_bytes(shape, dtype, passes: int) -> float:
    """`passes` passes over one (batch, n) array (fftconv.STRATEGIES counts them)."""
    batch, n = shape
    return float(passes * batch * n * np.dtype(dtype).itemsize)


# ---- the FFT variants: shared filter, real signals, 2-D images ----

def fft_conv_shared_bytes(shape, dtype, passes: int) -> float:
    """One (n,) filter for the batch, read once (n elements), and `passes` passes over (batch, n)."""
    batch, n = shape
    return float((passes * batch * n + n) * np.dtype(dtype).itemsize)


def rfft_conv_flops(shape) -> float:
    batch, n = shape
    return batch * (2 * 2.5 * n * math.log2(n) + 6.0 * (n // 2 + 1))  # a real FFT is about half a complex one


def rfft_conv_bytes(shape, dtype, passes: tuple) -> float:
    """passes = (over the real signals S = batch*n reals, over the half spectra H = batch*(n//2+1)
    complex); rfftconv.STRATEGIES counts them (a copy of H is the C2R input)."""
    batch, n = shape
    real = np.dtype(dtype).itemsize
    s, h = batch * n * real, batch * (n // 2 + 1) * 2 * real
    signal_passes, spectrum_passes = passes
    return float(signal_passes * s + spectrum_passes * h)


def fft_conv2d_flops(shape) -> float:
    batch, h, w = shape
    return batch * (2 * 5.0 * h * w * math.log2(h * w) + 6.0 * h * w)


def fft_conv2d_bytes(shape, dtype, passes: int) -> float:
    """As the 1-D convolution, per-image filter: `passes` passes over (batch, h, w)."""
    batch, h, w = shape
    return float(passes * batch * h * w * np.dtype(dtype).itemsize)


def fft_forward_bytes(shape, dtype) -> float:
    """One out-of-place complex FFT: read the input, write the output."""
    return float(2 * math.prod(shape) * np.dtype(dtype).itemsize)


def bound_seconds(flops: float, nbytes: float, dtype, peaks: dict) -> float:
    """The roofline floor for a call: no version runs much faster."""
    rate = peaks["flops"].get(np.dtype(dtype).name)
    t_math = flops / rate if rate else 0.0
    return max(t_math, nbytes / peaks["bandwidth"])


def _measure_peaks() -> dict:
    from ..gpu import timing

    cp = backend.cupy()
    nbytes = 1 << 30
    src = cp.ones(nbytes // 4, dtype=cp.float32)
    dst = cp.empty_like(src)
    quick = timing.Criterion(min_samples=5, max_seconds=0.5)
    t_copy = timing.warm_device_times(lambda: dst.__setitem__(Ellipsis, src), batch=5, criterion=quick).median
    del src, dst
    flops = {}
    for dtype, size in (("float16", 8192), ("float32", 8192), ("float64", 4096)):
        a = (cp.random.default_rng(1).random((size, size), dtype=cp.float32) - 0.5).astype(dtype)
        t = timing.warm_device_times(lambda: cp.matmul(a, a), batch=3, criterion=quick).median
        flops[dtype] = 2.0 * size**3 / t
        del a
    # complex work is memory-bound here; its FLOP rate is taken as the real rate of the same precision
    flops["complex64"] = flops["float32"]
    flops["complex128"] = flops["float64"]
    cp.get_default_memory_pool().free_all_blocks()
    return {"bandwidth": 2.0 * nbytes / t_copy, "flops": flops}


def _check_peaks(peaks) -> None:
    if not isinstance(peaks, dict):
        raise TypeError(f"expected an object, got {type(peaks).__name__}")
    if not isinstance(peaks["device"], str):
        raise TypeError(f"device must be a str, got {peaks['device']!r}")
    cache.positive_number(peaks["bandwidth"], "bandwidth")
    flops = peaks["flops"]
    if not isinstance(flops, dict) or not flops:
        raise TypeError(f"flops must be a non-empty object, got {flops!r}")
    for dtype, rate in flops.items():
        cache.positive_number(rate, f"flops[{dtype!r}]")


cache.register("peaks", _check_peaks, "peaks entry")


@functools.cache
def device_peaks() -> dict:
    """Measured peaks of this device: {'device', 'bandwidth' (B/s), 'flops' {dtype: FLOP/s}}, cached on disk."""
    name = backend.device_name()
    key = f"{name}|cupy {backend.versions()['cupy']}"
    peaks = cache.get("peaks", key)  # checked by _check_peaks; a bad one is None, with a warning
    if peaks is None:
        peaks = dict(_measure_peaks(), device=name)
        cache.store("peaks", key, peaks)  # a read-only home still gets the in-process value
    return peaks
