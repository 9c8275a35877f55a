"""Shared pieces of the asv suite: safe imports, skips and failures, and the benchmark classes.

Every benchmark runs the package's strategies through `fusion_kernels.harness.measure`;
none re-implements a kernel. A case skips (NotImplementedError, with the reason)
only when a library is missing, the strategy does not support the shape, or the
device lacks the memory; a case that crashed or measured inconsistently raises
its original exception, so asv records a FAILED benchmark, never an n/a.
`params` stay the same with or without a GPU, so history lines never break.

Every figure is lower-is-better, as asv reads them all (`asv compare`, the
Regressions page): ratios are fused/unfused and time/bound, not speedups.
"""

import contextlib
import dataclasses
import fcntl
import os
import pickle
import re
import types
from pathlib import Path


@contextlib.contextmanager
def safe_import():
    """Import what exists: an old commit without a module must still import the suite."""
    try:
        yield
    except ImportError:
        pass


workloads = measure = suite = timing = files = None
with safe_import():
    try:  # the package in folders (gpu/, kernels/, suite/, harness/, ...)
        from fusion_kernels.gpu import timing
        from fusion_kernels.harness import measure
        from fusion_kernels.suite import shapes as suite, workloads
    except ImportError:  # an older commit: every module flat in fusion_kernels/ (suite.py held the shapes)
        from fusion_kernels import measure, suite, timing, workloads
with safe_import():
    try:
        from fusion_kernels.harness import files
    except ImportError:  # flat, from b96ac1a; a commit before it has no atomic writer
        from fusion_kernels import files

try:  # asv_runner runs every benchmark; the tests import the suite without it
    from asv_runner.benchmarks.mark import SkipNotImplemented
except ImportError:
    class SkipNotImplemented(NotImplementedError):
        pass


def skip(reason):
    """Skip this case from inside a figure's method. asv_runner (0.3) takes a NotImplementedError as a
    skip only in setup(); raised in the method itself it is a failure, and only SkipNotImplemented a
    skip. asv does not record the reason: it goes to the log, as for a skip in setup()."""
    exc = SkipNotImplemented(reason)
    print(f"asv: skipped: {exc!r}")
    raise exc


# A quick run (`bash scripts/asv-offline.sh --quick`, which sets this and passes `--quick --dry-run`):
# a smoke test that every benchmark runs, not figures to keep. Each workload is measured at its
# first ("small") shape and first dtype with few samples; the rest skip, saying so. The cold start
# (a fresh process and compiles per parameter set) runs for QUICK_COLD_STRATEGIES only, and its
# peakmem_host_rss does not repeat the first call that track_first_call_seconds already made.
QUICK_ENV = "FUSION_KERNELS_QUICK"
QUICK = os.environ.get(QUICK_ENV, "") not in ("", "0")
QUICK_COLD_STRATEGIES = ("unfused", "fused_planned")
QUICK_SKIP = f"not measured in a quick run ({QUICK_ENV}=1: first shape and first dtype only)"


def quick_options(workload_name) -> dict:
    """measure_workload keywords for this run: the first shape, first dtype, small budgets in a quick run."""
    if not QUICK or workloads is None:
        return {}
    w = workloads.WORKLOADS[workload_name]
    fast = timing.Criterion(min_samples=3, max_noise=0.05, max_seconds=0.02)
    return {"shapes": [next(iter(w.shapes.values()))], "dtypes": [w.dtypes[0]], "device_criterion": fast,
            "wall_criterion": fast}


# Which process measures a steady-state case (docs/asv.md, "Choosing the cache structure"):
#   workload  `setup_cache` measures every case of the class, in one process, before any figure
#   strategy  the first benchmark process that needs a case measures the cases of its (workload,
#             strategy) group, its shapes and dtypes; the class's other processes read them
#   case      the same, each case its own group
# `asv run --bench` then measures only the groups its selection needs, and a process that dies
# loses one case. A commit without the package's atomic writer is measured by workload.
CACHE_ENV = "FUSION_KERNELS_ASV_CACHE"
CACHE_STRUCTURES = ("workload", "strategy", "case")
CACHE = os.environ.get(CACHE_ENV) or "workload"
if CACHE not in CACHE_STRUCTURES:
    raise ValueError(f"{CACHE_ENV}={CACHE!r}: expected one of {', '.join(CACHE_STRUCTURES)}")
