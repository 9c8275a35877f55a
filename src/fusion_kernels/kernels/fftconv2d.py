"""Batched 2-D FFT convolution of images with a frequency-domain filter.

`a` is (batch, h, w), complex64 or complex128; `filter` is (batch, h, w) (one
per image) or (h, w) (shared by every image), same dtype. Every strategy
computes ``cupy.fft.ifft2(cupy.fft.fft2(a) * filter)`` over axes (-2, -1).
The fused strategies plan 2-D nvmath-python FFTs once and multiply by
``filter / (h * w)`` in a cuFFT callback: the forward FFT's epilog, or the
inverse FFT's prolog (`fused_prolog`).
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from ..gpu.graphs import Replayed
from .planned_conv import PlannedConv
from ..suite.strategy import Bound, Need, Strategy, declare

AXES = (-2, -1)


def unfused(a, filter):
    """CuPy: fft2, multiply (broadcasting a shared filter), ifft2."""
    checks.fft2_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    cp = backend.cupy()
    return cp.fft.ifft2(cp.fft.fft2(a, axes=AXES) * filter, axes=AXES)


class FFTConv2D(PlannedConv):
    """2-D FFTs planned once; the multiply as the forward epilog (kind="epilog") or inverse prolog (kind="prolog").

    A filter of shape (batch, h, w) must match the layout of the array the
    callback sees; one of shape (h, w) is read at ``offset % (h * w)`` and needs
    that array C-contiguous. Each call returns a new array.
    """

    def __init__(self, a, filter, kind: str = "epilog"):
        checks.fft2_operands(a, filter)
        super().__init__(a, filter, axes=AXES, kind=kind)


class GraphFFTConv2D(Replayed):
    """`FFTConv2D` (epilog) captured into one CUDA graph (same output array every call; see `graphs`)."""

    def __init__(self, a, filter):
        super().__init__(FFTConv2D(a, filter))


# passes: over (batch, h, w), per-image filter, as the 1-D convolution (fftconv): 9 unfused, 5 fused.
STRATEGIES = declare(
    Strategy("unfused", lambda a, filter: Bound(unfused, a, filter), needs=Need.GPU, passes=9),
    Strategy("fused_planned", FFTConv2D, needs=Need.CALLBACKS, passes=5),
    Strategy("fused_prolog", lambda a, filter: FFTConv2D(a, filter, kind="prolog"), needs=Need.CALLBACKS, passes=5),
    Strategy("fused_graph", GraphFFTConv2D, needs=Need.CALLBACKS, passes=5),
)
