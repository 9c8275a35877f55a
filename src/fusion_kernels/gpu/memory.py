"""Peak device memory of one call.

Two figures: the high-water mark of live CuPy-pool allocations during the call
(nvmath allocates its outputs and workspaces for CuPy operands through CuPy's
pool, so a MemoryHook sees them), and the drop in the driver's free memory
(cudaMemGetInfo) around a first call, for what libraries allocate themselves.
Neither is host RSS, which asv's `peakmem_` measures.
"""

from __future__ import annotations

import functools

from . import backend


@functools.cache
def _hook_class():
    cp = backend.cupy()

    class PeakHook(cp.cuda.MemoryHook):
        name = "fusion_kernels_peak"

        def __init__(self):
            self.live = 0
            self.peak = 0

        def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
            self.live += mem_size
            self.peak = max(self.peak, self.live)

        def free_postprocess(self, device_id, mem_size, mem_ptr, pmem_id):
            self.live -= mem_size

    return PeakHook


def peak_pool_bytes(fn, *, warmup: bool = True) -> int:
    """Bytes: the most the call held at once from the CuPy pool, outputs included.

    After a warm-up call (plans and caches exist) and with the pool's cached
    blocks freed, so the figure is what the call itself needs.
    """
    cp = backend.cupy()
    if warmup:
        fn()
    cp.cuda.Device().synchronize()
    cp.get_default_memory_pool().free_all_blocks()
    hook = _hook_class()()
    with hook:
        out = fn()
        cp.cuda.Device().synchronize()
    del out
    return int(hook.peak)


def peak_call_bytes(call) -> int:
    """`peak_pool_bytes`, or the call's own count where its memory comes from another allocator
    (a `peak_device_bytes()` method: the PyTorch peers)."""
    own = getattr(call, "peak_device_bytes", None)
    return int(own()) if callable(own) else peak_pool_bytes(call)


def driver_delta_bytes(fn) -> int:
    """Bytes: the drop in cudaMemGetInfo's free memory across one (typically first) call, pool blocks freed."""
    cp = backend.cupy()
    pool = cp.get_default_memory_pool()
    cp.cuda.Device().synchronize()
    pool.free_all_blocks()
    free_before, _ = cp.cuda.runtime.memGetInfo()
    out = fn()
    cp.cuda.Device().synchronize()
    del out
    pool.free_all_blocks()
    free_after, _ = cp.cuda.runtime.memGetInfo()
    return int(free_before - free_after)


def _release_cached() -> None:
    """Return the blocks allocators keep cached to the driver, so cudaMemGetInfo sees only live memory."""
    import sys

    cp = backend.cupy()
    cp.cuda.Device().synchronize()
    cp.get_default_memory_pool().free_all_blocks()
    torch = sys.modules.get("torch")  # only if a strategy already imported it (the PyTorch peers)
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def resident_bytes(make) -> int:
    """Bytes a strategy object holds on the device between its calls: plans, workspaces, a graph's
    private pool with its outputs and intermediates. The drop in cudaMemGetInfo's free memory from
    before `make()` to after its first call, with that call's result released. Make one object of
    the same kind first, so one-time library loading is not counted (2 MiB pages: the driver's
    granularity)."""
    cp = backend.cupy()
    _release_cached()
    free_before, _ = cp.cuda.runtime.memGetInfo()
    obj = make()
    try:
        out = obj()
        del out
        _release_cached()
        free_after, _ = cp.cuda.runtime.memGetInfo()
    finally:
        obj.close()
    _release_cached()
    return max(0, int(free_before - free_after))


def free_device_bytes() -> int:
    return int(backend.cupy().cuda.runtime.memGetInfo()[0])
