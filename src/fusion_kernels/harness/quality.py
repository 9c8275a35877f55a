"""`fusion-kernels quality events|memory|errors|host-noise|cpu-sweep|graph-host`: checks of the
suite's own measurements, printed as Markdown tables (host-noise: one JSON line per run).

events: each report case's call time (synchronised wall clock, cold L2) against CUDA events (cold L2),
median of 50 each, the two interleaved; then both around the same call, whose difference is the fixed
cost only the wall clock sees. memory: matmul peak device memory against the analytic count. errors:
the worst relative error of each strategy and dtype over the test shapes and the seed size, 5 seeds.
host-noise: a CPU-only loop and four host-bound calls. cpu-sweep: the CPU-only loop on each CPU in turn
(no GPU). graph-host: a graph replay's host time after an idle wait, after a spin, back to back.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

import numpy as np

from ..gpu import backend, memory, timing
from ..oracle import tolerances
from ..suite import shapes
from . import measure, tables
from ..suite.strategy import Need
from ..suite.workloads import WORKLOADS

ONE = timing.Criterion(min_samples=1, max_samples=1)
HOST_BOUND_CASES = [
    ("matmul_bias_relu", (1024, 4096, 1024), "float16", "unfused"),
    ("matmul_bias_relu", (2000, 1000, 4000), "float16", "fused_planned"),
    ("fft_conv", (256, 1024), "complex64", "unfused"),
    ("fft_conv", (256, 1024), "complex64", "fused_planned"),
]
BURST = 20  # graph-host: launches per back-to-back burst


def header() -> str:
    """The device and library versions, as an HTML comment above a table."""
    return f"<!-- {backend.device_name()}, {json.dumps(backend.versions())} -->"


def _cases(strategies=("unfused", "fused_planned")):
    for name, w in WORKLOADS.items():
        if not w.in_report:
            continue
        for shape in w.shapes.values():
            for dtype in w.dtypes:
                for strategy in strategies:
                    yield name, w, shape, dtype, strategy


def events() -> str:
    rows = []
    for name, w, shape, dtype, strategy in _cases():
        with w.strategies[strategy](*w.make_inputs(shape, dtype)) as call:
            call()
            walls, evs = [], []
            for _ in range(50):  # interleaved, so both see the same swings of the host's speed
                walls += timing.call_times(call, criterion=ONE, warmup=0)
                evs += timing.wall_and_event_times(call, repeat=1, warmup=0)[1]
            wall, ev = timing.median(walls), timing.median(evs)
            walls, evs = timing.wall_and_event_times(call, repeat=50)
        gap = [a - b for a, b in zip(walls, evs)]
        q25, q75 = np.percentile(gap, [25, 75], method="lower") * 1e6
        rows.append([name, measure.shape_label(shape), dtype, strategy, f"{wall * 1e3:.4f}", f"{ev * 1e3:.4f}",
                     f"{100 * (wall - ev) / ev:+.1f}%", f"{timing.median(gap) * 1e6:.1f} ({q25:.1f}-{q75:.1f})"])
    return tables.markdown(["workload", "shape", "dtype", "strategy", "suite call time (ms)", "CUDA events (ms)",
                            "difference", "same call: wall - events (us)"], rows)


def memory_check() -> str:
    rows = []
    w = WORKLOADS["matmul_bias_relu"]
    for shape in w.shapes.values():
        for dtype in w.dtypes:
            m, k, n = shape
            c = m * n * np.dtype(dtype).itemsize
            args = w.make_inputs(shape, dtype)
            for strategy in ("unfused", "fused_planned"):
                with w.strategies[strategy](*args) as call:
                    peak = memory.peak_pool_bytes(call)
                    if strategy == "fused_planned":
                        ws = call.workspace_bytes
                        analytic, what = c, f"output C only (the {ws} B workspace is held from the warm-up call on)"
                    else:
                        analytic, what = 2 * c, "product and product+bias live together, then product+bias and ReLU output: 2 C"
                rows.append([measure.shape_label(shape), dtype, strategy, peak, analytic, what])
            del args
    return tables.markdown(["shape", "dtype", "strategy", "measured peak (bytes)", "analytic (bytes)",
                            "analytic count"], rows)


def errors() -> str:
    """Worst relative error of each strategy and dtype over the test shapes and the seed size, 5 seeds."""
    rows = []
    plan = [("matmul_bias_relu", shapes.MATMUL_TEST_SHAPES + [shapes.SEED_SHAPES["matmul_bias_relu"]]),
            ("fft_conv", shapes.FFT_TEST_SHAPES + [shapes.SEED_SHAPES["fft_conv"]])]
    for name, case_shapes in plan:
        w = WORKLOADS[name]
        for dtype in w.dtypes:
            for strategy in w.strategies:
                worst = 0.0
                for shape in case_shapes:
                    for seed in range(5):
                        args = w.make_inputs(shape, dtype, seed=seed)
                        with w.strategies[strategy](*args) as call:
                            worst = max(worst, tolerances.relative_error(call(), w.reference(*args)))
                epilog = w.epilog_of(strategy)
                rows.append([name, dtype, strategy, f"{worst:.2e}", f"{tolerances.tolerance(dtype, epilog):.0e}",
                             "yes" if tolerances.verdict(worst, dtype, epilog) else "NO"])
    return tables.markdown(["workload", "dtype", "strategy", "worst relative error", "tolerance", "correct"], rows)


def cpu_loop_seconds() -> float:
    """Seconds of a fixed pure-Python loop: no GPU, no library; how fast this CPU runs host code now."""
    t0 = time.perf_counter()
    s = 0
    for i in range(3000):
        s += i * i
    return time.perf_counter() - t0


@contextlib.contextmanager
def pinned(cpu):
    """This thread on `cpu` alone; its affinity restored on exit."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, old)


