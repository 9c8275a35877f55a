"""The filter-multiply FFT callbacks (epilog and prolog), their layout rules, and cuFFT refusals.

Both callbacks compute ``x * filter[i] * (1 / size)`` where ``x`` is the element
cuFFT is storing (epilog) or loading (prolog) at flat offset ``offset`` and
``size`` is the number of points transformed (n, or h*w), so the unnormalized
inverse cuFFT transform gives CuPy's normalized result. ``i`` is ``offset`` for a
filter laid out like the callback's array, or ``offset % period`` for one filter
shared by every transform of the batch (period = size).
"""

from __future__ import annotations

import functools

import numpy as np

from ..gpu import backend

KINDS = ("epilog", "prolog")


class CallbackRefused(backend.GPUUnavailable):
    """cuFFT (or nvmath-python's guard for a known cuFFT bug) would not plan this callback.

    A strategy that gets it reports a skip with this message; it never silently
    runs another code path under its own name.
    """


def _make_callback(kind: str, dtype_name: str, size: int, period: int | None):
    # Closure constants are folded into the compiled code. The scale has the
    # element's real type, so complex64 stays complex64 (no float64 upcast).
    scale = np.dtype(dtype_name).type(0).real.dtype.type(1.0 / size)
    p = np.uint64(period or 1)  # uint64 like offset: a mixed int64 % uint64 would become float64 in numba
    if kind == "epilog":
        if period is None:
            def epilog(data_out, offset, data, filter_data, unused):
                data_out[offset] = data * filter_data[offset] * scale
        else:
            def epilog(data_out, offset, data, filter_data, unused):
                data_out[offset] = data * filter_data[offset % p] * scale
        return epilog
    if period is None:
        def prolog(data_in, offset, filter_data, unused):
            return data_in[offset] * filter_data[offset] * scale
    else:
        def prolog(data_in, offset, filter_data, unused):
            return data_in[offset] * filter_data[offset % p] * scale
    return prolog


@functools.cache
def multiply_ltoir(kind: str, dtype_name: str, size: int, period: int | None, compute_capability: str) -> bytes:
    """LTO-IR of the filter multiply as a cuFFT `kind` callback on `dtype_name` (complex) elements; cached."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    backend.require_callbacks()
    nvmath = backend.nvmath()
    compile_fn = nvmath.fft.compile_epilog if kind == "epilog" else nvmath.fft.compile_prolog
    try:
        return compile_fn(_make_callback(kind, dtype_name, size, period), dtype_name, dtype_name,
                          compute_capability=compute_capability)
    except Exception as exc:
        raise backend.GPUUnavailable(
            f"compiling the FFT {kind} ({dtype_name}, size={size}, period={period}, sm_{compute_capability}) with "
            f"numba-cuda failed: {type(exc).__name__}: {exc}. It needs numba-cuda (pip install 'nvmath-python[numba]') "
            "with numpy<2.5"
        ) from exc


def ltoir_for(kind: str, dtype, size: int, period: int | None = None) -> bytes:
    """`multiply_ltoir` for the current device."""
    cc = backend.cupy().cuda.Device().compute_capability
    return multiply_ltoir(kind, np.dtype(dtype).name, int(size), None if period is None else int(period), cc)


def element_strides(x) -> tuple:
    return tuple(s // x.dtype.itemsize for s in x.strides)


def check_filter_layout(filter, layout, what: str) -> None:
    """`filter` has exactly `layout` = (shape, strides in elements) of the callback's array."""
    shape, strides = (tuple(v) for v in layout)
    got = (tuple(filter.shape), element_strides(filter))
    if got != (shape, strides):
        raise ValueError(
            f"filter layout (shape {got[0]}, strides {got[1]} elements) does not match the {what} layout "
            f"(shape {shape}, strides {strides} elements); the callback indexes the filter by that array's flat "
            "offset, so pass a filter with that layout (for C-contiguous operands: cupy.ascontiguousarray(filter))"
        )


def c_contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for extent in reversed(tuple(shape)):
        strides.append(step)
        step *= extent
    return tuple(reversed(strides))


def check_shared_layout(layout, what: str, transformed: int) -> int:
    """A shared filter is read at offset % period: the array must be C-contiguous. Returns the period."""
    shape, strides = (tuple(v) for v in layout)
    if strides != c_contiguous_strides(shape):
        raise ValueError(
            f"a shared filter needs a C-contiguous {what} (each transform's {transformed} points stored "
            f"contiguously one after another), but its layout is shape {shape}, strides {strides} elements; "
            "pass C-contiguous signals or a full per-signal filter"
        )
    return int(np.prod(shape[-transformed:]))


def is_refusal(exc: BaseException) -> bool:
    """Is `exc` cuFFT (or nvmath-python's guard) declining this callback plan, rather than a bug?"""
    text = f"{type(exc).__name__}: {exc}"
    return "NOT_SUPPORTED" in text or "does not support LTO callbacks" in text


def plan_with(fft, what: str, **callbacks) -> None:
    """`fft.plan(**callbacks)`; a refusal becomes `CallbackRefused` naming `what`, other errors pass through."""
    try:
        fft.plan(**callbacks)
    except Exception as exc:
        if not is_refusal(exc):
            raise
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CallbackRefused(
            f"cuFFT refused the {what} ({type(exc).__name__}: {first_line}); this cuFFT version cannot fuse it here. "
            "Use the unfused strategy, another length, or a newer CUDA toolkit"
        ) from exc
