"""Checks of the suite's own measurements on the GPU, printed as Markdown tables.

  python scripts/measurement_quality.py events            # call time vs CUDA events
  python scripts/measurement_quality.py memory            # peak device memory vs analytic count
  python scripts/measurement_quality.py errors            # worst relative error against the oracle
  python scripts/measurement_quality.py host-noise [--pin|--fastest]  # a CPU-only loop and four host-bound calls in this process (us)
  python scripts/measurement_quality.py cpu-sweep         # the CPU-only loop on each CPU in turn (no GPU)
  python scripts/measurement_quality.py graph-host        # a graph replay's host time: after an idle wait or not

`events` times each suite case the way the suite's call time does (synchronised
wall clock, cold L2) and independently with CUDA events (cold L2), median of 50
each, the two interleaved; then both around the same call, whose difference is the fixed cost only
the wall clock sees.
"""

import contextlib
import json
import os
import sys
import time

import numpy as np

from fusion_kernels import backend, memory, timing, workloads

ONE = timing.Criterion(min_samples=1, max_samples=1)


def cases(strategies=("unfused", "fused_planned")):
    for name, w in workloads.WORKLOADS.items():
        if not w.in_report:
            continue
        for shape in w.shapes.values():
            for dtype in w.dtypes:
                for strategy in strategies:
                    yield name, w, shape, dtype, strategy


