"""FFT convolution of real signals: ``irfft(rfft(a) * filter, n)``.

`a` is (batch, n), float32 or float64; `filter` is (batch, n // 2 + 1), complex64
for float32 signals, complex128 for float64. The fused strategies plan an
nvmath-python R2C and C2R FFT once and multiply by ``filter / n`` on the
COMPLEX side of the transforms: the R2C's epilog (`fused_planned`) or the C2R's
prolog (`fused_prolog`).

cuFFT may decline a callback plan (CUFFT_NOT_SUPPORTED on some versions and
lengths; nvmath-python 1.0 refuses real-side callbacks of the cuFFT in CUDA
13.3 for lengths with a prime factor above 127). The strategies then raise
`fft_callbacks.CallbackRefused`, which the report and the asv suite show as a
skip with the message: a fused strategy never runs the unfused path under its
own name. `planned_or_unfused` is the explicit fallback for callers who want
a result either way (it warns).

nvmath-python's C2R copies its input before each transform (cuFFT overwrites
a C2R input); that copy is part of every fused call.
"""

from __future__ import annotations

import warnings

from ..gpu import backend
from ..suite import checks
from . import fft_callbacks
from ..gpu.graphs import Replayed
from .planned_conv import PlannedConv
from ..suite.strategy import Bound, Need, Strategy, declare


def unfused(a, filter):
    """CuPy: rfft, multiply, irfft."""
    batch, n = checks.rfft_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    cp = backend.cupy()
    return cp.fft.irfft(cp.fft.rfft(a, axis=-1) * filter, n=n, axis=-1)


class RFFTConv(PlannedConv):
    """R2C and C2R planned once; the multiply as the R2C epilog (kind="epilog") or the C2R prolog (kind="prolog").

    The filter must have the layout of the half spectrum the callback sees
    (checked: ValueError otherwise). Each call returns a new real array.
    Raises `fft_callbacks.CallbackRefused` when cuFFT declines the callback.
    """

    def __init__(self, a, filter, kind: str = "epilog"):
        checks.rfft_operands(a, filter)
        self._parity = "odd" if a.shape[-1] % 2 else "even"
        super().__init__(a, filter, axes=[-1], kind=kind)

    def _inverse_options(self) -> dict:
        # Out of place always: nvmath-python allows in-place for C2C only.
        return {"fft_type": "C2R", "last_axis_parity": self._parity}


class GraphRFFTConv(Replayed):
    """`RFFTConv` (epilog) captured into one CUDA graph (same output array every call; see `graphs`)."""

    def __init__(self, a, filter):
        super().__init__(RFFTConv(a, filter))


def planned_or_unfused(a, filter, kind: str = "epilog"):
    """`RFFTConv`, or, when cuFFT refuses the callback, the unfused CuPy path with a RuntimeWarning saying why."""
    try:
        return RFFTConv(a, filter, kind=kind)
    except fft_callbacks.CallbackRefused as exc:
        warnings.warn(f"{exc}. Falling back to the unfused rfft convolution (rfftconv.unfused)", RuntimeWarning,
                      stacklevel=2)
        return Bound(unfused, a, filter)


# passes: (over the real signals, over the half spectra); see roofline.rfft_conv_bytes.
# CuPy: rfft (S + H), multiply (3H), C2R input copy (2H), C2R (H + S), 1/n scaling (2S) = 4S + 7H.
# Fused, either callback: R2C (S + H), filter (H), C2R input copy (2H), C2R (H + S) = 2S + 5H.
STRATEGIES = declare(
    Strategy("unfused", lambda a, filter: Bound(unfused, a, filter), needs=Need.GPU, passes=(4, 7)),
    Strategy("fused_planned", RFFTConv, needs=Need.CALLBACKS, passes=(2, 5)),
    Strategy("fused_prolog", lambda a, filter: RFFTConv(a, filter, kind="prolog"), needs=Need.CALLBACKS, passes=(2, 5)),
    Strategy("fused_graph", GraphRFFTConv, needs=Need.CALLBACKS, passes=(2, 5)),
)
