"""`fusion-kernels profile`: one case run a few times, for a profiler to attach to (Nsight Compute).

Planning and the first (warm-up) call happen before `cudaProfilerStart`, so with
`ncu --profile-from-start off` only the profiled calls are seen.
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from ..suite.workloads import WORKLOADS


def check(workload: str, strategy: str, shape: str, dtype: str) -> tuple[int, ...]:
    """The parsed shape, if `strategy`, `shape` and `dtype` fit `workload`; ValueError naming the argument."""
    w = WORKLOADS[workload]
    if strategy not in w.strategies:
        raise ValueError(f"STRATEGY of {workload} must be one of {', '.join(w.strategies)}, got {strategy!r}")
    if dtype not in w.dtypes:
        raise ValueError(f"DTYPE of {workload} must be one of {', '.join(w.dtypes)}, got {dtype!r}")
    rank = len(next(iter(w.shapes.values())))
    return checks.parse_shape(shape, f"SHAPE of {workload}", ranks=(rank,))


def run(workload: str, strategy: str, shape: tuple, dtype: str, calls: int) -> None:
    w = WORKLOADS[workload]
    runtime = backend.cupy().cuda.runtime
    with w.strategies[strategy](*w.make_inputs(shape, dtype)) as call:
        call()
        runtime.deviceSynchronize()
        runtime.profilerStart()
        for _ in range(calls):
            call()
        runtime.deviceSynchronize()
        runtime.profilerStop()
