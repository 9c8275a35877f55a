"""Both workloads over several GPUs of one host with nvmath-python's `nvmath.distributed`.

One process per GPU, started by torchrun; `init()` joins torch.distributed (NCCL)
and nvmath.distributed on LOCAL_RANK's device. Every operand is this rank's block
of the global array (`row_block`/`col_block` cut it out); results are this rank's
block too, and `gather_rows` assembles the global array.

* Matmul, ReLU(A @ B + bias[:, None]) through cuBLASMp: A is split by rows, B by
  columns, C by rows (cuBLASMp's AllGather+GEMM layout, no transposes); every
  local block is column-major. `DistributedFusedMatmul` plans cuBLASMp's RELU_BIAS
  epilogue (this rank's slice of the bias: C's rows live here whole, so ReLU needs
  no reduction first); if cuBLASMp refuses that plan it falls back to the GEMM and
  ONE in-place bias+ReLU kernel, and says so in `.fusion`.
* FFT convolution through cuFFTMp. nvmath.distributed.fft has no callbacks or
  epilogues and only transforms every axis of a 2-D/3-D array, so it cannot run the
  single-GPU workload (a batch of 1-D FFTs with the filter fused in): it computes
  the 2-D convolution ifft2(fft2(a) * filter), with the multiply as a separate
  kernel. `RowSplitFFTConv` is the 1-D workload itself: rows are independent, so
  each rank runs the single-GPU strategy (fused cuFFT epilog or unfused) on its rows.

Nothing here imports CuPy, nvmath or torch at import time. NVLink multicast stays
off: `multicast_off()` sets the variables before any library starts.
"""

from __future__ import annotations

import functools
import importlib
import os

import numpy as np

from ..gpu import backend, releases
from ..kernels import fftconv, matmul
from ..suite import checks
from ..suite.strategy import Call

# NCCL's NVLS, NVSHMEM's NVLS and torch's symmetric memory would each create multicast objects.
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "NVSHMEM_DISABLE_NVLS": "1", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1"}


def multicast_off() -> None:
    """Force NVLink multicast off in this process (before NCCL, NVSHMEM or torch start)."""
    os.environ.update(MULTICAST_OFF)


# ---------------------------------------------------------------- runtime


class Runtime:
    """This process's place in the run: rank, world size, device."""

    def __init__(self, rank: int, nranks: int, device_id: int, backends: tuple[str, ...]):
        self.rank, self.nranks, self.device_id, self.backends = rank, nranks, device_id, backends

    def barrier(self) -> None:
        backend.cupy().cuda.Device().synchronize()
        torch = importlib.import_module("torch")
        importlib.import_module("torch.distributed").barrier(device_ids=[self.device_id])
        torch.cuda.synchronize()

    def close(self) -> None:
        finalize()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_backends(backends) -> tuple[str, ...]:
    backends = tuple(backends)
    if not set(backends) <= {"nccl", "nvshmem"}:
        raise ValueError(f"backends must be drawn from ('nccl', 'nvshmem'), got {backends!r}")
    return backends


def init(backends=("nccl", "nvshmem")) -> Runtime:
    """Join torch.distributed (NCCL) and, if `backends` is not empty, nvmath.distributed, on LOCAL_RANK's GPU.

    cuBLASMp needs ('nccl', 'nvshmem'), cuFFTMp ('nvshmem',), `RowSplitFFTConv` ().
    Collective: every rank calls it.
    """
    backends = check_backends(backends)
    multicast_off()
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        if key not in os.environ:
            raise RuntimeError(f"{key} is not set: start this under torchrun (python -m torch.distributed.run)")
    _require(backends)
    device_id = int(os.environ["LOCAL_RANK"])
    cp = backend.cupy()
    cp.cuda.Device(device_id).use()
    torch = importlib.import_module("torch")
    dist = importlib.import_module("torch.distributed")
    torch.cuda.set_device(device_id)
    if not dist.is_initialized():
        dist.init_process_group("nccl", device_id=torch.device("cuda", device_id))
    if backends:
        nvd = importlib.import_module("nvmath.distributed")
        if nvd.get_context() is None:
            nvd.initialize(device_id, nvd.TorchProcessGroup(device_id=device_id), backends=list(backends))
    return Runtime(dist.get_rank(), dist.get_world_size(), device_id, backends)


