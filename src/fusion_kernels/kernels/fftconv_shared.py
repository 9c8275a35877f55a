"""FFT convolution of a batch of signals with ONE frequency-domain filter shared by all of them.

`a` is (batch, n), complex64 or complex128; `filter` is (n,), same dtype. Every
strategy computes ``cupy.fft.ifft(cupy.fft.fft(a, axis=-1) * filter, axis=-1)``
(the filter broadcast over the batch). The fused strategies read
``filter[offset % n]`` in the forward FFT's epilog, which needs the forward
output C-contiguous with rows of n (checked; refused with a ValueError
otherwise). The filter is n elements instead of batch * n: a cached read.
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from ..gpu.graphs import Replayed
from .planned_conv import PlannedConv
from ..suite.strategy import Bound, Need, Strategy, declare


def unfused(a, filter):
    """CuPy: fft, multiply by the broadcast filter, ifft."""
    checks.fft_shared_operands(a, filter)
    checks.on_gpu(a=a, filter=filter)
    cp = backend.cupy()
    return cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)


class SharedFilterFFTConv(PlannedConv):
    """Both FFTs planned once; the multiply by ``filter[offset % n] / n`` as the forward FFT's epilog
    (kind="prolog": as the inverse FFT's prolog). Each call returns a new array."""

    def __init__(self, a, filter, kind: str = "epilog"):
        checks.fft_shared_operands(a, filter)
        super().__init__(a, filter, axes=[-1], kind=kind)


class GraphSharedFilterFFTConv(Replayed):
    """`SharedFilterFFTConv` captured into one CUDA graph (same output array every call; see `graphs`)."""

    def __init__(self, a, filter):
        super().__init__(SharedFilterFFTConv(a, filter))


# passes: over (batch, n), the filter's own pass left out (roofline.fft_conv_shared_bytes reads its n
# elements once): fftconv's 9 and 5 less one.
STRATEGIES = declare(
    Strategy("unfused", lambda a, filter: Bound(unfused, a, filter), needs=Need.GPU, passes=8),
    Strategy("fused_planned", SharedFilterFFTConv, needs=Need.CALLBACKS, passes=4),
    Strategy("fused_graph", GraphSharedFilterFFTConv, needs=Need.CALLBACKS, passes=4),
)
