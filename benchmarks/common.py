"""Shared pieces of the asv suite: safe imports, GPU skips, and the two kinds of benchmark class.

Every benchmark runs the package's strategies through `fusion_kernels.measure`;
none re-implements a kernel. Without a GPU, CuPy or nvmath-python, each
parameter set is skipped with the reason (NotImplementedError) and `params`
stay the same, so history lines never break.
"""

import contextlib
import dataclasses
import os


@contextlib.contextmanager
def safe_import():
    """Import what exists: an old commit without a module must still import the suite."""
    try:
        yield
    except ImportError:
        pass


workloads = measure = None
with safe_import():
    from fusion_kernels import measure, suite, timing, workloads


# A quick run (`bash scripts/asv-offline.sh --quick`, which sets this and passes `--quick --dry-run`):
# a smoke test that every benchmark runs, not figures to keep. Each workload is measured at its
# first ("small") shape and first dtype with few repeats; the rest skip, saying so. The cold start
# (a fresh process and compiles per parameter set) runs for QUICK_COLD_STRATEGIES only, and its
# peakmem_host_rss does not repeat the first call that track_first_call_seconds already made.
QUICK_ENV = "FUSION_KERNELS_QUICK"
QUICK = os.environ.get(QUICK_ENV, "") not in ("", "0")
QUICK_REPEAT = 5
QUICK_COLD_STRATEGIES = ("unfused", "fused_planned")
QUICK_SKIP = f"not measured in a quick run ({QUICK_ENV}=1: first shape and first dtype only)"


def quick_options(workload_name) -> dict:
    """measure_workload keywords for this run: the first shape and few repeats in a quick run, else none."""
    if not QUICK or workloads is None:
        return {}
    w = workloads.WORKLOADS[workload_name]
    return {"shapes": [next(iter(w.shapes.values()))], "dtypes": [w.dtypes[0]], "repeat": QUICK_REPEAT}


def params_for(workload_name):
    """[strategies, shapes, dtypes] of a workload ([] each if the package is missing)."""
    if workloads is None:
        return [[], [], []]
    w = workloads.WORKLOADS[workload_name]
    return [list(w.strategies), [measure.shape_label(s) for s in w.shapes.values()], list(w.dtypes)]


def samples(xs):
    """A track_ value asv gives full statistics to (median, CI, Mann-Whitney)."""
    return {"samples": list(xs), "number": 1}


class _Suite:
    """Steady-state figures of every strategy, shape and dtype of one workload.

    All cases are measured once per commit in `setup_cache`, in one process
    (asv would otherwise start a process, import CUDA libraries and plan again
    for every method and parameter set); each method reports one figure:

    track_call_seconds          call time: wall clock of one call from an idle GPU
                                (synchronised before and after, cold L2),
                                host launch cost included
    track_device_seconds        device time: CUDA events around back-to-back calls
    track_host_seconds          host time spent inside one call (its launch cost)
    track_peak_device_bytes     most CuPy-pool memory live during one call, output included
    track_library_device_bytes  device memory a fresh object's first call leaves allocated
                                (plans, workspaces; cudaMemGetInfo, pool blocks freed)
    track_achieved_rate         TFLOP/s (matmul) or GB/s (FFT) at the median device time
    track_roofline_fraction     roofline floor / median device time (1.0 = at the bound)
    track_speedup_vs_unfused    unfused device time / this strategy's (> 1: fusion wins)
    """

    workload_name = None
    param_names = ["strategy", "shape", "dtype"]
    timeout = 1200

    def setup_cache(self):
        if measure is None:
            return {}
        results = measure.measure_workload(self.workload_name, **quick_options(self.workload_name))
        return {key: dataclasses.asdict(res) for key, res in results.items()}

    def setup(self, results, strategy, shape, dtype):
        self.case(results, strategy, shape, dtype)

    @staticmethod
    def case(results, strategy, shape, dtype):
        if measure is None:
            raise NotImplementedError("fusion_kernels is not importable at this commit")
        entry = results.get((strategy, shape, dtype))
        if entry is None:
            raise NotImplementedError(QUICK_SKIP if QUICK else f"{strategy} {shape} {dtype} is not in this commit's suite")
        if entry["skip"]:
            raise NotImplementedError(entry["skip"])
        return entry

    def track_call_seconds(self, results, strategy, shape, dtype):
        return samples(self.case(results, strategy, shape, dtype)["call_seconds"])

    track_call_seconds.unit = "seconds"

    def track_device_seconds(self, results, strategy, shape, dtype):
        return samples(self.case(results, strategy, shape, dtype)["device_seconds"])

    track_device_seconds.unit = "seconds"

    def track_host_seconds(self, results, strategy, shape, dtype):
        return samples(self.case(results, strategy, shape, dtype)["host_seconds"])

    track_host_seconds.unit = "seconds"

    def track_peak_device_bytes(self, results, strategy, shape, dtype):
        return self.case(results, strategy, shape, dtype)["peak_device_bytes"]

    track_peak_device_bytes.unit = "bytes"

    def track_library_device_bytes(self, results, strategy, shape, dtype):
        return self.case(results, strategy, shape, dtype)["library_device_bytes"]

    track_library_device_bytes.unit = "bytes"

    def _device_median(self, results, strategy, shape, dtype):
        return timing.median(self.case(results, strategy, shape, dtype)["device_seconds"])

    def track_achieved_rate(self, results, strategy, shape, dtype):
        entry = self.case(results, strategy, shape, dtype)
        rate_unit = workloads.WORKLOADS[self.workload_name].rate_unit
        work = entry["flops"] / 1e12 if rate_unit == "TFLOP/s" else entry["bytes"] / 1e9
        return work / self._device_median(results, strategy, shape, dtype)

    def track_roofline_fraction(self, results, strategy, shape, dtype):
        entry = self.case(results, strategy, shape, dtype)
        return entry["bound_seconds"] / self._device_median(results, strategy, shape, dtype)

    track_roofline_fraction.unit = "fraction"

    def track_speedup_vs_unfused(self, results, strategy, shape, dtype):
        base = self._device_median(results, "unfused", shape, dtype)
        return base / self._device_median(results, strategy, shape, dtype)

    track_speedup_vs_unfused.unit = "x"