def _require(needs) -> None:
    why = backend.distributed_reason(tuple(needs))
    if why:
        raise backend.GPUUnavailable(why)


def finalize() -> None:
    """Leave nvmath.distributed and torch.distributed (collective)."""
    try:
        nvd = importlib.import_module("nvmath.distributed")
        nvd.finalize()
    except ImportError:
        pass
    dist = importlib.import_module("torch.distributed")
    if dist.is_initialized():
        dist.destroy_process_group()


# ---------------------------------------------------------------- blocks


def _split(length: int, nranks: int, what: str) -> int:
    if not isinstance(nranks, int) or nranks < 1:
        raise ValueError(f"nranks must be a positive int, got {nranks!r}")
    if length % nranks:
        raise ValueError(f"{what} = {length} is not divisible by the {nranks} processes; choose a multiple of {nranks}")
    return length // nranks


def _rank(rank: int, nranks: int) -> None:
    if not isinstance(rank, int) or not 0 <= rank < nranks:
        raise ValueError(f"rank must be an int in [0, {nranks}), got {rank!r}")


def row_block(x, rank: int, nranks: int, *, order: str = "C"):
    """Rows [rank * r, (rank + 1) * r) of `x` (r = rows / nranks), copied in `order` ('C' or 'F')."""
    r = _split(x.shape[0], nranks, "the number of rows")
    _rank(rank, nranks)
    block = x[rank * r:(rank + 1) * r]
    return _copy(block, order)


def col_block(x, rank: int, nranks: int, *, order: str = "C"):
    """Columns [rank * c, (rank + 1) * c) of 2-D `x`, copied in `order`."""
    c = _split(x.shape[1], nranks, "the number of columns")
    _rank(rank, nranks)
    return _copy(x[:, rank * c:(rank + 1) * c], order)


def _copy(x, order):
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    xp = backend.cupy() if type(x).__module__.startswith("cupy") else np
    return xp.array(x, order=order, copy=True)


def matmul_blocks(a, b, bias, rank: int, nranks: int):
    """This rank's (a, b, bias) blocks of global operands, laid out as the distributed matmuls take them."""
    m, k, n = checks.matmul_operands(a, b, bias)
    _split(m, nranks, "m = a.shape[0]")
    _split(n, nranks, "n = b.shape[1]")
    return row_block(a, rank, nranks, order="F"), col_block(b, rank, nranks, order="F"), row_block(bias, rank, nranks)


def fft2_blocks(a, filter, rank: int, nranks: int):
    """This rank's blocks for `DistributedFFTConv`: rows of `a` (X slab), columns of `filter` (Y slab: the spectrum's layout)."""
    n0, n1 = checks.fft_operands(a, filter)
    _split(n0, nranks, "a.shape[0]")
    _split(n1, nranks, "a.shape[1]")
    return row_block(a, rank, nranks), col_block(filter, rank, nranks)


def gather_rows(local, runtime: Runtime):
    """All ranks' row blocks stacked into the global array (C-contiguous CuPy array on every rank). Collective."""
    cp = backend.cupy()
    torch = importlib.import_module("torch")
    dist = importlib.import_module("torch.distributed")
    src = torch.from_dlpack(cp.ascontiguousarray(local))
    out = torch.empty((runtime.nranks * src.shape[0], *src.shape[1:]), dtype=src.dtype, device=src.device)
    cp.cuda.Device().synchronize()  # CuPy's stream and torch's are not ordered with each other
    dist.all_gather_into_tensor(out, src)
    torch.cuda.synchronize()
    return cp.from_dlpack(out)


# ---------------------------------------------------------------- matmul


def _check_local_matmul(a, b, bias):
    shape = checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    for name, x in (("a", a), ("b", b)):
        if not x.flags.f_contiguous:
            raise ValueError(f"{name} must be this rank's block in column-major (F-contiguous) order, got strides {x.strides}; "
                             f"use cupy.asfortranarray({name}) or distributed.matmul_blocks")
    return shape


def _row_col_row():
    from nvmath.distributed.distribution import Slab

    return [Slab.X, Slab.Y, Slab.X]  # A by rows, B by columns, C by rows