def events():
    print("| workload | shape | dtype | strategy | suite call time (ms) | CUDA events (ms) | difference | same call: wall - events (us) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, w, shape, dtype, strategy in cases():
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
        print(f"| {name} | {'x'.join(map(str, shape))} | {dtype} | {strategy} | {wall * 1e3:.4f} | {ev * 1e3:.4f} | "
              f"{100 * (wall - ev) / ev:+.1f}% | {timing.median(gap) * 1e6:.1f} ({q25:.1f}-{q75:.1f}) |")


def memory_check():
    print("| shape | dtype | strategy | measured peak (bytes) | analytic (bytes) | analytic count |")
    print("|---|---|---|---|---|---|")
    w = workloads.WORKLOADS["matmul_bias_relu"]
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
                print(f"| {'x'.join(map(str, shape))} | {dtype} | {strategy} | {peak} | {analytic} | {what} |")
            del args


def errors():
    """Worst relative error of each strategy and dtype over the test shapes and the seed size, 5 seeds."""
    from fusion_kernels import suite, tolerances

    print("| workload | dtype | strategy | worst relative error | tolerance |")
    print("|---|---|---|---|---|")
    plan = [("matmul_bias_relu", suite.MATMUL_TEST_SHAPES + [(2000, 1000, 4000)]),
            ("fft_conv", suite.FFT_TEST_SHAPES + [(256, 1024)])]
    for name, shapes in plan:
        w = workloads.WORKLOADS[name]
        for dtype in w.dtypes:
            for strategy in w.strategies:
                worst = 0.0
                for shape in shapes:
                    for seed in range(5):
                        args = w.make_inputs(shape, dtype, seed=seed)
                        with w.strategies[strategy](*args) as call:
                            worst = max(worst, tolerances.relative_error(call(), w.reference(*args)))
                print(f"| {name} | {dtype} | {strategy} | {worst:.2e} | {tolerances.tolerance(dtype):.0e} |")


HOST_BOUND_CASES = [
    ("matmul_bias_relu", (1024, 4096, 1024), "float16", "unfused"),
    ("matmul_bias_relu", (2000, 1000, 4000), "float16", "fused_planned"),
    ("fft_conv", (256, 1024), "complex64", "unfused"),
    ("fft_conv", (256, 1024), "complex64", "fused_planned"),
]


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


def host_noise(how):
    """Medians (us) of a CPU-only loop, then of call, device and host time of host-bound calls, measured
    free, pinned to the first CPU (`pin`) or on the CPU fastest at the start of each case (`fastest`);
    run it in several processes."""
    timing.warm_up()
    out = {"cpu_loop": round(timing.median([cpu_loop_seconds() for _ in range(200)]) * 1e6, 1)}
    for name, shape, dtype, strategy in HOST_BOUND_CASES:
        w = workloads.WORKLOADS[name]
        with w.strategies[strategy](*w.make_inputs(shape, dtype)) as call:
            call()
            cpu = min(os.sched_getaffinity(0)) if how == "pin" else fastest_cpu() if how == "fastest" else None
            with pinned(cpu) if cpu is not None else contextlib.nullcontext():
                figures = [timing.call_times(call), timing.warm_device_times(call).seconds, timing.host_times(call)]
        out[f"{name}-{strategy}"] = [round(timing.median(f) * 1e6, 1) for f in figures]
    print(how, json.dumps(out))


def cpu_sweep(rounds=3):
    """The CPU-only loop's median (us) on each CPU in turn, `rounds` times: no GPU involved."""
    cpus = sorted(os.sched_getaffinity(0))
    print("| round | " + " | ".join(f"CPU {c}" for c in cpus) + " |")
    print("|---|" + "---|" * len(cpus))
    for r in range(rounds):
        speeds = cpu_speeds(100)
        print(f"| {r + 1} | " + " | ".join(f"{speeds[c] * 1e6:.0f}" for c in cpus) + " |")


def graph_host():
    """Host time of one graph replay (us), median of 30, three ways: as the suite takes it (GPU drained,
    the host waited in a synchronize), after the same drain plus 2 ms of the host spinning (awake),
    and per launch in a burst of back-to-back launches (no wait at all)."""
    w = workloads.WORKLOADS["matmul_bias_relu"]
    print("| shape | dtype | device ms | after a wait us | after a wait and 2 ms spin us | back-to-back us |")
    print("|---|---|---|---|---|---|")
    for label in ("small", "medium", "large"):
        shape = w.shapes[label]
        for dtype in ("float16", "float32", "float64"):
            with w.strategies["fused_graph"](*w.make_inputs(shape, dtype)) as call:
                dev = timing.warm_device_times(call).median
                waited = timing.median(timing.host_times(call, criterion=timing.Criterion(min_samples=30, max_samples=30)))
                spun = []
                for _ in range(30):
                    timing.synchronize()
                    t_end = time.perf_counter() + 2e-3
                    while time.perf_counter() < t_end:
                        pass
                    t0 = time.perf_counter()
                    call()
                    spun.append(time.perf_counter() - t0)
                    timing.synchronize()
                bursts = []
                for _ in range(5):
                    timing.synchronize()
                    t0 = time.perf_counter()
                    for _ in range(20):
                        call()
                    bursts.append((time.perf_counter() - t0) / 20)
                    timing.synchronize()
            print(f"| {'x'.join(map(str, shape))} | {dtype} | {dev * 1e3:.3f} | {waited * 1e6:.1f} | "
                  f"{timing.median(spun) * 1e6:.1f} | {timing.median(bursts) * 1e6:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    what = sys.argv[1]
    if what not in ("host-noise", "cpu-sweep"):
        print(f"<!-- {backend.device_name()}, {json.dumps(backend.versions())} -->")
    if what == "events":
        events()
    elif what == "memory":
        memory_check()
    elif what == "host-noise":
        host_noise("pin" if "--pin" in sys.argv[2:] else "fastest" if "--fastest" in sys.argv[2:] else "free")
    elif what == "cpu-sweep":
        cpu_sweep()
    elif what == "errors":
        errors()
    elif what == "graph-host":
        graph_host()
    elif what == "asv-cv":
        sys.exit("asv-cv is now `fusion-kernels quality aa RUN_A RUN_B --machine M` (per-figure thresholds, asv's own result reader)")
    else:
        sys.exit(f"unknown check {what!r}")
