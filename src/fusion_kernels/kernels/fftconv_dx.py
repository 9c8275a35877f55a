"""FFT convolution in ONE kernel: cuFFTDx forward FFT, filter multiply and inverse FFT.

Computes ``cupy.fft.ifft(cupy.fft.fft(a, axis=-1) * filter, axis=-1)`` for a
(batch, n) complex64/complex128 `a` and a `filter` of the same shape and dtype,
with n a power of two in [256, 4096]. The kernel is written in Python with
`nvmath.device.FFT` (cuFFTDx, compiled through numba-cuda and libmathdx): each
thread block loads `ffts_per_block` signals into registers, transforms them,
multiplies by the filter, transforms back and stores, so `a` and `filter` are
read once and the result written once. cuFFTDx's inverse is unnormalized: the
filter is scaled by 1/n (exact, n a power of two) in the multiply.

Importing this module imports no GPU library.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..gpu import backend
from ..suite import checks
from ..suite.strategy import Call, Need, Strategy

MIN_N, MAX_N = 256, 4096

# Dynamic shared memory above this needs the kernel's opt-in attribute (cudaFuncSetAttribute).
_DEFAULT_DYNAMIC_SHARED_BYTES = 48 * 1024


@dataclass(frozen=True)
class CompiledConv:
    """The numba kernel and the launch shape cuFFTDx chose for one (dtype, n, device generation)."""

    kernel: object  # numba.cuda dispatcher: kernel(a, filter, out)
    block_dim: tuple
    ffts_per_block: int
    elements_per_thread: int
    shared_memory_bytes: int


def _precision(dtype_name: str):
    return np.float32 if dtype_name == "complex64" else np.float64


def _fft(dtype_name: str, n: int, direction: str, **knobs):
    """A block-level cuFFTDx c2c FFT; knobs left out are free (`valid`) or given as "suggested"."""
    return backend.dx().FFT(size=n, precision=_precision(dtype_name), fft_type="c2c", execution="Block",
                            direction=direction, **knobs)


def valid_knobs(dtype_name: str, n: int) -> list[tuple[int, int]]:
    """(elements_per_thread, ffts_per_block) pairs cuFFTDx accepts for this size on this GPU."""
    backend.require_dx()
    fft = _fft(dtype_name, n, "forward")  # no knob fixed: cuFFTDx lists every combination it accepts
    return sorted({(int(e), int(f)) for e, f in fft.valid("elements_per_thread", "ffts_per_block")})


def _build(dtype_name: str, n: int, elements_per_thread=None, ffts_per_block=None, max_registers=None) -> CompiledConv:
    from numba import cuda

    fft = _fft(dtype_name, n, "forward", elements_per_thread=elements_per_thread or "suggested",
               ffts_per_block=ffts_per_block or "suggested")
    # The inverse must share the forward's thread layout: same knobs, not suggested again.
    ifft = _fft(dtype_name, n, "inverse", elements_per_thread=fft.elements_per_thread,
                ffts_per_block=fft.ffts_per_block)
    if tuple(ifft.block_dim) != tuple(fft.block_dim) or ifft.stride != fft.stride:
        raise RuntimeError(f"cuFFTDx gave the forward and inverse FFT of size {n} different layouts: "
                           f"block_dim {tuple(fft.block_dim)} vs {tuple(ifft.block_dim)}, stride {fft.stride} vs {ifft.stride}")
    scale = _precision(dtype_name)(1.0 / n)

    # max_registers trades spills for occupancy (the kernel is latency-bound at 72 registers/thread).
    @cuda.jit(**({"max_registers": max_registers} if max_registers else {}))
    def conv(a, filter, out):
        thread_data = cuda.local.array(shape=(fft.storage_size,), dtype=fft.value_type)
        shared_mem = cuda.shared.array(shape=(0,), dtype=fft.value_type)
        batch = a.shape[0]
        row = cuda.blockIdx.x * fft.ffts_per_block + cuda.threadIdx.y
        # The last block may hold fewer than ffts_per_block signals. Its idle threads still take part
        # in the block-wide FFTs (which synchronize the block), on a valid row, and store nothing.
        live = row < batch
        src = row if live else batch - 1

        index = cuda.threadIdx.x
        for i in range(fft.elements_per_thread):
            if index < n:
                thread_data[i] = a[src, index]
            index += fft.stride

        fft.execute(thread_data, shared_mem)

        # cuFFTDx keeps the natural order: element i of a thread is frequency threadIdx.x + i * stride.
        index = cuda.threadIdx.x
        for i in range(fft.elements_per_thread):
            if index < n:
                thread_data[i] = thread_data[i] * (filter[src, index] * scale)
            index += fft.stride

        ifft.execute(thread_data, shared_mem)

        if live:
            index = cuda.threadIdx.x
            for i in range(fft.elements_per_thread):
                if index < n:
                    out[row, index] = thread_data[i]
                index += fft.stride

    return CompiledConv(
        kernel=conv,
        block_dim=tuple(int(d) for d in fft.block_dim),
        ffts_per_block=int(fft.ffts_per_block),
        elements_per_thread=int(fft.elements_per_thread),
        shared_memory_bytes=int(max(fft.shared_memory_size, ifft.shared_memory_size)),
    )


# Launch shapes measured fastest on an H100 (`fusion-kernels tune single-kernel`; docs/measurements.md):
# (dtype, n) -> (elements_per_thread, ffts_per_block, max_registers); None keeps cuFFTDx's suggestion.
# A register cap of 64 raises occupancy at n = 4096 (72 registers/thread otherwise); at n = 1024
# complex64, 4 elements per thread beat the suggested 32 with two FFTs per block by 1.9x.
TUNED = {
    ("complex64", 4096): (None, None, 64),
    ("complex128", 4096): (None, None, 64),
    ("complex64", 1024): (4, 1, None),
}


@functools.cache
def compiled_conv(dtype_name: str, n: int, compute_capability: str, elements_per_thread=None,
                  ffts_per_block=None, max_registers=None) -> CompiledConv:
    """The kernel for (dtype, n) on a device generation, built once (numba compiles per argument layout).

    `elements_per_thread` and `ffts_per_block` default to what cuFFTDx suggests for a lone FFT.
    """
    backend.require_dx()
    return _build(dtype_name, n, elements_per_thread, ffts_per_block, max_registers)


def _allow_shared_memory(kernel, argtypes, nbytes: int) -> None:
    """Opt the compiled kernel in to `nbytes` of dynamic shared memory when above the 48 KiB default."""
    if nbytes <= _DEFAULT_DYNAMIC_SHARED_BYTES:
        return
    import ctypes

    from cuda.bindings import driver

    cufunc = kernel.compile(argtypes).library.get_cufunc()
    handle = cufunc.handle
    # numba-cuda hands out a ctypes pointer, a CUkernel or a CUfunction depending on its version and binding.
    if isinstance(handle, ctypes.c_void_p):
        handle = driver.CUfunction(handle.value)
    elif isinstance(handle, driver.CUkernel):
        err, handle = driver.cuKernelGetFunction(handle)
        if err != driver.CUresult.CUDA_SUCCESS:
            raise RuntimeError(f"cuKernelGetFunction failed: {err}")
    (err,) = driver.cuFuncSetAttribute(
        handle, driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, nbytes)
    if err != driver.CUresult.CUDA_SUCCESS:
        raise RuntimeError(f"allowing {nbytes} bytes of dynamic shared memory failed: {err}")


class SingleKernelFFTConv(Call):
    """ifft(fft(a) * filter) for the bound `a` and `filter`, one cuFFTDx kernel launch per call.

    The kernel is compiled in the constructor (cached per dtype, n and device
    generation). Each call launches on CuPy's current stream and returns the
    result: a new C-contiguous array, or `out` (overwritten) when one is given.
    New signals go in by writing into the `a` given here. Use as a context
    manager or call `close()`.

    Launch shape: the knobs given; else, on an H100-class GPU (sm_90), the
    measured `TUNED` entry for (dtype, n); else cuFFTDx's suggestion
    (`tuned=False` asks for the suggestion outright).
    """

    def __init__(self, a, filter, *, out=None, elements_per_thread: int | None = None,
                 ffts_per_block: int | None = None, max_registers: int | None = None, tuned: bool = True):
        self.shape = checks.fft_operands(a, filter)
        for name, knob in (("elements_per_thread", elements_per_thread), ("ffts_per_block", ffts_per_block),
                           ("max_registers", max_registers)):
            if knob is not None and (not isinstance(knob, int) or knob < 1):
                raise ValueError(f"{name} must be a positive int or None (cuFFTDx's suggestion), got {knob!r}")
        checks.power_of_two("n = a.shape[-1]", self.shape[1], MIN_N, MAX_N)
        if out is not None:
            checks.output("out", out, self.shape, a.dtype)
        checks.on_gpu(a=a, filter=filter, out=out)
        self.dtype = np.dtype(a.dtype)
        cp = backend.cupy()
        knobs_given = (elements_per_thread, ffts_per_block, max_registers) != (None, None, None)
        if tuned and not knobs_given and cp.cuda.Device().compute_capability == "90":  # TUNED was measured on sm_90
            elements_per_thread, ffts_per_block, max_registers = TUNED.get((self.dtype.name, self.shape[1]), (None,) * 3)
        self._compiled = compiled_conv(self.dtype.name, self.shape[1], cp.cuda.Device().compute_capability,
                                       elements_per_thread, ffts_per_block, max_registers)

        from numba import cuda

        self._cuda = cuda
        # numba views of the CuPy buffers, made once: numba synchronizes the exporting stream
        # whenever it imports a __cuda_array_interface__ with sync=True (its default for kernel arguments).
        self._a, self._filter, self._out = a, filter, out
        self._a_dev = cuda.as_cuda_array(a, sync=False)
        self._filter_dev = cuda.as_cuda_array(filter, sync=False)
        self._out_dev = cuda.as_cuda_array(out, sync=False) if out is not None else None
        # A fresh output is C-contiguous; a given one was checked to be.
        out_type = self._a_dev._numba_type_.copy(layout="C")
        argtypes = (self._a_dev._numba_type_, self._filter_dev._numba_type_, out_type)
        c = self._compiled
        c.kernel.compile(argtypes)
        _allow_shared_memory(c.kernel, argtypes, c.shared_memory_bytes)
        self._grid = -(-self.shape[0] // c.ffts_per_block)
        self._launchers = {}  # CuPy stream pointer -> configured numba launch

    @property
    def launch_shape(self) -> dict:
        """What cuFFTDx chose: block_dim, ffts_per_block, elements_per_thread, shared_memory_bytes, grid."""
        c = self._compiled
        return {"block_dim": c.block_dim, "ffts_per_block": c.ffts_per_block,
                "elements_per_thread": c.elements_per_thread, "shared_memory_bytes": c.shared_memory_bytes,
                "grid": self._grid}

    def _launcher(self, stream_ptr: int):
        launch = self._launchers.get(stream_ptr)
        if launch is None:
            c = self._compiled
            # 0 is the legacy default stream, which is also numba's stream 0.
            stream = self._cuda.external_stream(stream_ptr) if stream_ptr else 0
            launch = self._launchers[stream_ptr] = c.kernel[self._grid, c.block_dim, stream, c.shared_memory_bytes]
        return launch

    def _run(self):
        cp = backend.cupy()
        if self._out is not None:
            out, out_dev = self._out, self._out_dev
        else:
            out = cp.empty(self.shape, dtype=self.dtype)
            out_dev = self._cuda.as_cuda_array(out, sync=False)
        self._launcher(cp.cuda.get_current_stream().ptr)(self._a_dev, self._filter_dev, out_dev)
        return out

    def _release(self) -> None:
        self._a = self._filter = self._out = None
        self._a_dev = self._filter_dev = self._out_dev = None
        self._launchers = {}


def single_kernel(a, filter, *, out=None) -> SingleKernelFFTConv:
    """The strategy factory: a `SingleKernelFFTConv` bound to `a` and `filter`."""
    return SingleKernelFFTConv(a, filter, out=out)


# fftconv declares it among the fft_conv strategies. It reads a and the filter and writes the result:
# 3 passes. Left out of a default report: it compiles for 10-20 s per size.
SINGLE_KERNEL = Strategy("single_kernel", single_kernel, needs=Need.DX, passes=3, in_report=False)
