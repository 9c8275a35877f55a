"""The suite's device time against NVIDIA's nvbench (`cuda-bench`), on the same call.

For each case the same strategy object is timed twice in one process: by
nvbench (`state.exec`: cold GPU time with its blocking kernel and L2 flush,
batch GPU time; its stdrel stopping criterion and throttle check) and by
`fusion_kernels.gpu.timing` (cold and warm device time). The bar: cold and cold,
warm and batch within 3% for every case of 10 us or more.

nvbench's batch holds only the first two launches behind its blocking kernel,
then launches freely: for a call whose host time exceeds its device time, its
batch time is the host's throughput, not device time. Those cases are marked
host-bound: their batch is compared with the suite's own free-running loop.

A call that waits for the GPU on the host (a one-call API re-plans on every call)
cannot run behind a blocking kernel, in either tool: both time host planning and
GPU work together, a figure that drifts by itself. Such calls are shown, with the
suite's two measurements of them, and not held to the bar.

Both tools time the call on the same stream (nvbench's), in an order that gives
each pair the same recent load: the suite's cold time after an idle pause, then
nvbench's cold time after the same pause, then nvbench's batch, then the suite's
warm time (after that sustained load, as nvbench's batch is). Each figure's mean
SM clock is kept: a power-bound kernel's time follows its clock, so two figures
taken at different clocks say so in the table. Two diagnostics per case: the
suite's cold time again after the batch (always for a synchronising call: its own
spread); with `diagnostics=True`, on CuPy's default (legacy) stream, and the suite's free-running
loop over about a second, with its SM clock.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass

from ..gpu import backend, timing
from . import files, measure
from ..suite.workloads import WORKLOADS

BAR = 0.03
SMALLEST = 10e-6  # the bar applies to calls of this device time or more
CRITERION = timing.Criterion(min_samples=10, max_noise=0.005, max_seconds=0.5)
# A synchronising call's time holds its host work (one-call APIs re-plan every call: milliseconds
# of varying host time), so its median needs more samples on both sides.
SYNC_SAMPLES = 30
SYNC_CRITERION = timing.Criterion(min_samples=SYNC_SAMPLES, max_noise=0.005, max_seconds=1.5)
SETTLE = 0.1  # idle seconds before each cold figure: both start from the same rested clock
# nvbench's batch runs the call back to back for about a second (at least as many samples as its
# cold pass took); the suite's warm figure here first runs that long too, so both see the clock
# a power-bound kernel settles to under sustained load.
SUSTAIN = 1.0
WARM_BATCH_SECONDS = 0.01


@dataclass
class Agreement:
    workload: str
    strategy: str
    shape: str
    dtype: str
    mode: str = ""
    ours_cold: float | None = None
    nvbench_cold: float | None = None
    ours_warm: float | None = None
    nvbench_batch: float | None = None
    host: float | None = None
    skip: str | None = None
    ours_cold_mhz: float | None = None  # mean SM clock of the figure's samples
    nvbench_cold_mhz: float | None = None
    ours_warm_mhz: float | None = None
    ours_cold_after: float | None = None  # diagnostic: the suite's cold time again, after nvbench's batch
    ours_cold_null: float | None = None  # diagnostic: the suite's cold time on CuPy's default (legacy) stream
    ours_loop: float | None = None  # the suite's free-running loop time per call (timing.loop_times)
    ours_long_loop: float | None = None  # diagnostic: the same over about a second (timing.sustained_loop)
    ours_long_loop_mhz: float | None = None

    @staticmethod
    def _diff(a, b):
        return None if a is None or b is None or not b else a / b - 1

    @property
    def cold_diff(self):
        return self._diff(self.ours_cold, self.nvbench_cold)

    @property
    def warm_diff(self):
        return self._diff(self.ours_warm, self.nvbench_batch)

    @property
    def host_bound(self) -> bool:
        """Is a free-running loop of this call limited by the host, so that nvbench's batch (which
        launches freely after its first two calls) measures host throughput? Measured: the suite's
        own free-running loop is slower than its blocked warm time. (Earlier runs kept no loop
        time: there, host time over warm device time.)"""
        if self.ours_loop is not None and self.ours_warm is not None:
            return self.ours_loop > (1 + BAR) * self.ours_warm
        return self.host is not None and self.ours_warm is not None and self.host > self.ours_warm

    @property
    def loop_diff(self):
        return self._diff(self.ours_loop, self.nvbench_batch)

    def verdict(self) -> str:
        if self.skip:
            return f"skipped: {self.skip}"
        if self.ours_cold is None or self.nvbench_cold is None:
            return "NOT MEASURED by " + ("us" if self.ours_cold is None else "nvbench")
        if self.ours_cold < SMALLEST:
            return "under 10 us: not held to the bar"
        cold = "cold within 3%" if abs(self.cold_diff) <= BAR else "COLD OUTSIDE 3%"
        if self.mode == "synchronizing":
            return self._synchronizing(cold)
        if self.warm_diff is None:
            return cold + "; nvbench gave no batch time"
        if self.host_bound:
            if self.loop_diff is None:
                return cold + "; host-bound: nvbench's batch is host throughput"
            loop = "within 3%" if abs(self.loop_diff) <= BAR else "OUTSIDE 3%"
            return f"{cold}; host-bound loop: nvbench's batch against our loop time {loop}"
        return cold + ("; warm within 3%" if abs(self.warm_diff) <= BAR else "; WARM OUTSIDE 3%")

    def _synchronizing(self, cold: str) -> str:
        # The call waits for the GPU on the host, so its events bracket host work too (a one-call
        # API re-plans every call): the figure is host and GPU wall time, and it drifts by itself.
        spread = self._diff(self.ours_cold_after, self.ours_cold)
        own = "" if spread is None else f"; the suite's own two measurements of it: {100 * spread:+.0f}%"
        return (f"cold {100 * self.cold_diff:+.1f}%; waits for the GPU: host and GPU time together in both "
                f"tools, not held to the bar{own}")

    @property
    def held(self) -> bool:
        """Held to the 3% bar: measured, 10 us or more, and timed without its host work (a
        synchronising call cannot be, by either tool)."""
        return (not self.skip and self.ours_cold is not None and self.ours_cold >= SMALLEST
                and self.mode != "synchronizing")

    @property
    def passes(self) -> bool:
        v = self.verdict()
        return "OUTSIDE" not in v and "NOT MEASURED" not in v


def cases(workloads=None, strategies=None, dtypes=None):
    for name in workloads or [n for n, w in WORKLOADS.items() if w.in_report and w.default_shapes is None]:
        w = WORKLOADS[name]
        for shape in w.shapes.values():
            for dtype in dtypes or w.dtypes:
                if dtype not in w.dtypes:
                    continue
                for strategy in strategies or list(w.strategies):
                    if strategy in w.strategies:
                        yield name, strategy, tuple(shape), dtype


def _summary(state_json: dict, tag: str) -> float | None:
    for summ in state_json.get("summaries", []):
        if summ.get("tag") == tag:
            for value in summ.get("data", []):
                if value.get("name") == "value":
                    return float(value["value"])
    return None


def _mhz(hz):
    return None if hz is None else hz / 1e6


def run(workloads=None, strategies=None, dtypes=None, json_path=None, diagnostics=False) -> list[Agreement]:
    """Time every case both ways; returns the agreements (nvbench's JSON goes to `json_path`).
    `diagnostics`: also the suite's cold time after the batch and on the default stream, and its
    free-running loop over about a second with its SM clock (as long as nvbench's batch)."""
    import os
    import tempfile

    bench = backend.cuda_bench()
    cp = backend.cupy()
    todo = {f"{w}|{s}|{measure.shape_label(sh)}|{d}": (w, s, sh, d) for w, s, sh, d in cases(workloads, strategies, dtypes)}
    found: dict[str, Agreement] = {}
    timing.warm_up()

    def one_case(state):
        key = state.get_string("case")
        name, strategy, shape, dtype = todo[key]
        row = found[key] = Agreement(name, strategy, measure.shape_label(shape), dtype)
        w = WORKLOADS[name]
        row.skip = measure.availability(name, strategy) or measure.fits(w, shape, dtype)
        if row.skip:
            state.skip(row.skip)
            return
        address = state.get_stream().addressof()
        with cp.cuda.ExternalStream(address):  # the call, its inputs and both tools' timings on one stream
            args = w.make_inputs(shape, dtype)
            with w.strategies[strategy](*args) as call:
                _time_both(state, row, call, address)
        if diagnostics and row.mode == "blocked":  # the same inputs, a call built on the default stream
            with cp.cuda.Stream.null, w.strategies[strategy](*args) as call, timing.gc_paused():
                call()
                row.ours_cold_null = timing.cold_device_times(call, criterion=CRITERION, synchronizing=False).median
        del args, call
        cp.get_default_memory_pool().free_all_blocks()

    def _time_both(state, row, call, address):
        call()
        timing.synchronize()
        row.host = timing.median(timing.host_times(call, criterion=CRITERION))
        synchronizing = timing.waits_for_gpu(call)
        row.mode = "synchronizing" if synchronizing else "blocked"
        criterion = SYNC_CRITERION if synchronizing else CRITERION
        if synchronizing:
            state.set_min_samples(SYNC_SAMPLES)
            state.set_timeout(3.0)

        def launcher(launch):
            # Already on nvbench's stream: a stream object per launch would add host time to its batch.
            if launch.get_stream().addressof() == address:
                call()
            else:
                with cp.cuda.ExternalStream(launch.get_stream().addressof()):
                    call()

        with timing.gc_paused():
            time.sleep(SETTLE)
            cold = timing.cold_device_times(call, criterion=criterion, synchronizing=synchronizing)
        time.sleep(SETTLE)
        state.exec(launcher, sync=synchronizing)
        timing.synchronize()
        with timing.gc_paused():
            if synchronizing:
                warm = timing.warm_device_times(call, criterion=criterion, synchronizing=True)
            else:
                warm = timing.warm_device_times(call, criterion=criterion, synchronizing=False, sustain=SUSTAIN,
                                                batch_seconds=WARM_BATCH_SECONDS)
                row.ours_loop = timing.median(timing.loop_times(call, batch=max(20, warm.batch), samples=5))
                if diagnostics:
                    seconds, hz = timing.sustained_loop(call, seconds=SUSTAIN)
                    row.ours_long_loop, row.ours_long_loop_mhz = seconds, _mhz(hz)
            if diagnostics or synchronizing:
                row.ours_cold_after = timing.cold_device_times(call, criterion=criterion,
                                                               synchronizing=synchronizing).median
        row.ours_cold, row.ours_cold_mhz = cold.median, _mhz(cold.clock_hz)
        row.ours_warm, row.ours_warm_mhz = warm.median, _mhz(warm.clock_hz)

    b = bench.register(one_case)
    b.set_name("fusion_kernels_case")
    b.add_string_axis("case", list(todo))
    b.set_timeout(1.0)  # per measurement; the suite has about a hundred main cases
    b.set_min_samples(10)
    b.set_criterion_param_float64("min-time", 0.05)
    out_path = json_path or os.path.join(tempfile.mkdtemp(), "nvbench.json")
    bench.run_all_benchmarks([sys.argv[0], "--json", str(out_path), "--devices", str(cp.cuda.Device().id)])
    data = json.loads(open(out_path).read())
    for state in data["benchmarks"][0]["states"]:
        key = next(v["value"] for v in state["axis_values"] if v["name"] == "case")
        row = found.get(key)
        if row is None or row.skip:
            continue
        row.nvbench_cold = _summary(state, "nv/cold/time/gpu/median") or _summary(state, "nv/cold/time/gpu/mean")
        row.nvbench_batch = _summary(state, "nv/batch/time/gpu/mean")
        row.nvbench_cold_mhz = _mhz(_summary(state, "nv/cold/sm_clock_rate/mean"))
    return [found[k] for k in todo if k in found]


def table(rows: list[Agreement]) -> str:
    def us(x):
        return "-" if x is None else f"{x * 1e6:.1f}"

    def pct(x):
        return "-" if x is None else f"{100 * x:+.1f}%"

    def mhz(x):
        return "-" if x is None else f"{x:.0f}"

    # Runs before the clocks were recorded have none of these: their table keeps its old columns.
    clocks = any(r.ours_cold_mhz or r.nvbench_cold_mhz for r in rows)
    head = ["workload", "shape", "dtype", "strategy", "cold us (ours / nvbench)", "diff"]
    head += ["cold MHz (ours / nvbench)"] if clocks else []
    head += ["warm us (ours) / nvbench batch", "diff"]
    head += ["warm MHz (ours)", "cold us after the batch", "cold us, default stream"] if clocks else []
    loops = any(r.ours_loop for r in rows)
    long_loops = any(r.ours_long_loop for r in rows)
    head += ["loop us (ours)"] if loops else []
    head += ["loop us over 1 s (ours, MHz)"] if long_loops else []
    head += ["host us", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.workload, r.shape, r.dtype, r.strategy, f"{us(r.ours_cold)} / {us(r.nvbench_cold)}", pct(r.cold_diff)]
        cells += [f"{mhz(r.ours_cold_mhz)} / {mhz(r.nvbench_cold_mhz)}"] if clocks else []
        cells += [f"{us(r.ours_warm)} / {us(r.nvbench_batch)}", pct(r.warm_diff)]
        cells += [mhz(r.ours_warm_mhz), us(r.ours_cold_after), us(r.ours_cold_null)] if clocks else []
        cells += [us(r.ours_loop)] if loops else []
        cells += [f"{us(r.ours_long_loop)} ({mhz(r.ours_long_loop_mhz)})"] if long_loops else []
        cells += [us(r.host), r.verdict()]
        lines.append("| " + " | ".join(cells) + " |")
    held = [r for r in rows if r.held]
    sync = sum(1 for r in rows if r.mode == "synchronizing" and not r.skip)
    lines.append("")
    lines.append(f"{sum(r.passes for r in held)} of {len(held)} cases of 10 us or more meet the 3% bar "
                 f"({sum(1 for r in held if r.host_bound)} host-bound in a free-running loop); "
                 f"{sync} synchronising calls shown, not held.")
    return "\n".join(lines)


def load_rows(path) -> list[Agreement]:
    return [Agreement(**row) for row in json.loads(open(path).read())]


def all_pass(rows) -> bool:
    return all(r.passes for r in rows if r.held)


def main(args) -> int:
    rows = run(args.workload, args.strategy, args.dtype, json_path=args.nvbench_json, diagnostics=args.diagnostics)
    if args.json:  # the data first: the table is rendered from it
        files.write_atomic(args.json, json.dumps([asdict(r) for r in rows], indent=1))
    print(table(rows))
    return 0 if all_pass(rows) else 1
