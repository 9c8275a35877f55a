"""FFT convolution of a batch of signals with a frequency-domain filter.

`a` is (batch, n), complex64 or complex128; `filter` has the same shape and
dtype. Every strategy computes ``cupy.fft.ifft(cupy.fft.fft(a, axis=-1) * filter, axis=-1)``.

The fused strategies multiply by the filter inside cuFFT's forward kernel
through an LTO-IR epilog compiled from Python by `nvmath.fft.compile_epilog`.
`nvmath.fft.ifft` does not normalize (cuFFT semantics), so the epilog also
scales by 1/n: that is what makes the fused result equal CuPy's.
`fused_prolog` instead runs a plain forward FFT and applies the multiply (and
the / n) as the inverse FFT's prolog (load callback); see `planned_conv`.
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from . import fft_callbacks
from ..gpu.graphs import Replayed
from .planned_conv import PlannedConv
from ..suite.strategy import Bound, Need, Strategy, declare
from . import fftconv_dx  # imports no GPU library until a kernel is built


def unfused(a, filter):
    """CuPy: fft, multiply by the filter, ifft (three steps, cuFFT plans cached by CuPy)."""
    checks.fft_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    cp = backend.cupy()
    return cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)


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
    ltoir = fft_callbacks.ltoir_for("epilog", a.dtype, a.shape[-1])
    spectrum = nvmath.fft.fft(a, axes=[-1], epilog={"ltoir": ltoir, "data": filter.data.ptr})
    return nvmath.fft.ifft(spectrum, axes=[-1])


class FusedFFTConv(PlannedConv):
    """The forward FFT with the filter multiply (and / n) as its EPILOG, then the inverse FFT in place.

    Planned once; each call returns a new array. The epilog reads `filter` at the
    forward FFT's output offset, so its layout must match that output's; a mismatch
    is a ValueError. `reset_operands(filter=...)` re-plans the forward FFT.
    """

    def __init__(self, a, filter):
        checks.fft_operands(a, filter)
        super().__init__(a, filter, axes=[-1], kind="epilog")


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


# passes: over one (batch, n) array (roofline.fft_conv_bytes). CuPy: fft (read, write), multiply
# (2 reads, write), ifft (read, write) and its 1/n scaling (read, write) = 9. Epilog: forward reads a,
# writes the product having read the filter (3), the inverse reads and writes (2) = 5. Prolog: forward
# reads a and writes (2), the inverse reads the spectrum and the filter and writes (3) = 5.
STRATEGIES = declare(
    Strategy("unfused", lambda a, filter: Bound(unfused, a, filter), needs=Need.GPU, passes=9),
    Strategy("fused_onecall", lambda a, filter: Bound(fused, a, filter), needs=Need.CALLBACKS, passes=5),
    Strategy("fused_planned", FusedFFTConv, needs=Need.CALLBACKS, passes=5),
    Strategy("fused_graph", GraphFFTConv, needs=Need.CALLBACKS, passes=5),
    Strategy("fused_prolog", PrologFFTConv, needs=Need.CALLBACKS, passes=5),
    Strategy("fused_prolog_graph", GraphPrologFFTConv, needs=Need.CALLBACKS, passes=5),
    fftconv_dx.SINGLE_KERNEL,  # one cuFFTDx kernel, n a power of two in [256, 4096]
)