class _DistributedMatmul(Call):
    """Shared by the fused and unfused matmuls: a planned cuBLASMp GEMM on this rank's blocks."""

    fusion = "none"

    def __init__(self, a, b, bias, *, epilog=None):
        self.shape = _check_local_matmul(a, b, bias)
        self._bias = bias
        _require(("cublasmp",))
        nvd = importlib.import_module("nvmath.distributed")
        if nvd.get_context() is None:
            raise RuntimeError("nvmath.distributed is not initialized: call fusion_kernels.distributed.workloads.init() first")
        self._mm = nvd.linalg.advanced.Matmul(a, b, distributions=_row_col_row())
        try:
            self._plan(nvd, epilog)
        except Exception:
            self.close()
            raise

    def _plan(self, nvd, epilog):
        self._mm.plan()

    def _release(self) -> None:
        if getattr(self, "_mm", None) is not None:
            self._mm.free()
            self._mm = None
        self._bias = None


class DistributedFusedMatmul(_DistributedMatmul):
    """ReLU(A @ B + bias[:, None]) over all ranks: cuBLASMp's RELU_BIAS epilogue, planned once.

    `a` (m/P, k), `b` (k, n/P) and `bias` (m/P,) are this rank's blocks
    (`matmul_blocks`), `a` and `b` column-major. Each call returns this rank's
    rows of C, (m/P, n), column-major, freshly allocated. `.fusion` is 'epilog'
    when cuBLASMp accepted RELU_BIAS, 'partial' when it refused and the object
    runs the GEMM then one in-place bias+ReLU kernel. Collective: every rank
    constructs, calls and closes it together. Use as a context manager or close().
    """

    def _plan(self, nvd, epilog):
        relu_bias = nvd.linalg.advanced.MatmulEpilog.RELU_BIAS
        try:
            self._mm.plan(epilog=relu_bias, epilog_inputs={"bias": self._bias})
            self.fusion = "epilog"
        except Exception as exc:  # cuBLASMp (or nvmath) refuses this epilogue for this layout
            self.refusal = f"{type(exc).__name__}: {exc}"
            self._mm.plan()
            self.fusion = "partial"

    def _run(self):
        c = self._mm.execute()
        return c if self.fusion == "epilog" else matmul.bias_relu_inplace(c, self._bias)


class DistributedUnfusedMatmul(_DistributedMatmul):
    """The same product, unfused: cuBLASMp GEMM, then bias add, then ReLU, three kernels on this rank's block.

    Same blocks and collective rules as `DistributedFusedMatmul`; returns a new
    (m/P, n) array each call.
    """

    def _run(self):
        cp = backend.cupy()
        c = self._mm.execute()
        c = c + self._bias.reshape(-1, 1)
        return cp.maximum(c, 0)


# ---------------------------------------------------------------- FFT convolution


