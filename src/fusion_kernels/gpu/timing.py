"""The suite's one timing engine: nvbench's method, in CuPy.

Four figures of one call, never mixed:

* cold device time: CUDA events around ONE call, L2 flushed first, the stream
  held by a blocking kernel while the call is queued, so no host launch cost
  or gap between the call's kernels is counted (nvbench's cold GPU time);
* warm device time: the same around a batch of back-to-back calls, all queued
  behind the blocking kernel, L2 warm: the GPU time per call in a loop;
* call time: wall clock of one call from an idle GPU (synchronised before the
  clock starts and before it stops, L2 flushed): what an application pays;
* host time: wall clock spent inside one call, the GPU drained first: its
  launch cost.

Sampling stops on noise (relative standard deviation), not on a fixed count,
within a time budget (`Criterion`). Device samples taken while the SM clock ran
under `THROTTLE_FRACTION` of its maximum are discarded, as nvbench does. A call
that waits for the GPU on the host (one-call APIs that synchronise) cannot run
behind a blocking kernel: it is detected and timed with events alone, and its
samples say so (`Samples.mode`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import math
import time
from dataclasses import dataclass, field

from . import backend

THROTTLE_FRACTION = 0.75  # nvbench's default throttle threshold
_SHORTEST_CLOCK_WINDOW = 20e-6  # below this the clock estimate is too coarse to judge throttling


class MeasurementError(RuntimeError):
    """A figure could not be measured honestly (e.g. the GPU stayed throttled for every sample)."""


@dataclass(frozen=True)
class Criterion:
    """When sampling a figure stops: at `max_noise` relative standard deviation once `min_samples`
    are in, or when `max_seconds` of wall clock are spent (nvbench's stdrel criterion, with a
    budget fit for a suite of hundreds of cases)."""

    min_samples: int = 10
    max_noise: float = 0.005
    max_seconds: float = 0.5
    max_samples: int = 10_000

    def __post_init__(self):
        for name in ("min_samples", "max_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Criterion.{name} must be a positive int, got {value!r}")
        if self.max_samples < self.min_samples:
            raise ValueError(f"Criterion.max_samples ({self.max_samples}) must be >= min_samples ({self.min_samples})")
        for name in ("max_noise", "max_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or not math.isfinite(value):
                raise ValueError(f"Criterion.{name} must be a positive finite number, got {value!r}")

    def done(self, n: int, noise: float, elapsed: float) -> bool:
        """Stop after `n` samples of relative noise `noise`, `elapsed` seconds in?"""
        if n >= self.max_samples:
            return True
        if n < self.min_samples:
            return False
        return noise <= self.max_noise or elapsed >= self.max_seconds


DEFAULT = Criterion()


@dataclass
class Samples:
    """Seconds per call, and how they were taken."""

    seconds: list = field(default_factory=list)
    mode: str = "blocked"  # "blocked": behind a blocking kernel; "synchronizing": the call waits for the GPU
    batch: int = 1  # calls per sample
    throttled: int = 0  # samples discarded: SM clock under THROTTLE_FRACTION of its maximum
    clocks: list = field(default_factory=list)  # mean SM clock (Hz) of each kept sample whose window was long enough

    @property
    def median(self) -> float:
        return median(self.seconds)

    @property
    def noise(self) -> float:
        return relative_noise(self.seconds)

    @property
    def clock_hz(self) -> float | None:
        """Mean SM clock over the kept samples (None: no window long enough to read it).

        A power-bound kernel's time follows its clock, so two figures of it compare only at equal clocks."""
        return sum(self.clocks) / len(self.clocks) if self.clocks else None


