"""FFT convolution of a batch of signals with a frequency-domain filter.

`a` is (batch, n), complex64 or complex128; `filter` has the same shape and
dtype. Every strategy computes ``cupy.fft.ifft(cupy.fft.fft(a, axis=-1) * filter, axis=-1)``.

The fused strategies multiply by the filter inside cuFFT's forward kernel
through an LTO-IR epilog compiled from Python by `nvmath.fft.compile_epilog`.
`nvmath.fft.ifft` does not normalize (cuFFT semantics), so the epilog also
divides by n: that `/ n` is what makes the fused result equal CuPy's.
`fused_prolog` instead runs a plain forward FFT and applies the multiply (and
the / n) as the inverse FFT's prolog (load callback); see `planned_conv`.
"""

from __future__ import annotations

import functools

import numpy as np

from . import backend, checks
from .graphs import Replayed
from .planned_conv import PlannedConv
from .strategy import Bound
from . import fftconv_dx  # imports no GPU library until a kernel is built


def unfused(a, filter):
    """CuPy: fft, multiply by the filter, ifft (three steps, cuFFT plans cached by CuPy)."""
    checks.fft_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    cp = backend.cupy()
    return cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)


def _make_epilog(n: int):
    # `n` is a closure constant that numba folds into the compiled callback.
    def epilog(data_out, offset, data, filter_data, unused):
        data_out[offset] = data * filter_data[offset] / n

    return epilog


@functools.cache
def epilog_ltoir(dtype_name: str, n: int, compute_capability: str) -> bytes:
    """The filter-multiply epilog as LTO-IR, compiled once per (dtype, n, device generation)."""
    backend.require_callbacks()
    nvmath = backend.nvmath()
    try:
        return nvmath.fft.compile_epilog(_make_epilog(n), dtype_name, dtype_name, compute_capability=compute_capability)
    except Exception as exc:
        raise backend.GPUUnavailable(
            f"compiling the FFT epilog ({dtype_name}, n={n}, sm_{compute_capability}) with numba-cuda failed: "
            f"{type(exc).__name__}: {exc}. It needs numba-cuda (pip install 'nvmath-python[numba]') with numpy<2.5"
        ) from exc


def _ltoir_for(a) -> bytes:
    cp = backend.cupy()
    return epilog_ltoir(np.dtype(a.dtype).name, int(a.shape[-1]), cp.cuda.Device().compute_capability)


def fused(a, filter):
    """The tutorial's form: `nvmath.fft.fft` with the epilog, then `nvmath.fft.ifft`.

    Both are one-call APIs, so each call plans again and links the callback again
    (13-31 ms on an H100); the compiled LTO-IR is cached. `a` and `filter` must be
    C-contiguous: the epilog reads `filter` at the output's flat offset.
    """
    checks.fft_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    checks.c_contiguous("a", a)
    checks.c_contiguous("filter", filter)
    nvmath = backend.nvmath()
    spectrum = nvmath.fft.fft(a, axes=[-1], epilog={"ltoir": _ltoir_for(a), "data": filter.data.ptr})
    return nvmath.fft.ifft(spectrum, axes=[-1])


