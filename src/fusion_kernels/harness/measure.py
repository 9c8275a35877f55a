"""Measure one case (workload, strategy, shape, dtype) or a whole workload: the suite's numbers.

Used by the asv suite (in setup_cache) and the report. Each figure is of one
kind only; see `timing` for cold and warm device time, call time and host time.

A case ends in one of three ways: measured; skipped, for a reason that is not a
fault (a library is missing, the strategy does not support the shape, the
device lacks the memory); or failed (`error`: anything else, a crash of the
strategy or an inconsistent measurement). A failure is never reported as a skip.
"""

from __future__ import annotations

import pickle
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..gpu import backend, memory, timing
from ..oracle import tolerances
from ..suite import checks, roofline
from ..suite.workloads import WORKLOADS

# Budgets per figure: device figures converge fast on a GPU-bound call; host-bound figures follow
# the host CPU's speed and would not reach 0.5% in any budget (docs/measurements.md).
DEVICE_CRITERION = timing.Criterion(min_samples=10, max_noise=0.005, max_seconds=0.1, max_samples=200)
WALL_CRITERION = timing.Criterion(min_samples=10, max_noise=0.01, max_seconds=0.05, max_samples=200)
# A device time this far above the call time of the same case cannot be right (docs/measurements.md).
IMPOSSIBLE_RATIO = 1.2


def shape_label(shape) -> str:
    return "x".join(str(s) for s in shape)


def availability(workload_name: str, strategy: str) -> str | None:
    """Why this strategy cannot run here, or None."""
    return WORKLOADS[workload_name].strategies[strategy].needs.reason()


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


class CaseError(RuntimeError):
    """A case failed; the message carries the original exception's type, text and traceback."""


@dataclass
class CaseResult:
    workload: str
    strategy: str
    shape: tuple
    dtype: str
    skip: str | None = None  # why the case was not measured (not a fault)
    error: str | None = None  # why the case failed: "Type: message"
    error_trace: str | None = None
    exception: bytes | None = None  # the original exception, pickled where it can be
    call_seconds: list = field(default_factory=list)
    host_seconds: list = field(default_factory=list)
    cold_device_seconds: list = field(default_factory=list)
    warm_device_seconds: list = field(default_factory=list)
    device_mode: str | None = None  # "blocked", or "synchronizing": the call waits for the GPU (timing.Samples)
    warm_batch: int | None = None
    throttled_samples: int = 0
    peak_device_bytes: int | None = None
    resident_device_bytes: int | None = None
    library_device_bytes: int | None = None
    relative_error: float | None = None
    epilog: str | None = None  # the cuBLASLt epilogue whose own accuracy bounds the result (tolerances)
    flops: float = 0.0
    bytes: float = 0.0
    bound_seconds: float | None = None

    @property
    def measured(self) -> bool:
        return not self.skip and not self.error

    @property
    def cold_median(self) -> float:
        return timing.median(self.cold_device_seconds)

    @property
    def warm_median(self) -> float:
        return timing.median(self.warm_device_seconds)

    @property
    def correct(self) -> bool | None:
        """The verdict against the oracle; None if the result was not checked."""
        if self.relative_error is None:
            return None
        return tolerances.verdict(self.relative_error, self.dtype, self.epilog)


def raise_failure(entry: dict):
    """Raise the failure recorded in a CaseResult (as a dict): the original exception where it
    unpickles, else CaseError; the original traceback rides along as a note."""
    exc = None
    if entry.get("exception"):
        try:
            exc = pickle.loads(entry["exception"])
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = CaseError(entry["error"])
    if entry.get("error_trace") and hasattr(exc, "add_note"):
        exc.add_note(f"original traceback of {entry['workload']} {entry['strategy']} "
                     f"{shape_label(entry['shape'])} {entry['dtype']}:\n{entry['error_trace']}")
    raise exc


def _record_failure(res: CaseResult, exc: BaseException) -> None:
    res.error = f"{type(exc).__name__}: {exc}"
    res.error_trace = traceback.format_exc()
    try:
        res.exception = pickle.dumps(exc)
        pickle.loads(res.exception)
    except Exception:
        res.exception = None


