"""Measure one case (workload, strategy, shape, dtype) or a whole workload: the suite's numbers.

Used by the asv suite (in setup_cache) and the report. Each figure is of one
kind only; see `timing` for the difference between call, device and host time.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from . import backend, checks, memory, roofline, timing, tolerances
from .workloads import WORKLOADS


def shape_label(shape) -> str:
    return "x".join(str(s) for s in shape)


def availability(workload_name: str, strategy: str) -> str | None:
    """Why this strategy cannot run here, or None."""
    need = WORKLOADS[workload_name].requires[strategy]  # "gpu", "nvmath", "callbacks", "dx" or "torch"
    return getattr(backend, f"{need}_reason")()


def fits(workload, shape, dtype) -> str | None:
    need = workload.working_set_bytes(shape, dtype)
    free = memory.free_device_bytes()
    if need > 0.9 * free:
        return f"needs about {need / 2**30:.1f} GiB of device memory, {free / 2**30:.1f} GiB free"
    return None


def sampled_error(workload, args, result, rows: int = 64, seed: int = 0) -> float:
    """Relative error of `result` against the float64 oracle on up to `rows` random output rows.

    Each output row depends only on its own input row (and all of B or the
    filter's row), so the oracle of a few rows is exact for them and cheap at
    sizes where a full float64 CPU oracle would take seconds.
    """
    n = result.shape[0]
    idx = list(range(n)) if n <= rows else sorted(np.random.default_rng(seed).choice(n, rows, replace=False).tolist())
    return tolerances.relative_error(result[idx], workload.reference(*workload.take_rows(args, idx)))


@dataclass
class CaseResult:
    workload: str
    strategy: str
    shape: tuple
    dtype: str
    skip: str | None = None
    call_seconds: list = field(default_factory=list)
    device_seconds: list = field(default_factory=list)
    host_seconds: list = field(default_factory=list)
    peak_device_bytes: int | None = None
    library_device_bytes: int | None = None
    relative_error: float | None = None
    flops: float = 0.0
    bytes: float = 0.0
    bound_seconds: float | None = None
    error_trace: str | None = None

    @property
    def device_median(self) -> float:
        return timing.median(self.device_seconds)


def measure_case(workload_name, strategy, shape, dtype, *, repeat=50, inputs=None, check=False) -> CaseResult:
    """All figures of one case; `skip` says why there are none (missing library, memory, failure)."""
    workload = WORKLOADS[workload_name]
    res = CaseResult(workload_name, strategy, tuple(shape), dtype)
    res.skip = availability(workload_name, strategy) or fits(workload, shape, dtype)
    if res.skip:
        return res
    try:
        args = inputs if inputs is not None else workload.make_inputs(shape, dtype)
        factory = workload.strategies[strategy]
        made = []

        def first_call():
            made.append(factory(*args))
            return made[-1]()

        # A fresh object's first call: what plans, workspaces and libraries keep on the device.
        res.library_device_bytes = memory.driver_delta_bytes(first_call)
        call = made[0]
        try:
            if check:
                res.relative_error = sampled_error(workload, args, call())
            with timing.gc_paused():
                res.call_seconds = timing.call_times(call, repeat=repeat)
                res.device_seconds = timing.device_times(call)
                res.host_seconds = timing.host_times(call, repeat=max(10, repeat // 2))
            res.peak_device_bytes = memory.peak_call_bytes(call)
        finally:
            call.close()
        res.flops = workload.flops(shape)
        res.bytes = workload.bytes(shape, dtype, strategy)
        res.bound_seconds = roofline.bound_seconds(res.flops, res.bytes, dtype, roofline.device_peaks())
    except checks.Unsupported as exc:  # a valid shape this strategy does not handle (e.g. FFT size out of range)
        res.skip = f"not supported: {exc}"
    except backend.GPUUnavailable as exc:  # a missing piece, or cuFFT declining a callback: a skip, not a failure
        res.skip = str(exc)
    except Exception as exc:  # one failing case must not stop the others
        if "OutOfMemory" in type(exc).__name__:
            res.skip = f"out of device memory: {exc}"
        else:
            res.skip = f"failed: {type(exc).__name__}: {exc}"
            res.error_trace = traceback.format_exc()
    finally:
        if backend.gpu_reason() is None:
            backend.cupy().get_default_memory_pool().free_all_blocks()
    return res


def measure_workload(workload_name, *, strategies=None, shapes=None, dtypes=None, repeat=50, check=False, progress=None,
                     warm=True):
    """{(strategy, shape_label, dtype): CaseResult} over the workload's suite (or the subsets given)."""
    workload = WORKLOADS[workload_name]
    out = {}
    if warm and backend.gpu_reason() is None:
        timing.warm_up()
    for shape in shapes or list(workload.shapes.values()):
        for dtype in dtypes or workload.dtypes:
            args = None
            if backend.gpu_reason() is None and fits(workload, shape, dtype) is None:
                try:
                    args = workload.make_inputs(shape, dtype)
                except Exception:
                    args = None  # measure_case will say why
            for strategy in strategies or list(workload.strategies):
                if progress:
                    progress(workload_name, strategy, shape, dtype)
                out[(strategy, shape_label(shape), dtype)] = measure_case(
                    workload_name, strategy, shape, dtype, repeat=repeat, inputs=args, check=check
                )
            del args
    return out
