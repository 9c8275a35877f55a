"""Shared pieces of the asv suite: safe imports, GPU skips, cached inputs, prepared strategies.

Every benchmark imports the package and runs its strategies; none re-implements
a kernel. Without a GPU, CuPy or nvmath-python, `setup` raises
NotImplementedError (asv records a skip) and `params` stay the same, so
history lines never break.
"""

import contextlib
import functools
import time


@contextlib.contextmanager
def safe_import():
    """Import what exists: an old commit without a module must still import the suite."""
    try:
        yield
    except ImportError:
        pass


workloads = None
with safe_import():
    from fusion_kernels import backend, memory, roofline, timing, workloads

try:
    _TIMER = timing.synchronized_timer
except NameError:  # package missing at this commit: setup skips before any timing
    _TIMER = time.perf_counter


def shape_label(shape) -> str:
    return "x".join(str(s) for s in shape)


def params_for(workload_name):
    """[strategies, shapes, dtypes] of a workload ([] each if the package is missing)."""
    if workloads is None:
        return [[], [], []]
    w = workloads.WORKLOADS[workload_name]
    return [list(w.strategies), [shape_label(s) for s in w.shapes.values()], list(w.dtypes)]


def samples(xs):
    """A track_ value asv gives full statistics to (median, CI, Mann-Whitney)."""
    return {"samples": list(xs), "number": 1}


def check(workload_name, strategy, shape_str, dtype):
    """(workload, shape) when this parameter set can run here, else NotImplementedError saying why."""
    if workloads is None:
        raise NotImplementedError("fusion_kernels is not importable at this commit")
    workload = workloads.WORKLOADS[workload_name]
    if strategy not in workload.strategies:
        raise NotImplementedError(f"strategy {strategy!r} does not exist at this commit")
    shape = next((s for s in workload.shapes.values() if shape_label(s) == shape_str), None)
    if shape is None:
        raise NotImplementedError(f"shape {shape_str} is not in this commit's suite")
    if strategy == "unfused":
        why = backend.gpu_reason()
    elif workload_name == "fft_conv":
        why = backend.callbacks_reason()
    else:
        why = backend.nvmath_reason()
    if why:
        raise NotImplementedError(why)
    need = workload.working_set_bytes(shape, dtype)
    free = memory.free_device_bytes()
    if need > 0.9 * free:
        raise NotImplementedError(f"needs about {need / 2**30:.1f} GiB of device memory, {free / 2**30:.1f} GiB free")
    return workload, shape


@contextlib.contextmanager
def oom_is_skip():
    try:
        yield
    except Exception as exc:
        if "OutOfMemory" in type(exc).__name__:
            raise NotImplementedError(f"out of device memory: {exc}") from exc
        raise


@functools.cache
def cached_inputs(workload_name, shape, dtype, seed=0):
    with oom_is_skip():
        return workloads.WORKLOADS[workload_name].make_inputs(shape, dtype, seed=seed)


# One prepared strategy per process and parameter set: asv re-runs setup before
# every sample, and planning (callback linking included) must stay out of the samples.
@functools.cache
def prepared(workload_name, strategy, shape, dtype):
    with oom_is_skip():
        call = workloads.WORKLOADS[workload_name].strategies[strategy](*cached_inputs(workload_name, shape, dtype))
        call()  # warm-up: plans, caches, compiled callbacks
        timing.synchronize()
    return call


class _GPUBenchmark:
    """Base class: a clock that waits for the GPU; parameters of one workload."""

    # asv calls timer() before and after each call; it synchronises the device
    # first, so a sample runs from an idle GPU to the end of the call's GPU work.
    timer = staticmethod(_TIMER)
    rounds = 1
    repeat = (10, 50, 10.0)
    warmup_time = 0.1
    timeout = 300
    param_names = ["strategy", "shape", "dtype"]
    workload_name = None


