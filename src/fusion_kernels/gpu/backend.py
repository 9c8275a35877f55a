"""The one place that imports CuPy, nvmath-python, numba and PyTorch, lazily.

The package, its CLI and the CPU tests import without a GPU; only a call that
needs the GPU asks for it here, and gets a `GPUUnavailable` that says what is
missing and how to install it.
"""

from __future__ import annotations

import functools
import importlib
import os

from . import releases

INSTALL_HINT = "install with: pip install 'fusion-kernels[cu13]' (CUDA 13) or 'fusion-kernels[cu12]' (CUDA 12)"


class GPUUnavailable(RuntimeError):
    """A GPU, CuPy, nvmath-python, numba-cuda or libmathdx is missing."""


@functools.cache
def _cupy_or_reason():
    try:
        cp = importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a broken CUDA library under CuPy
        return None, f"CuPy is not importable ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError when there is no driver
        return None, f"no CUDA device ({exc})"
    if count == 0:
        return None, "no CUDA device"
    return cp, None


@functools.cache
def _nvmath_or_reason():
    try:
        nv = importlib.import_module("nvmath")
        importlib.import_module("nvmath.linalg.advanced")
        importlib.import_module("nvmath.fft")
    except Exception as exc:
        return None, f"nvmath-python is not installed ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    return nv, None


@functools.cache
def _numba_or_reason():
    try:
        importlib.import_module("numba.cuda")
    except Exception as exc:
        # numba-cuda 0.30 fails on numpy 2.5 (np.row_stack was removed).
        return None, (
            f"numba-cuda is not importable ({type(exc).__name__}: {exc}); FFT callbacks cannot be compiled. "
            "Install nvmath-python[numba] with numpy<2.5"
        )
    return True, None


DX_INSTALL_HINT = (
    "install with: pip install 'nvmath-python[cu13-dx]' (CUDA 13) or 'nvmath-python[cu12-dx]' (CUDA 12), "
    "or 'fusion-kernels[dx]'"
)


@functools.cache
def _dx_or_reason():
    # nvmath.device registers its numba lowering only when numba.cuda imports, so numba is checked first.
    try:
        dx = importlib.import_module("nvmath.device")
    except Exception as exc:
        return None, f"nvmath.device (cuFFTDx) is not importable ({type(exc).__name__}: {exc}); {DX_INSTALL_HINT}"
    try:
        importlib.import_module("nvmath.bindings.mathdx").get_version()
    except Exception as exc:  # the binding imports, but loads libmathdx on first use
        return None, f"libmathdx is not loadable ({type(exc).__name__}: {exc}); {DX_INSTALL_HINT}"
    return dx, None
# What nvmath.distributed needs beyond nvmath-python, each with its pip package.
DISTRIBUTED_PIECES = {
    "cublasmp": ("nvmath.bindings.cublasMp", "get_version", "nvidia-cublasmp-cu13 (CUDA 12: nvidia-cublasmp-cu12)"),
    "cufftmp": ("nvmath.bindings.cufftMp", "get_version", "nvidia-cufftmp-cu13 (CUDA 12: nvidia-cufftmp-cu12)"),
    "nvshmem": ("nvmath.bindings.nvshmem", "init_status", "nvidia-nvshmem-cu13 (CUDA 12: nvidia-nvshmem-cu12)"),
    "nccl4py": ("nccl.core", None, "nccl4py (and nvidia-nccl-cu13)"),
    "nvmath.distributed": ("nvmath.distributed", None, "'nvmath-python[cu13-distributed]'"),
}


