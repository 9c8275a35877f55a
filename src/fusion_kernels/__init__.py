"""fusion-kernels: fused (nvmath-python) vs unfused (CuPy) GPU kernels, checked and measured.

Workloads: `fusion_kernels.matmul` (ReLU(A @ B + bias[:, None])) and
`fusion_kernels.fftconv` (ifft(fft(a) * filter)). Importing the package never
imports CuPy or nvmath; `fusion_kernels.backend` does that on first GPU use.
"""

__version__ = "0.1.0"

from . import backend, checks, reference, suite, tolerances  # noqa: E402,F401
from .backend import GPUUnavailable  # noqa: E402,F401