if files is None:
    CACHE = "workload"
DIED = ("the benchmark process measuring this case died (a crash, a kill, or asv's timeout); it ran for the case "
        "{by}, whose output in asv's log ends with this case")


def params_for(workload_name):
    """[strategies, shapes, dtypes] of a workload ([] each if the package is missing)."""
    if workloads is None:
        return [[], [], []]
    w = workloads.WORKLOADS[workload_name]
    return [list(w.strategies), [measure.shape_label(s) for s in w.shapes.values()], list(w.dtypes)]


def samples(xs):
    """A track_ value asv gives full statistics to (median, CI, Mann-Whitney on recorded samples)."""
    return {"samples": list(xs), "number": 1}


# Figures whose meaning and measurement did not change keep the version (asv's code hash) their
# history was recorded under, so the history carries over though their code moved. A new or
# changed figure has its own version: bump it when its measurement changes.
HISTORY_VERSIONS = {
    "FFTConv.track_call_seconds": "8ede5fdb15097424bf1b0a360a5340c68949d2697e161c2ec2f846ca14f4ab1c",
    "FFTConv.track_host_seconds": "b3c88a1252f2dddcd3b729b16cde66307773dfe04418b53f2a2c01643f23eafc",
    "FFTConv.track_library_device_bytes": "d21aaaedd1c6d25132f0c3b8f7d20c925b34b5c53df729c7f257a89178ebba51",
    "FFTConv.track_peak_device_bytes": "1e70c7a0970db56d6b0ea1bef159f4305f0783695c7cd37aa0d2bb6cf7c14dd5",
    "FFTConv2D.track_call_seconds": "a9b5e7df66c1f761db12e0f8a462aa9def462983e1642fe75949f96decc2827f",
    "FFTConv2D.track_host_seconds": "ede3f3f06d21acab57b7e5f6456eab1378b225b21cf3d034012b24d6b2a45afa",
    "FFTConv2D.track_library_device_bytes": "df4d49d27a7bf7fbc987a16eb480c37cf8b9f55de027f776670d5f618fffc875",
    "FFTConv2D.track_peak_device_bytes": "2024c2669c22233d6bf0020a55727f646d4c0e6e27615fa256946c3fcc0ddf16",
    "FFTConvSharedFilter.track_call_seconds": "0472663cde9faa9a5452a7d566a5811f180aaa93301b44f87a28e119683a2ac6",
    "FFTConvSharedFilter.track_host_seconds": "5df7d7c9e1ac743b0956201e191667dc8bbfa496ad962ab10aaf395b5764a9e7",
    "FFTConvSharedFilter.track_library_device_bytes": "8788ddd5c80900f5edc910f1a7c7dc3e9a900abb5cf12f7a0a30a1329cf1aa17",
    "FFTConvSharedFilter.track_peak_device_bytes": "64273320484288dc15d3fdf7888bc70704d976c9ffaa2e9609b65e9b11ded361",
    "RFFTConv.track_call_seconds": "5311611ac2d6848e33494b239dbd9522bcbd19c44a999c0858fe2719fbb77b9b",
    "RFFTConv.track_host_seconds": "3b896916844886a8609b4b6e734bb5119818fc1d1387a0eef279e0468a0004d6",
    "RFFTConv.track_library_device_bytes": "baea3c8c5d62ceb2a393c58367b9f9c2f8aac5a9eec5bc9c4da24998cdb10662",
    "RFFTConv.track_peak_device_bytes": "fd700e64789512df57be332ca15990c4b9c0c644f45383022cbf83cf1d3aad6e",
    "MatmulBiasReLU.track_call_seconds": "527239ba7788b36bb435e3a5e0469e2ed739f793e02c8ed3bc1e4eec3b00b5db",
    "MatmulBiasReLU.track_host_seconds": "2ffc082b3f5a875f704355a1d5da8f754764aa824c41dfa0e44896e7caacdb88",
    "MatmulBiasReLU.track_library_device_bytes": "5bfac0dd1553de9b4813dc526b333681a06087350ae051c907241b7acc9e4e47",
    "MatmulBiasReLU.track_peak_device_bytes": "b4d0b0580be8d7fb45e329ab55a6e79b65ccf56bacb90f30102c5b4da16f2f88",
    "MatmulEpilogs.track_call_seconds": "d39803b7a946523f9f32b01d15a762e1e33d27893cde9fc7cfee771ac554901b",
    "MatmulEpilogs.track_host_seconds": "9a7b8faf8cba96fe76881fe3d88fff7a55d2b3a501fed6461f4ca9da7ab33f66",
    "MatmulEpilogs.track_library_device_bytes": "4a6024b45bef1e231184be35963d536c8fe7b42eecb02d54027df57eec3c8988",
    "MatmulEpilogs.track_peak_device_bytes": "5e78a6d490e6c9e845a5bc894805c9e1681c5f5a6247dc4b44a0f19bd39a9d12",
    "MatmulPeers.track_call_seconds": "69ac783486538106f64396bfb011e83d64d02142131400cf5224c106904746cb",
    "MatmulPeers.track_host_seconds": "8b5c46f6afac5a002aaa08be5e5c2bf6c158db3079996c4f970bb45082c9d92f",
    "MatmulPeers.track_library_device_bytes": "c67b4ce1486c5d26900b1fa8c5714e87d93d26185dd5c7f362551908dbc95a01",
    "MatmulPeers.track_peak_device_bytes": "ac930a759bdc220827e6d630b6101897fdf66860ee1bd74b0187ce6b8bee4efb",
}
FIGURE_VERSION = "1"  # the figures new with the blocking-kernel timing engine