def _time(call, res: CaseResult, device_criterion, wall_criterion) -> None:
    """The four timing figures of one case, and the checks that they agree with each other."""
    for attempt in (1, 2):
        with timing.gc_paused():
            res.host_seconds = timing.host_times(call, criterion=wall_criterion)
            synchronizing = timing.waits_for_gpu(call)
            cold = timing.cold_device_times(call, criterion=device_criterion, synchronizing=synchronizing)
            warm = timing.warm_device_times(call, criterion=device_criterion, synchronizing=synchronizing)
            res.call_seconds = timing.call_times(call, criterion=wall_criterion)
        res.cold_device_seconds, res.warm_device_seconds = cold.seconds, warm.seconds
        res.device_mode, res.warm_batch = cold.mode, warm.batch
        res.throttled_samples = cold.throttled + warm.throttled
        why = inconsistency(res)
        if why is None:
            return
        if attempt == 2:
            raise timing.MeasurementError(f"impossible figures, measured twice: {why}")


def inconsistency(res: CaseResult) -> str | None:
    """Why the figures of one case cannot all be right, or None."""
    call = timing.median(res.call_seconds)
    for name, xs in (("cold device", res.cold_device_seconds), ("warm device", res.warm_device_seconds),
                     ("host", res.host_seconds)):
        t = timing.median(xs)
        if t > IMPOSSIBLE_RATIO * call:
            return (f"{name} time {t * 1e3:.4f} ms is above {IMPOSSIBLE_RATIO}x the call time {call * 1e3:.4f} ms "
                    "of the same case")
    return None


def measure_case(workload_name, strategy, shape, dtype, *, inputs=None, check=False,
                 device_criterion=DEVICE_CRITERION, wall_criterion=WALL_CRITERION) -> CaseResult:
    """All figures of one case; `skip` says why there are none, `error` why it failed."""
    workload = WORKLOADS[workload_name]
    res = CaseResult(workload_name, strategy, tuple(shape), dtype)
    res.skip = availability(workload_name, strategy) or fits(workload, shape, dtype)
    if res.skip:
        return res
    res.epilog = workload.epilog_of(strategy)
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
            _time(call, res, device_criterion, wall_criterion)
            res.peak_device_bytes = memory.peak_call_bytes(call)
        finally:
            call.close()
        # A second object, the libraries now loaded: what it holds between its calls.
        res.resident_device_bytes = memory.resident_bytes(lambda: factory(*args))
        res.flops = workload.flops(shape)
        res.bytes = workload.bytes(shape, dtype, strategy)
        res.bound_seconds = roofline.bound_seconds(res.flops, res.bytes, dtype, roofline.device_peaks())
    except checks.Unsupported as exc:  # a valid shape this strategy does not handle (e.g. FFT size out of range)
        res.skip = f"not supported: {exc}"
    except backend.GPUUnavailable as exc:  # a missing piece, or cuFFT declining a callback: a skip, not a failure
        res.skip = str(exc)
    except Exception as exc:  # one failing case must not stop the others; it is recorded as a failure
        if "OutOfMemory" in type(exc).__name__:
            res.skip = f"out of device memory: {exc}"
        else:
            _record_failure(res, exc)
    finally:
        if backend.gpu_reason() is None:
            backend.cupy().get_default_memory_pool().free_all_blocks()
    if not res.measured:  # no figure of a case that did not finish
        res.call_seconds, res.host_seconds, res.cold_device_seconds, res.warm_device_seconds = [], [], [], []
    return res


def measure_workload(workload_name, *, strategies=None, shapes=None, dtypes=None, check=False, progress=None,
                     warm=True, device_criterion=DEVICE_CRITERION, wall_criterion=WALL_CRITERION):
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
                    workload_name, strategy, shape, dtype, inputs=args, check=check,
                    device_criterion=device_criterion, wall_criterion=wall_criterion)
            del args
    return out