class _ColdStart:
    """What a first call costs in a fresh process, at the seed tutorial's size.

    track_first_call_seconds  from nothing (inputs exist) to a finished first call:
                              planning, callback compiling and linking, autotuning
    peakmem_host_rss          asv's peakmem: host RSS of the process, NOT device memory
    """

    workload_name = None
    param_names = ["strategy", "dtype"]
    timeout = 300
    # asv otherwise versions a benchmark by the hash of its code, setup included: an edit that
    # measures the same thing (the quick run's skips) would orphan its history. Bump when the
    # measurement itself changes.
    version = "cold-start-1"

    def setup(self, strategy, dtype):
        if measure is None:
            raise NotImplementedError("fusion_kernels is not importable at this commit")
        workload = workloads.WORKLOADS[self.workload_name]
        if QUICK and (dtype != workload.dtypes[0] or strategy not in QUICK_COLD_STRATEGIES):
            raise NotImplementedError(f"{QUICK_SKIP}; cold start of {', '.join(QUICK_COLD_STRATEGIES)} only")
        if strategy not in workload.strategies:
            raise NotImplementedError(f"strategy {strategy!r} does not exist at this commit")
        why = measure.availability(self.workload_name, strategy)
        if why:
            raise NotImplementedError(why)
        self.factory = workload.strategies[strategy]
        self.args = workload.make_inputs(suite.SEED_SHAPES[self.workload_name], dtype)
        timing.synchronize()

    def track_first_call_seconds(self, strategy, dtype):
        return timing.first_call_time(lambda: self.factory(*self.args))

    track_first_call_seconds.unit = "seconds"

    def peakmem_host_rss(self, strategy, dtype):
        if QUICK:  # not kept; the first call was checked by track_first_call_seconds
            return
        with self.factory(*self.args) as call:
            call()


class _Family:
    """Steady-state figures of several workloads measured together, once, in `setup_cache`;
    a case is keyed by all its parameters. Same figures and skips as `_Suite`; subclasses
    say how to measure (`measure_all`) and what a case's baseline is (`baseline`)."""

    timeout = 1800

    def measure_all(self) -> dict:
        """{params tuple: CaseResult}"""
        raise NotImplementedError

    def setup_cache(self):
        if measure is None:
            return {}
        return {key: dataclasses.asdict(res) for key, res in self.measure_all().items()}

    def setup(self, results, *params):
        self.case(results, *params)

    @staticmethod
    def case(results, *params):
        if measure is None:
            raise NotImplementedError("fusion_kernels is not importable at this commit")
        entry = results.get(tuple(params))
        if entry is None:
            raise NotImplementedError(QUICK_SKIP if QUICK else f"{' '.join(params)} is not in this commit's suite")
        if entry["skip"]:
            raise NotImplementedError(entry["skip"])
        return entry

    def _device_median(self, results, *params):
        return timing.median(self.case(results, *params)["device_seconds"])

    def track_call_seconds(self, results, *params):
        return samples(self.case(results, *params)["call_seconds"])

    track_call_seconds.unit = "seconds"

    def track_device_seconds(self, results, *params):
        return samples(self.case(results, *params)["device_seconds"])

    track_device_seconds.unit = "seconds"

    def track_host_seconds(self, results, *params):
        return samples(self.case(results, *params)["host_seconds"])

    track_host_seconds.unit = "seconds"

    def track_peak_device_bytes(self, results, *params):
        return self.case(results, *params)["peak_device_bytes"]

    track_peak_device_bytes.unit = "bytes"

    def track_library_device_bytes(self, results, *params):
        return self.case(results, *params)["library_device_bytes"]

    track_library_device_bytes.unit = "bytes"

    def track_roofline_fraction(self, results, *params):
        return self.case(results, *params)["bound_seconds"] / self._device_median(results, *params)

    track_roofline_fraction.unit = "fraction"