def cpu_speeds(loops) -> dict:
    """{CPU: median seconds of `cpu_loop_seconds` (`loops` runs) pinned to it}, each CPU in turn.

    On a virtual machine whose CPUs share physical cores with other work, the same
    host code runs up to 2x slower on some CPUs than on others, and which ones
    changes within seconds (docs/measurements.md, table 6).
    """
    speeds = {}
    for c in sorted(os.sched_getaffinity(0)):
        with pinned(c):
            speeds[c] = timing.median([cpu_loop_seconds() for _ in range(loops)])
    return speeds


def fastest_cpu(loops=15) -> int:
    speeds = cpu_speeds(loops)
    return min(speeds, key=speeds.get)


def host_noise(how: str) -> str:
    """Medians (us) of a CPU-only loop, then of call, device and host time of host-bound calls, measured
    free, pinned to the first CPU (`pin`) or on the CPU fastest at the start of each case (`fastest`);
    run it in several processes."""
    timing.warm_up()
    out = {"cpu_loop": round(timing.median([cpu_loop_seconds() for _ in range(200)]) * 1e6, 1)}
    for name, shape, dtype, strategy in HOST_BOUND_CASES:
        w = WORKLOADS[name]
        with w.strategies[strategy](*w.make_inputs(shape, dtype)) as call:
            call()
            cpu = min(os.sched_getaffinity(0)) if how == "pin" else fastest_cpu() if how == "fastest" else None
            with pinned(cpu) if cpu is not None else contextlib.nullcontext():
                figures = [timing.call_times(call), timing.warm_device_times(call).seconds, timing.host_times(call)]
        out[f"{name}-{strategy}"] = [round(timing.median(f) * 1e6, 1) for f in figures]
    return f"{how} {json.dumps(out)}"


def cpu_sweep(rounds=3) -> str:
    """The CPU-only loop's median (us) on each CPU in turn, `rounds` times: no GPU involved."""
    cpus = sorted(os.sched_getaffinity(0))
    rows = []
    for r in range(rounds):
        speeds = cpu_speeds(100)
        rows.append([r + 1, *(f"{speeds[c] * 1e6:.0f}" for c in cpus)])
    return tables.markdown(["round", *(f"CPU {c}" for c in cpus)], rows)


def _host_after_spin(call, samples=30, spin=2e-3) -> list[float]:
    # timing.host_times starts its clock right after the drain's synchronize; this one spins the
    # host for `spin` seconds first, to tell a sleeping host's wake-up from the call's own cost.
    out = []
    for _ in range(samples):
        timing.synchronize()
        t_end = time.perf_counter() + spin
        while time.perf_counter() < t_end:
            pass
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
        timing.synchronize()
    return out


def graph_host() -> str:
    """Host time of one graph replay (us), median of 30, three ways: as the suite takes it (GPU drained,
    the host waited in a synchronize), after the same drain plus 2 ms of the host spinning (awake),
    and per launch in a burst of 20 back-to-back launches (host_times of the burst / 20)."""
    w = WORKLOADS["matmul_bias_relu"]
    thirty, five = (timing.Criterion(min_samples=n, max_samples=n) for n in (30, 5))
    rows = []
    for label in ("small", "medium", "large"):
        shape = w.shapes[label]
        for dtype in w.dtypes:
            with w.strategies["fused_graph"](*w.make_inputs(shape, dtype)) as call:
                dev = timing.warm_device_times(call).median
                waited = timing.median(timing.host_times(call, criterion=thirty))
                spun = timing.median(_host_after_spin(call))
                bursts = timing.host_times(lambda: [call() for _ in range(BURST)], criterion=five, warmup=0)
            rows.append([measure.shape_label(shape), dtype, f"{dev * 1e3:.3f}", f"{waited * 1e6:.1f}",
                         f"{spun * 1e6:.1f}", f"{timing.median(bursts) / BURST * 1e6:.1f}"])
    return tables.markdown(["shape", "dtype", "device ms", "after a wait us", "after a wait and 2 ms spin us",
                            "back-to-back us"], rows)


# check name -> (function, what it needs: a backend reason's name (fused_planned: nvmath) or None, help)
CHECKS = {
    "events": (events, Need.NVMATH, "call time (wall clock) against CUDA events, per report case"),
    "memory": (memory_check, Need.NVMATH, "matmul peak device memory against the analytic count"),
    "errors": (errors, Need.NVMATH, "worst relative error per strategy and dtype, test shapes and seed size, 5 seeds"),
    "host-noise": (host_noise, Need.NVMATH, "a CPU-only loop and four host-bound calls (us), one JSON line"),
    "cpu-sweep": (cpu_sweep, None, "the CPU-only loop on each CPU in turn (no GPU)"),
    "graph-host": (graph_host, Need.NVMATH, "a graph replay's host time: after a wait, after a spin, back to back"),
}
