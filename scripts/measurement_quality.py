"""Checks of the suite's own measurements on the GPU, printed as Markdown tables.

  python scripts/measurement_quality.py events            # call time vs CUDA events
  python scripts/measurement_quality.py memory            # peak device memory vs analytic count
  python scripts/measurement_quality.py asv-cv A.json B.json   # two asv runs of one commit
  python scripts/measurement_quality.py errors            # worst relative error against the oracle

`events` times each suite case the way asv's time_call does (synchronised wall
clock, cold L2) and independently with CUDA events (cold L2), median of 50 each.
"""

import json
import sys

import numpy as np

from fusion_kernels import backend, fftconv, matmul, memory, timing, workloads


def cases(strategies=("unfused", "fused_planned")):
    for name, w in workloads.WORKLOADS.items():
        for shape in w.shapes.values():
            for dtype in w.dtypes:
                for strategy in strategies:
                    yield name, w, shape, dtype, strategy


def events():
    print("| workload | shape | dtype | strategy | suite call time (ms) | CUDA events (ms) | difference |")
    print("|---|---|---|---|---|---|---|")
    for name, w, shape, dtype, strategy in cases():
        with w.strategies[strategy](*w.make_inputs(shape, dtype)) as call:
            wall = timing.median(timing.call_times(call, repeat=50))
            ev = timing.median(timing.event_times(call, repeat=50))
        print(f"| {name} | {'x'.join(map(str, shape))} | {dtype} | {strategy} | {wall * 1e3:.4f} | {ev * 1e3:.4f} | {100 * (wall - ev) / ev:+.1f}% |")


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


def asv_cv(path_a, path_b):
    """CV of the two runs' values for every benchmark and parameter set above 50 us."""
    def load(path):
        data = json.load(open(path))
        cols = data["result_columns"]
        out = {}
        for bench, row in data["results"].items():
            rec = dict(zip(cols, row))
            values = rec["result"] if isinstance(rec["result"], list) else [rec["result"]]
            for i, v in enumerate(values):
                out[(bench, i)] = v
        return out

    a, b = load(path_a), load(path_b)
    worst, rows = 0.0, 0
    print("| benchmark | param # | run 1 | run 2 | CV |")
    print("|---|---|---|---|---|")
    for key in sorted(a):
        va, vb = a[key], b.get(key)
        if va is None or vb is None or not key[0].endswith("_seconds"):
            continue
        if min(va, vb) < 50e-6:
            continue
        mean = (va + vb) / 2
        cv = abs(va - vb) / 2 / mean  # std of two values (ddof=0) over their mean
        worst = max(worst, cv)
        rows += 1
        if cv > 0.02:
            print(f"| {key[0]} | {key[1]} | {va:.6g} | {vb:.6g} | {100 * cv:.2f}% |")
    print(f"\n{rows} values above 50 us compared; worst CV {100 * worst:.2f}% (rows above: CV > 2% only)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    what = sys.argv[1]
    if what != "asv-cv":  # reads result files; needs no GPU
        print(f"<!-- {backend.device_name()}, {json.dumps(backend.versions())} -->")
    if what == "events":
        events()
    elif what == "memory":
        memory_check()
    elif what == "errors":
        errors()
    elif what == "asv-cv":
        asv_cv(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown check {what!r}")
