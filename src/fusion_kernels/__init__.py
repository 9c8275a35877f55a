"""fusion-kernels: fused (nvmath-python) vs unfused (CuPy) GPU kernels, checked and measured.

Workloads: `fusion_kernels.kernels.matmul` (ReLU(A @ B + bias[:, None])) and
`fusion_kernels.kernels.fftconv` (ifft(fft(a) * filter)). Importing the package never
imports CuPy or nvmath; `fusion_kernels.gpu.backend` does that on first GPU use.
The folders: `gpu/` (the GPU runtime and timing), `kernels/` (the strategies), `oracle/`
(the float64 oracle and tolerances), `suite/` (the suite declaration), `harness/`
(measuring, reporting, the command line's tools), `distributed/` (multi-GPU). None of
their `__init__.py` imports anything: submodules load on first use, so the command
line starts, and answers Ctrl-C, before NumPy is imported.
"""

import importlib

__version__ = "0.1.0"


def __getattr__(name):
    if name == "GPUUnavailable":
        return importlib.import_module(".gpu.backend", __name__).GPUUnavailable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