# Wheel libraries nvmath's finder (cuda.pathfinder) may miss: it scans site-packages, the
# loader's default paths and CUDA_HOME, not folders that are only on sys.path (pip install
# --target, as on an offline GPU node). It does accept a library already loaded.
_WHEEL_LIBS = {"cublasmp": "nvidia/cublasmp/cu*/lib/libcublasmp.so.*", "cufftmp": "nvidia/cufftmp/cu*/lib/libcufftMp.so.*"}
# What those libraries need that their RPATH looks for beside themselves only (nvidia/<name>/lib of
# the same folder): loaded first from any folder on sys.path, so that a --target folder holding
# cuBLASMp can use the NCCL of the environment's own site-packages.
_WHEEL_DEPS = {
    "cublasmp": ("nvidia/cu*/lib/libcublas.so.*", "nvidia/cublas/lib/libcublas.so.*", "nvidia/nccl/lib/libnccl.so.2"),
    "cufftmp": ("nvidia/nvshmem/lib/libnvshmem_host.so.*",),
}
_PRELOAD_ERRORS: dict = {}


def wheel_libs_on_path(piece: str, paths=None, patterns=None) -> list:
    """Shared libraries of `piece`'s wheel (or matching `patterns`) under the entries of sys.path (or `paths`)."""
    import glob
    import sys

    if patterns is None:
        patterns = [_WHEEL_LIBS[piece]] if piece in _WHEEL_LIBS else []
    found = []
    for pattern in patterns:
        for root in paths if paths is not None else sys.path:
            found += sorted(glob.glob(os.path.join(root or ".", pattern)))
    return found


def _preload(piece: str) -> None:
    import ctypes

    libs = wheel_libs_on_path(piece)[:1]
    if not libs:
        return
    first = {}
    for path in wheel_libs_on_path(piece, patterns=_WHEEL_DEPS.get(piece, ())):
        first.setdefault(os.path.basename(path).split(".so")[0], path)  # one copy of each library
    for path in [*first.values(), *libs]:
        try:
            ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        except OSError as exc:  # kept: the reason below names it
            _PRELOAD_ERRORS.setdefault(piece, f"loading {path} failed: {exc}")  # the first is the cause


@functools.cache
def _distributed_piece_reason(piece: str) -> str | None:
    module, probe, package = DISTRIBUTED_PIECES[piece]
    _preload(piece)
    try:
        mod = importlib.import_module(module)
        if probe:
            getattr(mod, probe)()  # the binding loads its shared library on first call
    except Exception as exc:
        loader = f"; {_PRELOAD_ERRORS[piece]}" if piece in _PRELOAD_ERRORS else ""
        return f"{piece} is not usable ({type(exc).__name__}: {str(exc).splitlines()[0]}{loader}); pip install {package}"
    return None


@functools.cache
def _torch_distributed_reason() -> str | None:
    try:
        torch = importlib.import_module("torch")
        dist = importlib.import_module("torch.distributed")
    except Exception as exc:
        return f"torch is not importable ({type(exc).__name__}: {exc}); pip install torch"
    if not dist.is_available() or not dist.is_nccl_available():
        return "torch.distributed has no NCCL backend in this torch build"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    return None


# What each need asks for, in the order the reasons are reported.
_DISTRIBUTED_NEEDS = {
    "nccl": ("nccl4py",),
    "nvshmem": ("nvshmem",),
    "cublasmp": ("nvshmem", "nccl4py", "cublasmp"),  # cuBLASMp runs on NCCL and NVSHMEM
    "cufftmp": ("nvshmem", "cufftmp"),
}


def distributed_reason(needs=("cublasmp", "cufftmp")) -> str | None:
    """Why a multi-process run cannot use `needs`, or None.

    `needs` names libraries ('cublasmp': the matmul, 'cufftmp': the 2-D FFT) or
    nvmath.distributed backends ('nccl', 'nvshmem'); `()` asks only for a GPU,
    nvmath, torch.distributed with NCCL and nvmath.distributed. Loads nothing at
    import time; each reason names the pip package that provides the piece.
    """
    pieces = ["nvmath.distributed"]
    for need in needs:
        if need not in _DISTRIBUTED_NEEDS:
            raise ValueError(f"needs must be drawn from {', '.join(_DISTRIBUTED_NEEDS)}, got {need!r}")
        pieces += _DISTRIBUTED_NEEDS[need]
    # The release before the pieces: an older nvmath.distributed fails to import for other reasons.
    why = nvmath_reason() or release_reason("distributed") or _torch_distributed_reason()
    if why:
        return why
    missing = [r for r in dict.fromkeys(_distributed_piece_reason(p) for p in pieces) if r]
    return "; ".join(missing) or None