class _Cases:
    """Steady-state figures of cases, each case measured once per commit and read by all its figures.

    asv runs each method and parameter set in a process of its own; which process measures a
    case is CACHE's choice (`setup_cache`, or the first that needs its group). A case is keyed by
    all its parameters, the last two its shape and dtype; subclasses say how to measure them all
    (`measure_all`) and which workload and strategy the others name (`locate`). Each method
    reports one figure:

    track_call_seconds           call time: wall clock of one call from an idle GPU
                                 (synchronised before and after, cold L2), host launch cost included
    track_host_seconds           host time spent inside one call (its launch cost)
    track_cold_device_seconds    device time of one call, L2 flushed, the stream held by a blocking
                                 kernel while the call is queued: no host cost (nvbench's cold GPU time)
    track_warm_device_seconds    device time per call of back-to-back calls queued behind the
                                 blocking kernel, L2 warm
    track_peak_device_bytes      most memory allocated during one call, output included
    track_resident_device_bytes  memory the strategy object holds between calls (plans, workspaces,
                                 a graph's private pool with its outputs)
    track_library_device_bytes   device memory a fresh object's first call leaves allocated (libraries
                                 loaded for the first time included)
    track_time_over_bound        cold device time / the roofline floor (1.0: at the bound)
    """

    timeout = 1800
    FIGURES = ("track_call_seconds", "track_host_seconds", "track_cold_device_seconds", "track_warm_device_seconds",
               "track_peak_device_bytes", "track_resident_device_bytes", "track_library_device_bytes",
               "track_time_over_bound", "track_ratio_to_unfused")

    def __init_subclass__(cls, **kwargs):
        # Each class gets its own copy of each figure, so each can carry its own asv version.
        super().__init_subclass__(**kwargs)
        for name in cls.FIGURES:
            fn = getattr(cls, name, None)
            if fn is None:
                continue
            copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
            copy.__dict__.update(fn.__dict__)
            copy.__qualname__ = f"{cls.__name__}.{name}"
            copy.version = HISTORY_VERSIONS.get(f"{cls.__name__}.{name}", FIGURE_VERSION)
            setattr(cls, name, copy)

    def measure_all(self) -> dict:
        """{params tuple: CaseResult}"""
        raise NotImplementedError

    def locate(self, head: tuple) -> tuple | None:
        """(workload name, strategy) of the cases whose params start with `head` (all but shape and
        dtype), or None if this commit has no such strategy."""
        raise NotImplementedError

    def setup_cache(self):
        # asv runs it once per class, in a folder that is the working directory of the class's
        # benchmark processes: the per-group structures keep their measurements there.
        if measure is None or CACHE != "workload":
            return {}
        return {key: dataclasses.asdict(res) for key, res in self.measure_all().items()}

    def setup(self, results, *params):
        self.asked_for = params  # the case of this process, named if it dies measuring another
        self.case(results, *params)

    def lookup(self, results, params) -> dict | None:
        """The case at `params` (a CaseResult as a dict), or None if the suite has no such case.
        `results` is what setup_cache returned."""
        params = tuple(params)
        if CACHE == "workload":
            return results.get(params)
        group = params if CACHE == "case" else params[:-2]
        groups = self.__dict__.setdefault("_groups", {})
        if group not in groups:
            path = Path(re.sub(r"[^\w.-]", "_", ".".join((type(self).__name__, *group))) + ".pickle")
            groups[group] = _measured_group(path, self._cases_of(group), getattr(self, "asked_for", params))
        return groups[group].get(params)

    def _cases_of(self, group: tuple) -> dict:
        """{params: (workload, strategy, shape, dtype)} of the group's cases in this run, in
        measure_workload's order."""
        head = group[:len(self.param_names) - 2]
        where = self.locate(head)
        if where is None:
            return {}
        workload = workloads.WORKLOADS[where[0]]
        options = quick_options(where[0])
        out = {}
        for shape in options.get("shapes") or list(workload.shapes.values()):
            for dtype in options.get("dtypes") or workload.dtypes:
                params = (*head, measure.shape_label(shape), dtype)
                if params[:len(group)] == group:
                    out[params] = (*where, shape, dtype)
        return out

    def case(self, results, *params):
        """The case's entry; a skip raises NotImplementedError with its reason, a failure its
        original exception."""
        if measure is None:
            raise NotImplementedError("fusion_kernels is not importable at this commit")
        entry = self.lookup(results, params)
        if entry is None:
            raise NotImplementedError(QUICK_SKIP if QUICK else f"{' '.join(params)} is not in this commit's suite")
        if entry.get("error"):
            measure.raise_failure(entry)  # a crash is a failure in asv, not a skip
        if entry["skip"]:
            raise NotImplementedError(entry["skip"])
        return entry

    def _cold_median(self, results, *params):
        return timing.median(self.case(results, *params)["cold_device_seconds"])

    def track_call_seconds(self, results, *params):
        return samples(self.case(results, *params)["call_seconds"])

    track_call_seconds.unit = "seconds"

    def track_host_seconds(self, results, *params):
        return samples(self.case(results, *params)["host_seconds"])

    track_host_seconds.unit = "seconds"

    def track_cold_device_seconds(self, results, *params):
        return samples(self.case(results, *params)["cold_device_seconds"])

    track_cold_device_seconds.unit = "seconds"

    def track_warm_device_seconds(self, results, *params):
        return samples(self.case(results, *params)["warm_device_seconds"])

    track_warm_device_seconds.unit = "seconds"

    def track_peak_device_bytes(self, results, *params):
        return self.case(results, *params)["peak_device_bytes"]

    track_peak_device_bytes.unit = "bytes"

    def track_resident_device_bytes(self, results, *params):
        return self.case(results, *params)["resident_device_bytes"]

    track_resident_device_bytes.unit = "bytes"

    def track_library_device_bytes(self, results, *params):
        return self.case(results, *params)["library_device_bytes"]

    track_library_device_bytes.unit = "bytes"

    def track_time_over_bound(self, results, *params):
        entry = self.case(results, *params)
        return samples([t / entry["bound_seconds"] for t in entry["cold_device_seconds"]])

    track_time_over_bound.unit = "x"