def median(xs) -> float:
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("median of no samples")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def relative_noise(xs) -> float:
    """Standard deviation (Bessel-corrected) over the mean; inf with fewer than two values."""
    n = len(xs)
    if n < 2:
        return math.inf
    mean = sum(xs) / n
    if mean <= 0:
        return math.inf
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return math.sqrt(var) / mean


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
    l2 = cp.cuda.Device().attributes.get("L2CacheSize", 50 << 20)
    return cp.empty(2 * int(l2) // 4 + 1024, dtype=cp.float32)


def flush_l2() -> None:
    """Overwrite a buffer twice the L2 size so the next call starts with a cold cache."""
    _l2_flush_buffer().fill(1.0)


def warm_up(seconds: float = 1.0) -> None:
    """Keep the GPU busy for `seconds` so its clocks leave their idle state before measuring.

    An idle H100 sits at 345 MHz; without this the first cases measured in a
    process ran up to 2x slower than the same cases measured later. (Samples
    taken while the clock is still low are also discarded, see THROTTLE_FRACTION.)
    """
    cp = backend.cupy()
    x = cp.ones((4096, 4096), dtype=cp.float16)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            cp.matmul(x, x)
        synchronize()


# ---- the blocking kernel and the clock probe ----

_KERNELS = r"""
extern "C" __global__ void fk_hold(volatile unsigned long long* mem, unsigned long long timeout_ns) {
    // Spin until the host sets mem[0]; give up after timeout_ns and say so in mem[1].
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        if (mem[0] != 0ull) return;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < timeout_ns);
    mem[1] = 1ull;
    __threadfence_system();
}

extern "C" __global__ void fk_stamp(volatile unsigned long long* slot) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    slot[0] = t;
    slot[1] = (unsigned long long)clock64();
    __threadfence_system();
}
"""


class _Probe:
    """A blocking kernel and two clock stamps sharing six words of mapped, pinned host memory:
    [release flag, timed-out flag, start ns, start cycles, stop ns, stop cycles]."""

    def __init__(self):
        cp = backend.cupy()
        self._cp = cp
        rt = cp.cuda.runtime
        if not cp.cuda.Device().attributes.get("UnifiedAddressing", 1):
            raise MeasurementError("the blocking kernel needs unified addressing (host and device pointers equal)")
        flags = getattr(rt, "hostAllocMapped", 2) | getattr(rt, "hostAllocPortable", 1)
        self.ptr = rt.hostAlloc(64, flags)  # kept for the process's life, like the kernels
        self.words = (ctypes.c_uint64 * 6).from_address(self.ptr)
        module = cp.RawModule(code=_KERNELS)
        self._hold = module.get_function("fk_hold")
        self._stamp = module.get_function("fk_stamp")
        self.max_hz = cp.cuda.Device().attributes["ClockRate"] * 1e3

    def hold(self, timeout: float) -> None:
        """Queue the blocking kernel on the current stream; `release()` lets it finish."""
        self.words[0] = self.words[1] = 0
        self._hold((1,), (1,), (self._cp.uint64(self.ptr), self._cp.uint64(int(timeout * 1e9))))

    def release(self) -> None:
        self.words[0] = 1

    @property
    def timed_out(self) -> bool:
        return bool(self.words[1])

    def stamp(self, which: int) -> None:
        self._stamp((1,), (1,), (self._cp.uint64(self.ptr + 8 * (2 + 2 * which)),))

    def clock_hz(self) -> float | None:
        """SM clock between the two stamps (after a synchronisation); None if the window is too short to judge."""
        ns = self.words[4] - self.words[2]
        if ns < _SHORTEST_CLOCK_WINDOW * 1e9:
            return None
        return (self.words[5] - self.words[3]) / ns * 1e9

    def throttled(self, hz: float | None) -> bool:
        return hz is not None and hz < THROTTLE_FRACTION * self.max_hz


@functools.cache
def _probe() -> _Probe:
    return _Probe()


def _host_seconds_once(fn) -> float:
    synchronize()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    synchronize()
    return dt


def waits_for_gpu(fn) -> bool:
    """Whether `fn` blocks the host until GPU work finishes (a synchronising call).

    Queued behind a blocking kernel, a call that does not wait returns in its host time; one that
    waits returns only when the blocking kernel gives up, after a timeout ten times longer.
    """
    probe = _probe()
    timeout = max(0.2, 10 * _host_seconds_once(fn))
    synchronize()
    probe.hold(timeout)
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        dt = time.perf_counter() - t0
        waited = probe.timed_out
        probe.release()
        synchronize()
    return waited or dt >= timeout


class _Running:
    """Mean and variance of a growing sample in O(1) per value (Welford), for the stopping test."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def noise(self) -> float:
        if self.n < 2 or self.mean <= 0:
            return math.inf
        return math.sqrt(self.m2 / (self.n - 1)) / self.mean


def _sample(take, criterion: Criterion, what: str) -> tuple[list, int, list]:
    """Values of `take()` until `criterion` is met: (values, samples discarded, clocks).

    `take()` returns None for a sample discarded as throttled, else a value or (value, SM clock in Hz or None)."""
    values, throttled, stats, clocks = [], 0, _Running(), []
    t0 = time.perf_counter()
    while not criterion.done(stats.n, stats.noise, time.perf_counter() - t0):
        x = take()
        if x is None:
            throttled += 1
            if throttled > 2 * criterion.max_samples or time.perf_counter() - t0 > 10 * criterion.max_seconds:
                raise MeasurementError(f"{what}: the GPU ran under {THROTTLE_FRACTION:.0%} of its maximum SM clock "
                                       f"for {throttled} samples in a row; no sample kept")
            time.sleep(0.005)  # let the clock recover, as nvbench's throttle_recovery_delay does
            continue
        if isinstance(x, tuple):
            x, hz = x
            if hz is not None:
                clocks.append(hz)
        values.append(x)
        stats.add(x)
    return values, throttled, clocks


def _events_around(fn, calls: int, probe: _Probe | None, timeout: float) -> tuple[float, float | None]:
    """(device seconds of `calls` back-to-back calls, mean SM clock in Hz or None), behind the
    blocking kernel unless `probe` is None. Raises TimeoutError if the blocking kernel gave up."""
    cp = backend.cupy()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    if probe is None:
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        return cp.cuda.get_elapsed_time(start, stop) / 1e3, None
    probe.stamp(0)
    probe.hold(timeout)
    start.record()
    try:
        for _ in range(calls):
            fn()
    finally:
        stop.record()
        probe.stamp(1)
        timed_out = probe.timed_out
        probe.release()
        stop.synchronize()
    if timed_out:
        raise TimeoutError
    return cp.cuda.get_elapsed_time(start, stop) / 1e3, probe.clock_hz()


def cold_device_times(fn, *, criterion: Criterion = DEFAULT, synchronizing: bool | None = None,
                      warmup: int = 2) -> Samples:
    """Device seconds of one call from a cold L2, the stream held while the call is queued."""
    for _ in range(warmup):
        fn()
    if synchronizing is None:
        synchronizing = waits_for_gpu(fn)
    probe = None if synchronizing else _probe()
    timeout = max(1.0, 20 * _host_seconds_once(fn))

    def take():
        flush_l2()
        synchronize()
        seconds, hz = _events_around(fn, 1, probe, timeout)
        return None if probe and probe.throttled(hz) else (seconds, hz)

    try:
        values, throttled, clocks = _sample(take, criterion, "cold device time")
    except TimeoutError:
        raise MeasurementError("cold device time: the call waited for the GPU behind the blocking kernel although "
                               "it did not when probed; it synchronises only sometimes") from None
    return Samples(values, "synchronizing" if synchronizing else "blocked", 1, throttled, clocks)


def warm_device_times(fn, *, criterion: Criterion = DEFAULT, synchronizing: bool | None = None,
                      batch: int | None = None, warmup: int = 2, batch_seconds: float = 1e-3,
                      max_batch: int = 64, sustain: float = 0.0) -> Samples:
    """Device seconds per call of `batch` back-to-back calls, all queued behind the blocking kernel
    (L2 warm). The batch lasts about `batch_seconds` of GPU time unless given; it is kept to
    `max_batch` calls so the queued launches fit CUDA's launch queue. With `sustain`, the call
    first runs back to back for that many seconds: a power-bound kernel is then timed at the
    clock a long loop settles to, not at the clock of a short burst."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < sustain:
        fn()
    if synchronizing is None:
        synchronizing = waits_for_gpu(fn)
    probe = None if synchronizing else _probe()
    if batch is None:
        synchronize()
        one, _ = _events_around(fn, 1, None, 0)
        batch = min(max_batch, max(1, int(batch_seconds / max(one, 1e-7))))
    host = _host_seconds_once(fn)
    while True:
        timeout = max(1.0, 20 * batch * host)

        def take():
            synchronize()
            seconds, hz = _events_around(fn, batch, probe, timeout)
            return None if probe and probe.throttled(hz) else (seconds / batch, hz)

        try:
            values, throttled, clocks = _sample(take, criterion, "warm device time")
            return Samples(values, "synchronizing" if synchronizing else "blocked", batch, throttled, clocks)
        except TimeoutError:
            # The queue of launches filled while the stream was held (the host then waits for it):
            # fewer calls per batch.
            if batch == 1:
                raise MeasurementError("warm device time: one call behind the blocking kernel timed out") from None
            batch = max(1, batch // 4)


def sustained_loop(fn, *, seconds: float = 1.0, warmup: int = 2) -> tuple[float, float | None]:
    """(seconds per call, mean SM clock in Hz or None) of calls launched back to back, without the
    blocking kernel, for about `seconds`: what nvbench's batch measures, at the clock such a loop
    settles to. For a host-bound call this is the host's throughput."""
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    cp = backend.cupy()
    probe = _probe()
    for _ in range(warmup):
        fn()
    synchronize()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    probe.stamp(0)
    start.record()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    stop.record()
    probe.stamp(1)
    stop.synchronize()
    return cp.cuda.get_elapsed_time(start, stop) / 1e3 / calls, probe.clock_hz()


def loop_times(fn, *, batch: int = 20, samples: int = 5, warmup: int = 2) -> list[float]:
    """Seconds per call of `batch` back-to-back calls, launched freely (no blocking kernel): an
    application loop's throughput. For a call whose host time exceeds its device time this is the
    host's throughput, NOT device time; `auto` minimises it because that is what a loop pays."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(samples):
        synchronize()
        seconds, _ = _events_around(fn, batch, None, 0)
        out.append(seconds / batch)
    return out


def call_times(fn, *, criterion: Criterion = DEFAULT, warmup: int = 3, flush: bool = True) -> list[float]:
    """Seconds per call, each from an idle GPU (synchronised) to the end of its GPU work."""
    for _ in range(warmup):
        fn()

    def take():
        if flush:
            flush_l2()
        synchronize()
        t0 = time.perf_counter()
        fn()
        synchronize()
        return time.perf_counter() - t0

    return _sample(take, criterion, "call time")[0]


def host_times(fn, *, criterion: Criterion = DEFAULT, warmup: int = 3) -> list[float]:
    """Host seconds spent inside one call (launch cost), the GPU drained before each call."""
    for _ in range(warmup):
        fn()
    return _sample(lambda: _host_seconds_once(fn), criterion, "host time")[0]


def wall_and_event_times(fn, *, repeat: int = 50, warmup: int = 3, flush: bool = True) -> tuple[list[float], list[float]]:
    """Wall clock and CUDA events around the SAME call, from an idle GPU: their difference is the
    fixed cost the wall clock sees and events cannot (first submission, completion wake-up).
    The wall clock starts before the start event is recorded, so it does not shift the events."""
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