class FusedFFTConv:
    """Stateful: the forward FFT with the filter epilog and the inverse FFT, planned once.

    Call the object to execute; the result is a new array each call (the forward
    FFT's output, transformed back in place). The epilog reads `filter` through a
    raw pointer, so the object keeps a reference to it; `reset_operands(filter=...)`
    re-plans the forward FFT. Use as a context manager or call `close()`.
    """

    def __init__(self, a, filter):
        self.shape = checks.fft_operands(a, filter)
        checks.on_gpu(a=a, filter=filter)
        self.dtype = a.dtype
        backend.require_callbacks()
        self._fwd = self._inv = None
        try:
            self._plan_forward(a, filter)
            cp = backend.cupy()
            shape, strides = self._fwd.get_output_layout()
            work = cp.ndarray(shape, dtype=self.dtype, strides=[s * self.dtype.itemsize for s in strides])
            nvmath = backend.nvmath()
            self._inv = nvmath.fft.FFT(work, axes=[-1], options={"inplace": True})
            self._inv.plan()
        except Exception:
            self.close()
            raise

    def _plan_forward(self, a, filter):
        """Plan a forward FFT with the epilog reading `filter`; the old plan is kept if this fails."""
        nvmath = backend.nvmath()
        fwd = nvmath.fft.FFT(a, axes=[-1])
        try:
            shape, strides = fwd.get_output_layout()
            filter_strides = tuple(s // filter.dtype.itemsize for s in filter.strides)
            if tuple(filter.shape) != tuple(shape) or filter_strides != tuple(strides):
                raise ValueError(
                    f"filter layout (shape {tuple(filter.shape)}, strides {filter_strides} elements) does not match the "
                    f"forward FFT's output layout (shape {tuple(shape)}, strides {tuple(strides)} elements); "
                    "the epilog indexes the filter by the output's flat offset, so pass a filter with that layout "
                    "(for a C-contiguous a: cupy.ascontiguousarray(filter))"
                )
            fwd.plan(epilog={"ltoir": _ltoir_for(a), "data": filter.data.ptr})
        except Exception:
            fwd.free()
            raise
        if self._fwd is not None:
            self._fwd.free()
        self._fwd, self._filter = fwd, filter

    def __call__(self):
        if self._fwd is None:
            raise RuntimeError("FusedFFTConv is closed")
        spectrum = self._fwd.execute(direction="forward")
        # Same shape, dtype and layout as planned by construction: skip the checks.
        self._inv.reset_operand_unchecked(spectrum)
        return self._inv.execute(direction="inverse")

    execute = __call__

    def reset_operands(self, a=None, filter=None) -> None:
        """New signals (no re-plan) or a new filter (re-plans the forward FFT)."""
        for name, x in (("a", a), ("filter", filter)):
            if x is None:
                continue
            checks.array(name, x, 2, (self.dtype.name,))
            if tuple(x.shape) != tuple(self.shape):
                raise ValueError(f"{name} must have the planned shape {tuple(self.shape)}, got {tuple(x.shape)}")
            checks.on_gpu(**{name: x})
        if filter is not None:
            self._plan_forward(a if a is not None else self._fwd.operand.tensor, filter)
        elif a is not None:
            self._fwd.reset_operand(a)

    def close(self) -> None:
        for fft in (self._fwd, self._inv):
            if fft is not None:
                fft.free()
        self._fwd = self._inv = None
        self._filter = None

    free = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GraphFFTConv(Replayed):
    """`FusedFFTConv` (forward FFT with the filter epilog, inverse FFT) captured into one CUDA graph.

    Every call returns the SAME output array, overwritten by the next call; new
    signals go in by writing into the `a` given here. Use as a context manager
    or call `close()`.
    """

    def __init__(self, a, filter):
        super().__init__(FusedFFTConv(a, filter))


class PrologFFTConv(PlannedConv):
    """A plain forward FFT, then the inverse FFT with the multiply (and / n) as its PROLOG.

    The prolog reads `filter` at the inverse FFT's input offset, so its layout must
    match that input's (`get_input_layout`); a mismatch is a ValueError. Each call
    returns a new array. `reset_operands(filter=...)` re-plans the inverse FFT.
    """

    def __init__(self, a, filter):
        checks.fft_operands(a, filter)
        super().__init__(a, filter, axes=[-1], kind="prolog")


class GraphPrologFFTConv(Replayed):
    """`PrologFFTConv` captured into one CUDA graph (same output array every call; see `graphs`)."""

    def __init__(self, a, filter):
        super().__init__(PrologFFTConv(a, filter))


STRATEGIES = {
    "unfused": lambda a, filter: Bound(unfused, a, filter),
    "fused_onecall": lambda a, filter: Bound(fused, a, filter),
    "fused_planned": FusedFFTConv,
    "fused_graph": GraphFFTConv,
    "fused_prolog": PrologFFTConv,
    "fused_prolog_graph": GraphPrologFFTConv,
    **fftconv_dx.STRATEGIES,  # single_kernel: one cuFFTDx kernel, n a power of two in [256, 4096]
}

# What each strategy needs ("gpu", "nvmath", "callbacks" or "dx").
REQUIRES = {"unfused": "gpu", **{name: "callbacks" for name in STRATEGIES if name != "unfused"}, **fftconv_dx.REQUIRES}
