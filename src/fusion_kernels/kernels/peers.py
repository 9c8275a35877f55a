"""What else computes C = ReLU(A @ B + bias[:, None]), and the GEMM alone, on the same CuPy inputs.

Peers (PyTorch, zero-copy through DLPack; `pip install 'fusion-kernels[peers]'`):

* `torch_addmm_activation`: `torch._addmm_activation`, cuBLASLt's bias + ReLU
  epilogue as PyTorch calls it. It adds a ROW-vector bias, so it computes the
  transposed product ReLU(B^T A^T + bias) = C^T and returns its transpose, a view
  whose values are C (F-contiguous).
* `torch_eager`: `torch.relu(A @ B + bias[:, None])`, three kernels.
* `torch_compile`: `torch.compile` of the eager function (TorchInductor; shapes
  static). Compiled, and run once, at construction, outside any timing.

GEMM-alone baselines, the floor any fused form is held to: `gemm_cupy`
(`cupy.matmul`), `gemm_nvmath` (planned nvmath `Matmul`, no epilogue),
`gemm_torch` (`torch.mm`). Every factory takes (a, b, bias); the GEMMs ignore bias.

PyTorch calls run on CuPy's current stream (the same stream, or an
`ExternalStream` wrapping it), so CUDA events on that stream time them. PyTorch
results come from its own caching allocator, not CuPy's pool, so a `TorchCall`
counts its peak device memory itself (`peak_device_bytes`, PyTorch's allocator
statistics).
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from . import tuning
from ..suite.strategy import Bound, Call, Need, Planned, Strategy, declare


class TorchCall(Call):
    """`fn(*tensors)` on DLPack views of CuPy arrays, launched on CuPy's current stream."""

    def __init__(self, fn, *arrays):
        self._torch = backend.torch()
        self._cp = backend.cupy()
        self._keep = arrays  # the tensors borrow this memory
        self._args = tuple(self._torch.from_dlpack(x) for x in arrays)
        self._fn = fn
        self._streams = {}

    def _stream(self):
        ptr = self._cp.cuda.get_current_stream().ptr
        if self._torch.cuda.current_stream().cuda_stream == ptr:
            return None
        if ptr not in self._streams:
            self._streams[ptr] = self._torch.cuda.ExternalStream(ptr)
        return self._streams[ptr]

    def _run(self):
        stream = self._stream()
        if stream is None:
            return self._fn(*self._args)
        with self._torch.cuda.stream(stream):
            return self._fn(*self._args)

    def peak_device_bytes(self) -> int:
        """Most bytes PyTorch's allocator held at once during one warm call, output included
        (the counterpart of `memory.peak_pool_bytes` for memory CuPy's pool never sees)."""
        torch = self._torch
        self()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        out = self()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
        del out
        return int(peak)

    def _release(self) -> None:
        self._fn = None
        self._args = self._keep = ()


def _checked(a, b, bias):
    checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)


def _addmm_activation(a, b, bias):
    torch = backend.torch()
    return torch._addmm_activation(bias, b.T, a.T).T  # (B^T A^T + bias as a row)^T = A B + bias per row


def _eager(a, b, bias):
    return (a @ b + bias[:, None]).relu()  # torch.relu(...); tensor methods only, nothing for dynamo to trace around


def torch_addmm_activation(a, b, bias):
    _checked(a, b, bias)
    return TorchCall(_addmm_activation, a, b, bias)


def torch_eager(a, b, bias):
    _checked(a, b, bias)
    return TorchCall(_eager, a, b, bias)


def _allow_recompiles(torch) -> None:
    # Each shape and dtype compiles once (static shapes); the default limit (8) would
    # silently send the suite's later cases back to eager.
    cfg = torch._dynamo.config
    for name, least in (("cache_size_limit", 256), ("recompile_limit", 256),
                        ("accumulated_cache_size_limit", 1024), ("accumulated_recompile_limit", 1024)):
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), least))


def torch_compile(a, b, bias):
    _checked(a, b, bias)
    torch = backend.torch()
    _allow_recompiles(torch)
    call = TorchCall(torch.compile(_eager, dynamic=False), a, b, bias)
    call()  # compiles here, not in the first timed call
    backend.cupy().cuda.get_current_stream().synchronize()
    return call


class PlannedGemm(Planned):
    """nvmath's planned `Matmul` of a @ b, no epilogue; the result takes A's layout (C-contiguous here)."""

    def __init__(self, a, b, bias=None, *, autotune=False):
        self.shape = checks.matmul_ab(a, b)
        checks.on_gpu(a=a, b=b)
        super().__init__(*tuning.planned_matmul(a, b, autotune=autotune))


def gemm_cupy(a, b, bias=None):
    checks.matmul_ab(a, b)
    checks.on_gpu(a=a, b=b)
    return Bound(backend.cupy().matmul, a, b)


def gemm_torch(a, b, bias=None):
    checks.matmul_ab(a, b)
    checks.on_gpu(a=a, b=b)
    return TorchCall(backend.torch().mm, a, b)


# passes over the (m, n) output, as matmul's: cuBLASLt's epilogue through PyTorch writes C once; eager
# PyTorch as unfused CuPy; TorchInductor's GEMM then one fused bias + ReLU kernel, as `partial`.
PEERS = declare(
    Strategy("torch_addmm_activation", torch_addmm_activation, needs=Need.TORCH, passes=1),
    Strategy("torch_eager", torch_eager, needs=Need.TORCH, passes=5),
    Strategy("torch_compile", torch_compile, needs=Need.TORCH, passes=3),
)
# A GEMM alone writes the product once (roofline.gemm_bytes).
GEMMS = declare(
    Strategy("gemm_cupy", gemm_cupy, needs=Need.GPU, passes=1),
    Strategy("gemm_nvmath", PlannedGemm, needs=Need.NVMATH, passes=1),
    Strategy("gemm_torch", gemm_torch, needs=Need.TORCH, passes=1),
)
