"""The roofline model: FLOP and byte counts of each call, and the device's measured peaks.

Byte counts are the fewest bytes each strategy must move through device memory
(each array it reads read once, each array it writes written once); a bound is
max(FLOP / peak FLOP/s, bytes / peak bandwidth) with peaks measured on the
device itself (a large device-to-device copy; a large CuPy matmul per dtype).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import backend, cache


def matmul_flops(shape) -> float:
    m, k, n = shape
    return 2.0 * m * k * n + 2.0 * m * n  # product, then bias add and ReLU per element


# Array passes of the (m, n) output: unfused writes the product, reads and writes it
# for the bias, reads and writes it for ReLU; partial writes it, then reads and
# writes it once for bias + ReLU; the cuBLASLt epilogue writes it once.
# `auto` runs one of these; its floor is the fewest. A GEMM alone (the peers' baselines) writes the
# product once; the peers' fused forms write it once too.
_MATMUL_OUTPUT_PASSES = {"unfused": 5, "partial": 3, "fused_onecall": 1, "fused_planned": 1, "fused_graph": 1, "auto": 1}


def matmul_bytes(shape, dtype, strategy: str) -> float:
    m, k, n = shape
    isz = np.dtype(dtype).itemsize
    return float(isz * (m * k + k * n + m + _MATMUL_OUTPUT_PASSES[strategy] * m * n))


# The peers' floors: cuBLASLt's epilogue through PyTorch writes C once; eager PyTorch
# as unfused CuPy; TorchInductor's GEMM then one fused bias + ReLU kernel, as `partial`.
_MATMUL_OUTPUT_PASSES.update({"torch_addmm_activation": 1, "torch_eager": 5, "torch_compile": 3})


def matmul_epilog_bytes(epilog: str, with_bias: bool):
    """bytes(shape, dtype, strategy) of C = f(A @ B [+ bias]): unfused writes the product and
    reads and writes C once per later step (bias, activation); fused writes it once."""

    def count(shape, dtype, strategy: str) -> float:
        m, k, n = shape
        steps = int(with_bias) + int(epilog != "BIAS")
        passes = 1 if strategy.startswith("fused") else 1 + 2 * steps
        return float(np.dtype(dtype).itemsize * (m * k + k * n + m * with_bias + passes * m * n))

    return count


def gemm_flops(shape) -> float:
    m, k, n = shape
    return 2.0 * m * k * n


def gemm_bytes(shape, dtype, strategy: str) -> float:
    m, k, n = shape
    return float(np.dtype(dtype).itemsize * (m * k + k * n + m * n))


def fft_conv_flops(shape) -> float:
    batch, n = shape
    return batch * (2 * 5.0 * n * math.log2(n) + 6.0 * n)  # two FFTs (5 n log2 n each) and a complex multiply


# Passes over one (batch, n) array. CuPy: fft (read, write), multiply (2 reads, write),
# ifft (read, write) and its 1/n scaling (read, write) = 9. Epilog: forward reads a,
# writes the product having read the filter (3), the inverse reads and writes (2) = 5.
# Prolog: forward reads a and writes (2), the inverse reads the spectrum and the filter
# and writes (3) = 5. One cuFFTDx kernel (single_kernel) reads a and the filter and writes the result (3).
_FFT_PASSES = {"unfused": 9, "fused_onecall": 5, "fused_planned": 5, "fused_graph": 5,
               "fused_prolog": 5, "fused_prolog_graph": 5, "single_kernel": 3}


def fft_conv_bytes(shape, dtype, strategy: str) -> float:
    batch, n = shape
    return float(_FFT_PASSES[strategy] * batch * n * np.dtype(dtype).itemsize)


# ---- the FFT variants: shared filter, real signals, 2-D images ----

def fft_conv_shared_bytes(shape, dtype, strategy: str) -> float:
    """One (n,) filter for the batch: read once (n elements); the 9 / 5 passes lose the filter's pass."""
    batch, n = shape
    passes = 8 if strategy == "unfused" else 4
    return float((passes * batch * n + n) * np.dtype(dtype).itemsize)


def rfft_conv_flops(shape) -> float:
    batch, n = shape
    return batch * (2 * 2.5 * n * math.log2(n) + 6.0 * (n // 2 + 1))  # a real FFT is about half a complex one


def rfft_conv_bytes(shape, dtype, strategy: str) -> float:
    """Real signals S = batch*n reals, half spectra H = batch*(n//2+1) complex (a copy of H is the C2R input).

    CuPy: rfft (S + H), multiply (3H), C2R input copy (2H), C2R (H + S), 1/n scaling (2S) = 4S + 7H.
    Fused, either callback: R2C (S + H), filter (H), C2R input copy (2H), C2R (H + S) = 2S + 5H.
    """
    batch, n = shape
    real = np.dtype(dtype).itemsize
    s, h = batch * n * real, batch * (n // 2 + 1) * 2 * real
    return float(4 * s + 7 * h if strategy == "unfused" else 2 * s + 5 * h)


def fft_conv2d_flops(shape) -> float:
    batch, h, w = shape
    return batch * (2 * 5.0 * h * w * math.log2(h * w) + 6.0 * h * w)


def fft_conv2d_bytes(shape, dtype, strategy: str) -> float:
    """As the 1-D convolution, per-image filter: 9 passes over (batch, h, w) unfused, 5 fused."""
    batch, h, w = shape
    return float((9 if strategy == "unfused" else 5) * batch * h * w * np.dtype(dtype).itemsize)


def fft_forward_bytes(shape, dtype) -> float:
    """One out-of-place complex FFT: read the input, write the output."""
    return float(2 * math.prod(shape) * np.dtype(dtype).itemsize)


def bound_seconds(flops: float, nbytes: float, dtype, peaks: dict) -> float:
    """The roofline floor for a call: no version runs much faster."""
    rate = peaks["flops"].get(np.dtype(dtype).name)
    t_math = flops / rate if rate else 0.0
    return max(t_math, nbytes / peaks["bandwidth"])


def _measure_peaks() -> dict:
    from . import timing

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
