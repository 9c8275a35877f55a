"""GPU-true timers. Two kinds of time, never mixed:

* call time: wall clock of one call from an idle GPU, host launch cost included,
  the device synchronised before the clock starts and before it stops;
* device time: CUDA events around back-to-back calls (or graph replays), divided
  by the count: what the kernels cost once the host keeps ahead of the GPU.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import time

from . import backend


@contextlib.contextmanager
def gc_paused():
    """No garbage collection inside timing loops, as timeit does.

    (Pinning the process to one CPU was tried on the H100 machine and made
    host-bound calls slower and no steadier: docs/measurements.md.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def synchronize() -> None:
    # The runtime call directly: Device().synchronize() builds a Device object each time, a
    # microsecond of Python inside every timed interval that ends with a synchronisation.
    backend.cupy().cuda.runtime.deviceSynchronize()


@functools.cache
def _l2_flush_buffer():
    cp = backend.cupy()
    dev = cp.cuda.Device()
    l2 = cp.cuda.runtime.getDeviceProperties(dev.id).get("l2CacheSize", 50 << 20)
    return cp.empty(2 * int(l2) // 4 + 1024, dtype=cp.float32)


def flush_l2() -> None:
    """Overwrite a buffer twice the L2 size so the next call starts with a cold cache."""
    _l2_flush_buffer().fill(1.0)


def warm_up(seconds: float = 1.0) -> None:
    """Keep the GPU busy for `seconds` so its clocks leave their idle state before measuring.

    An idle H100 sits at 345 MHz; without this the first cases measured in a
    process ran up to 2x slower than the same cases measured later.
    """
    cp = backend.cupy()
    x = cp.ones((4096, 4096), dtype=cp.float16)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            cp.matmul(x, x)
        synchronize()


def call_times(fn, *, repeat: int = 50, warmup: int = 3, flush: bool = True) -> list[float]:
    """Seconds per call, each from an idle GPU (synchronised) to the end of its GPU work."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        if flush:
            flush_l2()
        synchronize()
        t0 = time.perf_counter()
        fn()
        synchronize()
        out.append(time.perf_counter() - t0)
    return out


def event_times(fn, *, repeat: int = 50, warmup: int = 3, flush: bool = True) -> list[float]:
    """Seconds per call by CUDA events around each call, from an idle GPU (an independent check of call_times)."""
    return wall_and_event_times(fn, repeat=repeat, warmup=warmup, flush=flush)[1]


def wall_and_event_times(fn, *, repeat: int = 50, warmup: int = 3, flush: bool = True) -> tuple[list[float], list[float]]:
    """Wall clock and CUDA events around the SAME call, from an idle GPU: their difference is the
    fixed cost the wall clock sees and events cannot (first submission, completion wake-up),
    free of the host noise that separate loops pick up. The wall clock starts before the start
    event is recorded, so it does not shift the events."""
    cp = backend.cupy()
    for _ in range(warmup):
        fn()
    start, end = cp.cuda.Event(), cp.cuda.Event()
    walls, events = [], []
    for _ in range(repeat):
        if flush:
            flush_l2()
        synchronize()
        t0 = time.perf_counter()
        start.record()
        fn()
        end.record()
        end.synchronize()
        walls.append(time.perf_counter() - t0)
        events.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    return walls, events


def device_times(fn, *, batch: int | None = None, samples: int = 10, warmup: int = 3) -> list[float]:
    """Device seconds per call: events around `batch` back-to-back calls, one sample per batch.

    By default a batch lasts about 5 ms (1 to 200 calls), so event resolution and
    the first launch's latency are small against it.
    """
    cp = backend.cupy()
    for _ in range(warmup):
        fn()
    synchronize()
    if batch is None:
        t0 = time.perf_counter()
        fn()
        synchronize()
        batch = min(200, max(1, int(5e-3 / max(time.perf_counter() - t0, 1e-7))))
    start, end = cp.cuda.Event(), cp.cuda.Event()
    out = []
    for _ in range(samples):
        start.record()
        for _ in range(batch):
            fn()
        end.record()
        end.synchronize()
        out.append(cp.cuda.get_elapsed_time(start, end) / 1e3 / batch)
    return out


def host_times(fn, *, repeat: int = 50, warmup: int = 3) -> list[float]:
    """Host seconds spent inside one call (launch cost), the GPU drained before each call."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        synchronize()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        synchronize()
    return out


def first_call_time(make, *, run: bool = True) -> float:
    """Seconds from nothing to a finished first call: planning, compiling and autotuning included."""
    synchronize()
    t0 = time.perf_counter()
    obj = make()
    if run:
        obj()
    synchronize()
    dt = time.perf_counter() - t0
    close = getattr(obj, "close", None)
    if close:
        close()
    return dt


def median(xs) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