@functools.cache
def _torch_or_reason():
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:
        return None, f"PyTorch is not installed ({type(exc).__name__}: {exc}); install with: pip install 'fusion-kernels[peers]'"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} has no CUDA device (a CPU-only build?)"
    return torch, None


def _dist_version(name: str) -> str:
    """The installed version of distribution `name` ('missing' where absent), as the import path finds it
    first: a --target folder first on PYTHONPATH wins over site-packages, as it does for imports."""
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "missing"


@functools.cache
def nvmath_version() -> str:
    """nvmath-python's version ('missing' where absent), read without importing it (once: every
    strategy's Need asks it)."""
    return _dist_version("nvmath-python")


def release_reason(piece: str) -> str | None:
    """Why `piece` (a strategy.Need value or "distributed") cannot run on this nvmath-python release, or None."""
    return releases.reason(piece, nvmath_version())


def gpu_reason() -> str | None:
    """Why the GPU path cannot run, or None if CuPy sees a device."""
    return _cupy_or_reason()[1]


def nvmath_reason() -> str | None:
    """Why nvmath-python cannot be used (GPU reasons first), or None."""
    return gpu_reason() or _nvmath_or_reason()[1]


def callbacks_reason() -> str | None:
    """Why FFT callbacks cannot be compiled, or None."""
    return nvmath_reason() or _numba_or_reason()[1]


def dx_reason() -> str | None:
    """Why cuFFTDx kernels (nvmath.device with numba-cuda and libmathdx) cannot be built, or None."""
    return nvmath_reason() or _numba_or_reason()[1] or _dx_or_reason()[1]


def torch_reason() -> str | None:
    """Why the PyTorch peers cannot run (GPU reasons first), or None."""
    return gpu_reason() or _torch_or_reason()[1]


def cupy():
    """The CuPy module, or GPUUnavailable."""
    mod, why = _cupy_or_reason()
    if mod is None:
        raise GPUUnavailable(why)
    return mod


def nvmath():
    """The nvmath module (with linalg.advanced and fft loaded), or GPUUnavailable."""
    why = nvmath_reason()
    if why:
        raise GPUUnavailable(why)
    return _nvmath_or_reason()[0]


def require_callbacks() -> None:
    why = callbacks_reason()
    if why:
        raise GPUUnavailable(why)


def dx():
    """The nvmath.device module (cuFFTDx through numba-cuda), or GPUUnavailable."""
    why = dx_reason()
    if why:
        raise GPUUnavailable(why)
    return _dx_or_reason()[0]


def require_dx() -> None:
    why = dx_reason()
    if why:
        raise GPUUnavailable(why)


def torch():
    """The torch module (with CUDA), or GPUUnavailable."""
    why = torch_reason()
    if why:
        raise GPUUnavailable(why)
    return _torch_or_reason()[0]


@functools.cache
def _cuda_bench_or_reason():
    try:
        bench = importlib.import_module("cuda.bench")
        bench.State  # noqa: B018 - loads the extension built for this CUDA major version
    except Exception as exc:
        return None, f"cuda-bench (NVIDIA's nvbench for Python) is not importable ({type(exc).__name__}: {exc}); pip install cuda-bench"
    return bench, None


def cuda_bench():
    """The cuda.bench module (nvbench), or GPUUnavailable: only the timing cross-check needs it."""
    why = gpu_reason() or _cuda_bench_or_reason()[1]
    if why:
        raise GPUUnavailable(why)
    return _cuda_bench_or_reason()[0]