class _AgainstUnfused(_Cases):
    """Cases with an unfused baseline (`baseline`): adds

    track_ratio_to_unfused       cold device time / unfused's (< 1: fusion wins)
    """

    def baseline(self, params: tuple) -> tuple:
        """The params of the unfused case the ratio is taken against."""
        raise NotImplementedError

    def track_ratio_to_unfused(self, results, *params):
        entry = self.case(results, *params)
        base = self.baseline(tuple(params))
        try:
            unfused = self._cold_median(results, *base)
        except NotImplementedError as exc:
            skip(f"no unfused baseline: {exc}")
        return samples([t / unfused for t in entry["cold_device_seconds"]])

    track_ratio_to_unfused.unit = "x"



class _Suite(_AgainstUnfused):
    """Every strategy, shape and dtype of one workload."""

    workload_name = None
    param_names = ["strategy", "shape", "dtype"]

    def measure_all(self):
        return measure.measure_workload(self.workload_name, **quick_options(self.workload_name))

    def locate(self, head):
        strategy, = head
        known = strategy in workloads.WORKLOADS[self.workload_name].strategies
        return (self.workload_name, strategy) if known else None

    def baseline(self, params):
        return ("unfused", *params[1:])


def _measured_group(path: Path, cases: dict, by: tuple) -> dict:
    """{params: entry} of `cases` ({params: (workload, strategy, shape, dtype)}), kept in `path`.

    The benchmark processes of a class share the working directory (asv's cache folder of the
    class). Whichever needs a group first measures it, under an exclusive lock on the group, and
    writes the file after each case (atomically: a reader sees the previous state or the next,
    never half a file). The file names the case being measured; a process that finds that name,
    the lock being free, knows the measuring process died there: that case fails (DIED), every
    figure of it at once, without measuring again, and the group's remaining cases are measured.
    """
    if not cases:
        return {}
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the kernel releases it when its process ends, however it ends
        state = pickle.loads(path.read_bytes()) if path.exists() else {"cases": {}, "measuring": None}
        if state["measuring"] is not None:
            params, died_by = state["measuring"]
            name, strategy, shape, dtype = cases[params]
            state["cases"][params] = dataclasses.asdict(
                measure.CaseResult(name, strategy, tuple(shape), dtype, error=DIED.format(by=", ".join(died_by))))
        for params, where in cases.items():
            if params in state["cases"]:
                continue
            state["measuring"] = (params, by)
            files.write_atomic(path, pickle.dumps(state))
            print(f"fusion-kernels: measuring {', '.join(params)}", flush=True)  # in asv's log if it dies
            try:
                state["cases"][params] = dataclasses.asdict(_measure_case(*where))
            except BaseException:  # raised, not died: the next process that needs it measures it again
                state["measuring"] = None
                files.write_atomic(path, pickle.dumps(state))
                raise
        if state["measuring"] is not None:
            state["measuring"] = None
            files.write_atomic(path, pickle.dumps(state))
    return state["cases"]


_warmed_up = False  # this process warmed the GPU up


def _measure_case(name, strategy, shape, dtype):
    """One case as measure_workload measures it in its workload, the GPU warmed up once a process
    (not for a case that skips for want of a library)."""
    global _warmed_up
    warm = not _warmed_up and measure.availability(name, strategy) is None
    options = {**quick_options(name), "shapes": [shape], "dtypes": [dtype]}
    [res] = measure.measure_workload(name, strategies=[strategy], warm=warm, **options).values()
    _warmed_up = _warmed_up or warm
    return res


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
