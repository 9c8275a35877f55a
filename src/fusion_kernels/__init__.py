"""fusion-kernels: fused (nvmath-python) vs unfused (CuPy) GPU kernels, checked and measured.

Workloads: `fusion_kernels.matmul` (ReLU(A @ B + bias[:, None])) and
`fusion_kernels.fftconv` (ifft(fft(a) * filter)). Importing the package never
imports CuPy or nvmath; `fusion_kernels.backend` does that on first GPU use.
Submodules load on first use (`fusion_kernels.reference`, ...), so the command
line starts, and answers Ctrl-C, before NumPy is imported.
"""

import importlib

__version__ = "0.1.0"

_LAZY = ("backend", "checks", "reference", "suite", "tolerances")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name == "GPUUnavailable":
        return importlib.import_module(".backend", __name__).GPUUnavailable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