def versions() -> dict[str, str]:
    """Versions of the libraries a number depends on ('missing' where absent)."""
    out = {}
    for name in ("numpy", "cupy", "nvmath", "numba", "numba_cuda"):
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:
            out[name] = "missing"
    cp = _cupy_or_reason()[0]
    if cp is not None:
        out["cuda_runtime"] = str(cp.cuda.runtime.runtimeGetVersion())
        out["cuda_driver"] = str(cp.cuda.runtime.driverGetVersion())
    return out


def _library_version(module: str, probe: str = "get_version") -> str:
    """'major.minor.patch' of a CUDA library through nvmath's bindings (the copy nvmath itself loads)."""
    try:
        v = int(getattr(importlib.import_module(module), probe)())
    except Exception:
        return "unknown"
    # cuBLAS(Lt) encode major*10000 + minor*100 + patch (>= 100000 since 10.0); cuFFT major*1000 + minor*100 + patch.
    major, rest = divmod(v, 10000) if v >= 100000 else divmod(v, 1000)
    minor, patch = divmod(rest, 100)
    return f"{major}.{minor}.{patch}"


def _nvml_facts() -> dict:
    """Driver release and the SM clock policy from NVML, where nvidia-ml-py is installed."""
    try:
        import pynvml as nvml

        nvml.nvmlInit()
    except Exception as exc:
        return {"driver": "unknown", "sm_clock": f"unknown (NVML: {type(exc).__name__})"}
    try:
        driver = nvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        h = nvml.nvmlDeviceGetHandleByIndex(cupy().cuda.Device().id)
        mhz = {}
        for key, fn in (("max", nvml.nvmlDeviceGetMaxClockInfo), ("app", nvml.nvmlDeviceGetApplicationsClock),
                        ("default", nvml.nvmlDeviceGetDefaultApplicationsClock)):
            try:
                mhz[key] = int(fn(h, nvml.NVML_CLOCK_SM))
            except Exception:
                mhz[key] = None
        if mhz["app"] is not None and mhz["app"] == mhz["default"]:
            policy = f"default-{mhz['max']}MHz"
        else:
            policy = f"applications-{mhz['app']}MHz-of-{mhz['max']}MHz"
        return {"driver": driver, "sm_clock": policy}
    except Exception as exc:
        return {"driver": "unknown", "sm_clock": f"unknown (NVML: {type(exc).__name__})"}
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass


def fingerprint() -> dict[str, str]:
    """What a timing depends on besides our code: the GPU, its driver and clock policy, the CUDA
    runtime, cuBLAS(Lt)/cuFFT and the Python libraries. Recorded with every asv result.

    Every key is always there. Without a GPU the GPU's facts say "none" and the library versions
    are still read (they name the release a run used: asv's environment name); cuBLASLt and cuFFT
    say "unknown" where nvmath-python cannot load them."""
    out = {"gpu": gpu_reason() and f"none ({gpu_reason()})" or device_name()}
    if gpu_reason() is None:
        rt = cupy().cuda.runtime.runtimeGetVersion()
        out["cuda"] = f"{rt // 1000}.{rt % 1000 // 10}"
        out.update(_nvml_facts())
    else:
        out.update(cuda="none", driver="none", sm_clock="none")
    # nvmath's bindings load the CUDA libraries without a device: only nvmath itself is needed.
    loaded = _nvmath_or_reason()[1] is None
    out["cublaslt"] = _library_version("nvmath.bindings.cublasLt") if loaded else "unknown"
    out["cufft"] = _library_version("nvmath.bindings.cufft") if loaded else "unknown"
    out.update({"nvmath-python": nvmath_version(), "cupy": next(
        (v for v in map(_dist_version, ("cupy-cuda13x", "cupy-cuda12x", "cupy")) if v != "missing"), "missing"),
        "numba-cuda": _dist_version("numba-cuda")})
    return out


def device_name() -> str:
    cp = cupy()
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def machine_name() -> str:
    """The GPU's name as an asv machine name: 'NVIDIA H100 80GB HBM3' -> 'h100-80gb-hbm3'."""
    name = device_name().lower().replace("nvidia", "").strip()
    return "-".join(part for part in name.replace("_", " ").split() if part)