class _DistributedFFT2(Call):
    """A global (n0, n1) signal on the NVSHMEM symmetric heap with planned forward (X slab -> Y slab)
    and inverse (Y slab -> X slab) cuFFTMp transforms, in place on one buffer."""

    def __init__(self, a, filter):
        checks.array("a", a, 2, checks.FFT_DTYPES)
        checks.array("filter", filter, 2, checks.FFT_DTYPES)
        checks.same_dtype(a=a, filter=filter)
        checks.on_gpu(a=a, filter=filter)
        _require(("cufftmp",))
        nvd = importlib.import_module("nvmath.distributed")
        ctx = nvd.get_context()
        if ctx is None or not ctx.nvshmem_available:
            raise RuntimeError("nvmath.distributed is not initialized with NVSHMEM: call distributed.init(('nvshmem',)) first")
        nranks = ctx.process_group.nranks
        rows, n1 = a.shape
        n0 = rows * nranks
        if n1 % nranks:
            raise ValueError(f"a.shape[1] = {n1} is not divisible by the {nranks} processes")
        if tuple(filter.shape) != (n0, n1 // nranks):
            raise ValueError(f"filter must be this rank's column block of the spectrum, shape {(n0, n1 // nranks)}, "
                             f"got {tuple(filter.shape)} (use distributed.fft2_blocks)")
        self.shape, self.dtype, self._a, self._filter = (n0, n1), a.dtype, a, filter
        self._nvd = nvd
        cp = backend.cupy()
        self._work = nvd.allocate_symmetric_memory(tuple(a.shape), cp, dtype=a.dtype)
        self._fwd = self._inv = None
        try:
            fft = nvd.fft
            options = releases.keep_slabs(fft.FFTOptions)  # the spectrum stays on Y slabs: no extra all-to-all
            self._fwd = fft.FFT(self._work, distribution=fft.Slab.X, options=options)
            self._fwd.plan()
            spectrum = self._spectrum_view()
            self._inv = fft.FFT(spectrum, distribution=fft.Slab.Y, options=options)
            self._inv.plan()
        except Exception:
            self.close()
            raise

    def _spectrum_view(self):
        cp = backend.cupy()
        n0, n1 = self.shape
        nranks = n0 // self._work.shape[0]
        # Same bytes, seen as the Y slab (n0, n1 / P) that the forward transform leaves there.
        return cp.ndarray((n0, n1 // nranks), dtype=self.dtype, memptr=self._work.data)

    def _forward(self):
        self._work[...] = self._a  # cuFFTMp works in place: keep the caller's signal
        return self._fwd.execute(direction="forward")

    def _inverse(self):
        return self._inv.execute(direction="inverse")

    def _release(self) -> None:
        for fft in (getattr(self, "_fwd", None), getattr(self, "_inv", None)):
            if fft is not None:
                fft.free()
        self._fwd = self._inv = None
        if getattr(self, "_work", None) is not None:
            self._nvd.free_symmetric_memory(self._work)  # collective
            self._work = None
        self._a = self._filter = None


class DistributedFFTConv(_DistributedFFT2):
    """2-D FFT convolution ifft2(fft2(a) * filter) over all ranks with cuFFTMp, as fused as nvmath allows.

    NOT fused into the FFT: nvmath.distributed.fft offers no callbacks or epilogues,
    so the filter multiply and the 1/(n0 n1) normalisation are ONE in-place kernel
    between the forward and inverse transforms (the unfused form has two passes
    and an allocation more). `a` is this rank's row block (n0/P, n1), `filter`
    its column block (n0, n1/P) of the global filter (`fft2_blocks`). Each call
    copies `a` into a symmetric-heap buffer, transforms, multiplies, transforms
    back, and returns this rank's rows (n0/P, n1): a view of that buffer,
    overwritten by the next call. Collective, like all of this module.
    """

    def _run(self):
        spectrum = self._forward()
        _multiply_scale()(self._filter, complex(1.0 / (self.shape[0] * self.shape[1])), spectrum)
        return self._inverse()


class DistributedUnfusedFFTConv(_DistributedFFT2):
    """The same 2-D convolution unfused: forward FFT, multiply, inverse FFT, then normalise as a new array.

    The multiply writes into the symmetric buffer (cuFFTMp can transform only
    that memory); the normalisation is the separate pass CuPy's ifft makes.
    Returns a new (n0/P, n1) array each call.
    """

    def _run(self):
        cp = backend.cupy()
        spectrum = self._forward()
        cp.multiply(spectrum, self._filter, out=spectrum)
        return self._inverse() / (self.shape[0] * self.shape[1])


@functools.cache
def _multiply_scale():
    # scale arrives as T with a zero imaginary part: s * f * scale rounds like a real scaling.
    return backend.cupy().ElementwiseKernel("T f, T scale", "T s", "s = s * f * scale", "fusion_kernels_multiply_scale")


class RowSplitFFTConv(Call):
    """The single-GPU FFT convolution (a batch of 1-D FFTs) over ranks: each rank convolves its rows.

    Rows are independent, so no data moves between GPUs until `gather_rows`.
    `fused=True` runs `fftconv.FusedFFTConv` (cuFFT with the filter epilog, planned
    once); `fused=False` runs `fftconv.unfused`. `a` and `filter` are this rank's
    row blocks (`row_block`). Needs torch.distributed only (no cuFFTMp).
    """

    def __init__(self, a, filter, *, fused: bool = True):
        if not isinstance(fused, bool):
            raise TypeError(f"fused must be True or False, got {type(fused).__name__}")
        self.shape = checks.fft_operands(a, filter)
        checks.on_gpu(a=a, filter=filter)
        self.fused = fused
        self._impl = fftconv.FusedFFTConv(a, filter) if fused else fftconv.STRATEGIES["unfused"](a, filter)
        self._run = self._impl  # calls go straight to the single-GPU strategy

    def _release(self) -> None:
        self._impl.close()
        self._impl = None