class _WorkloadBenchmarks(_GPUBenchmark):
    """Time and device memory of one steady-state call, per strategy, shape and dtype.

    time_call                call time: wall clock of one call from an idle GPU,
                             host launch cost included (asv's timer synchronises)
    track_device_seconds     device time: CUDA events around back-to-back calls
    track_host_seconds       host time spent inside one call (its launch cost)
    track_peak_device_bytes  most CuPy-pool memory live during one call, output included
    peakmem_host_rss         asv's peakmem: host RSS of the process, NOT device memory
    """

    def setup(self, strategy, shape, dtype):
        _, shape = check(self.workload_name, strategy, shape, dtype)
        self.call = prepared(self.workload_name, strategy, shape, dtype)
        # asv re-runs setup before each sample: each time_call sample starts with a cold L2.
        timing.flush_l2()

    def time_call(self, strategy, shape, dtype):
        self.call()

    def track_device_seconds(self, strategy, shape, dtype):
        return samples(timing.device_times(self.call))

    track_device_seconds.unit = "seconds"

    def track_host_seconds(self, strategy, shape, dtype):
        return samples(timing.host_times(self.call, repeat=30))

    track_host_seconds.unit = "seconds"

    def track_peak_device_bytes(self, strategy, shape, dtype):
        return memory.peak_pool_bytes(self.call)

    track_peak_device_bytes.unit = "bytes"

    def peakmem_host_rss(self, strategy, shape, dtype):
        self.call()


class _FirstCallBenchmarks(_GPUBenchmark):
    """What the first call costs in a fresh process: planning, callback compiling and linking.

    track_first_call_seconds    from nothing (inputs exist) to a finished first call
    track_library_device_bytes  device memory libraries keep after a first call
                                (drop in cudaMemGetInfo's free memory, CuPy pool freed)
    """

    def setup(self, strategy, shape, dtype):
        workload, shape = check(self.workload_name, strategy, shape, dtype)
        self.factory = workload.strategies[strategy]
        self.args = cached_inputs(self.workload_name, shape, dtype)
        timing.synchronize()

    def track_first_call_seconds(self, strategy, shape, dtype):
        return timing.first_call_time(lambda: self.factory(*self.args))

    track_first_call_seconds.unit = "seconds"

    def track_library_device_bytes(self, strategy, shape, dtype):
        made = []

        def first_call():
            made.append(self.factory(*self.args))
            return made[-1]()

        try:
            return memory.driver_delta_bytes(first_call)
        finally:
            for call in made:
                call.close()

    track_library_device_bytes.unit = "bytes"


class _DerivedBenchmarks(_GPUBenchmark):
    """Figures derived from device time, measured for every parameter set in one process.

    track_achieved_rate        TFLOP/s (matmul) or GB/s (FFT) at the median device time
    track_roofline_fraction    roofline floor / median device time (1.0 = at the bound)
    track_speedup_vs_unfused   unfused device time / this strategy's (> 1: fusion wins)
    """

    timeout = 900

    def setup_cache(self):
        results = {}
        if workloads is None:
            return results
        workload = workloads.WORKLOADS[self.workload_name]
        strategies, shapes, dtypes = params_for(self.workload_name)
        for shape_str in shapes:
            for dtype in dtypes:
                for strategy in strategies:
                    key = (strategy, shape_str, dtype)
                    try:
                        _, shape = check(self.workload_name, strategy, shape_str, dtype)
                        call = prepared(self.workload_name, strategy, shape, dtype)
                        t = timing.median(timing.device_times(call))
                        call.close()
                        prepared.cache_clear()
                        peaks = roofline.device_peaks()
                        flops, nbytes = workload.flops(shape), workload.bytes(shape, dtype, strategy)
                        results[key] = {
                            "seconds": t,
                            "rate": (flops if workload.rate_unit == "TFLOP/s" else nbytes) / t,
                            "roofline": roofline.bound_seconds(flops, nbytes, dtype, peaks) / t,
                        }
                    except NotImplementedError as exc:
                        results[key] = {"skip": str(exc)}
                cached_inputs.cache_clear()
        return results

    def _get(self, results, strategy, shape, dtype):
        entry = results.get((strategy, shape, dtype), {"skip": "not measured"})
        if "skip" in entry:
            raise NotImplementedError(entry["skip"])
        return entry

    def setup(self, results, strategy, shape, dtype):
        self._get(results, strategy, shape, dtype)

    def track_achieved_rate(self, results, strategy, shape, dtype):
        entry = self._get(results, strategy, shape, dtype)
        scale = 1e12 if workloads.WORKLOADS[self.workload_name].rate_unit == "TFLOP/s" else 1e9
        return entry["rate"] / scale

    def track_roofline_fraction(self, results, strategy, shape, dtype):
        return self._get(results, strategy, shape, dtype)["roofline"]

    track_roofline_fraction.unit = "fraction"

    def track_speedup_vs_unfused(self, results, strategy, shape, dtype):
        base = self._get(results, "unfused", shape, dtype)["seconds"]
        return base / self._get(results, strategy, shape, dtype)["seconds"]

    track_speedup_vs_unfused.unit = "x"
