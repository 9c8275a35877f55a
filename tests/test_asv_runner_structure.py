"""Which process measures a case (benchmarks/common.py, FUSION_KERNELS_ASV_CACHE), CPU only: the package's
measuring is replaced by a fake that logs each case it is asked for. asv's process model is played out
in this process (setup_cache once, then each figure and parameter set with a fresh instance, sharing one
working directory), processes that die are forked children; one test runs asv itself."""

import itertools
import json
import math
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusion_kernels.harness import files, measure
from fusion_kernels.suite import workloads

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_fftconv, bench_matmul_family, common  # noqa: E402
from fake_measure import FakeMeasure  # noqa: E402
from subprocess_env import with_src  # noqa: E402

STRUCTURES = common.CACHE_STRUCTURES
FFT = workloads.WORKLOADS["fft_conv"]
SHAPES = [measure.shape_label(s) for s in FFT.shapes.values()]
FIGURES = sorted(n for n in dir(bench_fftconv.FFTConv) if n.startswith("track_"))
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    fake = FakeMeasure(tmp_path / "measured.log")
    monkeypatch.setattr(measure, "measure_workload", fake)
    work = tmp_path / "asv-cache"  # asv's folder of one class: every process of the class runs in it
    work.mkdir()
    monkeypatch.chdir(work)
    return fake


def structure(monkeypatch, name):
    monkeypatch.setattr(common, "CACHE", name)


def cache_of(cls):
    """setup_cache, as asv runs it: once, its value pickled for the benchmark processes."""
    return pickle.loads(pickle.dumps(cls().setup_cache()))


def figure(cls, cache, name, params):
    """One benchmark process: a fresh instance, setup, the figure. ('value', v), ('skip', reason) or
    ('failed', exception)."""
    bench = cls()
    try:
        bench.setup(cache, *params)
    except NotImplementedError as exc:  # asv_runner: a skip in setup
        return "skip", str(exc)
    except Exception as exc:
        return "failed", exc
    try:
        return "value", getattr(bench, name)(cache, *params)
    except common.SkipNotImplemented as exc:  # in the figure, only this one is a skip
        return "skip", str(exc)
    except Exception as exc:
        return "failed", exc


def run_selection(cls, selection):
    """asv's order: setup_cache, then each figure (by name), each of its selected parameter sets."""
    cache = cache_of(cls)
    return {(name, params): figure(cls, cache, name, params) for name, params in selection}


def one_strategy(strategy="fused_planned"):
    return [(name, (strategy, shape, dtype)) for name in FIGURES for shape in SHAPES for dtype in FFT.dtypes]


def cases(strategy):
    return {("fft_conv", strategy, shape, dtype) for shape in SHAPES for dtype in FFT.dtypes}


def in_a_child(fn, *args) -> int:
    """Run fn in a forked process (a benchmark process of its own); its exit code (-9: SIGKILL)."""
    proc = FORK.Process(target=fn, args=args)
    proc.start()
    proc.join(60)
    return proc.exitcode


# ---- what a selection measures ----

@pytest.mark.parametrize("name", STRUCTURES)
def test_one_strategy_measures_its_group_and_the_unfused_baseline_once_each(fake, monkeypatch, name):
    structure(monkeypatch, name)
    got = run_selection(bench_fftconv.FFTConv, one_strategy())
    assert {kind for kind, _ in got.values()} == {"value"}, got
    assert all(got[("track_ratio_to_unfused", p)][1]["samples"] == [0.5] * 3 for _, p in one_strategy())
    measured = fake.measured()
    assert set(measured.values()) == {1}  # every case once, though 9 figures read it
    if name == "workload":
        assert len(measured) == len(FFT.strategies) * len(SHAPES) * len(FFT.dtypes)  # the whole workload
    else:
        assert set(measured) == cases("fused_planned") | cases("unfused")


@pytest.mark.parametrize("name", ["strategy", "case"])
def test_two_figures_of_one_case_measure_it_once(fake, monkeypatch, name):
    structure(monkeypatch, name)
    params = ("fused_graph", SHAPES[1], "complex128")
    got = run_selection(bench_fftconv.FFTConv, [("track_cold_device_seconds", params), ("track_call_seconds", params)])
    assert [kind for kind, _ in got.values()] == ["value", "value"]
    measured = fake.measured()
    assert measured[("fft_conv", *params)] == 1 and all(c[1] == "fused_graph" for c in measured)
    assert len(measured) == (1 if name == "case" else len(SHAPES) * len(FFT.dtypes))


@pytest.mark.parametrize("name", ["strategy", "case"])
def test_the_matmul_family_measures_from_the_workload_each_strategy_comes_from(fake, monkeypatch, name):
    structure(monkeypatch, name)
    shape, dtype = bench_matmul_family.SHAPES[0], bench_matmul_family.DTYPES[0]
    ratio = ("track_ratio_to_fastest_gemm", ("fused_graph", shape, dtype))
    assert run_selection(bench_matmul_family.MatmulPeers, [ratio])[ratio][0] == "value"
    assert {(c[0], c[1]) for c in fake.measured()} == {
        ("matmul_bias_relu", "fused_graph"), ("matmul_gemm", "gemm_cupy"), ("matmul_gemm", "gemm_nvmath"),
        ("matmul_gemm", "gemm_torch")}  # the case and the GEMMs alone its ratio needs
    ratio = ("track_ratio_to_unfused", ("GELU", "fused_planned", shape, dtype))
    assert run_selection(bench_matmul_family.MatmulEpilogs, [ratio])[ratio][1]["samples"] == [0.5] * 3
    assert {(c[0], c[1]) for c in fake.measured()} >= {("matmul_epilog_gelu", "fused_planned"),
                                                       ("matmul_epilog_gelu", "unfused")}


def test_the_workload_structure_measures_in_setup_cache_and_reads_in_the_figures(fake, monkeypatch):
    structure(monkeypatch, "workload")
    cache = cache_of(bench_fftconv.FFTConv)
    assert len(fake.measured()) == len(FFT.strategies) * len(SHAPES) * len(FFT.dtypes)
    assert os.listdir(".") == []  # nothing kept beside asv's own cache
    structure(monkeypatch, "strategy")
    assert cache_of(bench_fftconv.FFTConv) == {}  # the per-group structures measure nothing there
    assert len(fake.measured()) == len(FFT.strategies) * len(SHAPES) * len(FFT.dtypes)
    structure(monkeypatch, "workload")
    assert figure(bench_fftconv.FFTConv, cache, "track_peak_device_bytes", ("unfused", SHAPES[0], "complex64")) == (
        "value", 1024)


def test_a_quick_run_measures_the_first_shape_and_dtype_of_the_group(fake, monkeypatch):
    structure(monkeypatch, "strategy")
    monkeypatch.setattr(common, "QUICK", True)
    got = run_selection(bench_fftconv.FFTConv, [("track_cold_device_seconds", ("fused_planned", shape, "complex64"))
                                                for shape in SHAPES[:2]])
    assert [kind for kind, _ in got.values()] == ["value", "skip"]
    assert common.QUICK_SKIP in list(got.values())[1][1]
    assert set(fake.measured()) == {("fft_conv", "fused_planned", SHAPES[0], "complex64")}


# ---- failures and skips keep their meaning ----

@pytest.mark.parametrize("name", STRUCTURES)
def test_an_exception_in_one_case_fails_only_that_case(fake, monkeypatch, name):
    structure(monkeypatch, name)
    bad = ("fused_planned", SHAPES[1], "complex64")
    fake.errors[bad] = ZeroDivisionError("planted")
    got = run_selection(bench_fftconv.FFTConv, one_strategy())
    for (fig, params), (kind, value) in got.items():
        if params == bad:
            assert kind == "failed" and isinstance(value, ZeroDivisionError) and "planted" in str(value)
            assert any("original traceback" in n for n in getattr(value, "__notes__", []))
        else:
            assert kind == "value", (fig, params, value)


@pytest.mark.parametrize("name", STRUCTURES)
def test_a_skip_stays_a_skip_with_its_reason(fake, monkeypatch, name):
    structure(monkeypatch, name)
    fake.skips[("fused_planned", SHAPES[0], "complex64")] = "nvmath-python is not installed"
    fake.skips[("unfused", SHAPES[2], "complex128")] = "out of device memory: planted"
    got = run_selection(bench_fftconv.FFTConv, one_strategy())
    assert got[("track_call_seconds", ("fused_planned", SHAPES[0], "complex64"))] == (
        "skip", "nvmath-python is not installed")
    assert got[("track_ratio_to_unfused", ("fused_planned", SHAPES[2], "complex128"))] == (
        "skip", "no unfused baseline: out of device memory: planted")
    assert got[("track_cold_device_seconds", ("fused_planned", SHAPES[2], "complex128"))][0] == "value"


# ---- a process that dies ----

def _die_in_setup(cls, params):
    cls().setup({}, *params)
    os._exit(0)  # not reached: the fake kills the process first


@pytest.mark.parametrize("name", ["strategy", "case"])
def test_a_process_that_dies_loses_only_the_case_it_was_measuring(fake, monkeypatch, name):
    """The process dies measuring `dead`: `dead` fails at once in every later figure, measured no second
    time; the group's other cases (measured before, or after by the next process) keep their figures."""
    structure(monkeypatch, name)
    first, dead = ("fused_planned", SHAPES[0], "complex64"), ("fused_planned", SHAPES[1], "complex64")
    fake.kill = dead
    assert in_a_child(_die_in_setup, bench_fftconv.FFTConv, first if name == "strategy" else dead) == -signal.SIGKILL
    fake.kill = None
    got = run_selection(bench_fftconv.FFTConv, one_strategy())
    for (fig, params), (kind, value) in got.items():
        if params == dead:
            assert kind == "failed" and isinstance(value, measure.CaseError), (fig, value)
            assert "died" in str(value) and ", ".join(first if name == "strategy" else dead) in str(value)
        else:
            assert kind == "value", (fig, params, value)
    measured = fake.measured()
    assert set(measured.values()) == {1}  # the dead case too: tried once
    unneeded = {("fft_conv", "unfused", *dead[1:])} if name == "case" else set()  # no ratio without the case
    assert set(measured) == cases("fused_planned") | cases("unfused") - unneeded
    for path in Path(".").glob("*.pickle"):  # every group file whole
        assert isinstance(pickle.loads(path.read_bytes())["cases"], dict)


def _die_mid_write(cls, params, nth):
    """Measure, and die halfway through the nth write of the group's file."""
    real, count = os.fdopen, [0]

    class Half:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            count[0] += 1
            if count[0] == nth:
                self.f.write(data[:len(data) // 2])
                self.f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return self.f.write(data)

    os.fdopen = lambda fd, mode: Half(real(fd, mode))
    cls().setup({}, *params)
    os._exit(0)


def test_a_crash_mid_write_leaves_the_previous_file_whole(fake, monkeypatch):
    structure(monkeypatch, "strategy")
    first = ("fused_planned", SHAPES[0], "complex64")
    assert in_a_child(_die_mid_write, bench_fftconv.FFTConv, first, 2) == -signal.SIGKILL
    [path] = Path(".").glob("*.pickle")
    assert pickle.loads(path.read_bytes()) == {"cases": {}, "measuring": (first, first)}  # the first write, whole
    assert [p.name for p in Path(".").glob("*.tmp")]  # the half-written temporary, never renamed
    assert files.write_atomic.__module__ == "fusion_kernels.harness.files"
    got = run_selection(bench_fftconv.FFTConv, one_strategy())
    assert got[("track_call_seconds", first)][0] == "failed"  # it died recording the first case
    assert [p for p, (kind, _) in got.items() if kind != "value" and p[1] != first] == []


def _measure_slowly(cls, params, log):
    cls().setup({}, *params)
    with open(log, "a") as f:
        f.write("done\n")


def test_two_processes_never_measure_one_group_twice(fake, monkeypatch, tmp_path):
    structure(monkeypatch, "strategy")
    real = fake.__call__

    def slow(*args, **kwargs):
        time.sleep(0.2)  # the two overlap: the second waits on the lock, then reads
        return real(*args, **kwargs)

    monkeypatch.setattr(measure, "measure_workload", slow)
    params = ("fused_graph", SHAPES[0], "complex64")
    procs = [FORK.Process(target=_measure_slowly, args=(bench_fftconv.FFTConv, params, tmp_path / "done"))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (tmp_path / "done").read_text() == "done\ndone\n"
    assert set(fake.measured().values()) == {1} and set(fake.measured()) == cases("fused_graph")


# ---- configuration ----

def test_an_unknown_structure_stops_the_suite_import():
    env = with_src(FUSION_KERNELS_ASV_CACHE="per-kernel")
    out = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); import benchmarks.common"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "FUSION_KERNELS_ASV_CACHE='per-kernel': expected one of workload, strategy, case" \
        in out.stderr


OLD_COMMIT = """
import builtins, sys
sys.path.insert(0, '.')
real = builtins.__import__
def without_the_writer(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name in ("fusion_kernels", "fusion_kernels.harness") and "files" in (fromlist or ()):
        raise ImportError("no atomic writer at this commit")
    return real(name, globals, locals, fromlist, level)
builtins.__import__ = without_the_writer
from benchmarks import common
print(common.CACHE, common.files)
"""


def test_a_commit_without_the_atomic_writer_is_measured_by_workload():
    out = subprocess.run([sys.executable, "-c", OLD_COMMIT], cwd=ROOT, env=with_src(FUSION_KERNELS_ASV_CACHE="case"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["workload", "None"], out.stderr


def timing_script_selection() -> str:
    """The script's `one` regex, as bash reads it."""
    [line] = [s for s in (ROOT / "scripts" / "asv-cache-time.sh").read_text().splitlines() if s.startswith("one=")]
    return subprocess.run(["bash", "-c", f'{line}; printf %s "$one"'], capture_output=True, text=True,
                          check=True).stdout


def test_the_timing_scripts_one_strategy_regex_selects_exactly_fftconvs_fused_planned():
    """With asv's own selection rules (asv.benchmarks.Benchmarks: re.search on `name(params)`)."""
    pytest.importorskip("asv", reason="needs asv")
    from asv.benchmarks import Benchmarks
    from asv_runner.discovery import disc_benchmarks

    found = [{"name": b.name, "params": b.params} for b in disc_benchmarks(str(ROOT / "benchmarks"))]

    class Conf:
        benchmark_dir = str(ROOT / "benchmarks")

    chosen = Benchmarks(Conf(), found, regex=timing_script_selection())
    selected = {(name, combo) for name in chosen for i, combo in enumerate(itertools.product(*chosen[name]["params"]))
                if i in chosen.benchmark_selection[name]}
    expected = {(f"bench_fftconv.FFTConv.{f}", (repr("fused_planned"), repr(shape), repr(dtype)))
                for f in FIGURES for shape in SHAPES for dtype in FFT.dtypes}
    assert selected == expected


# ---- asv itself ----

PLANT = '''

# planted by tests/test_asv_runner_structure.py: measuring replaced by a fake that logs each case
import sys as _sys
_sys.path.insert(0, {tests!r})
from fake_measure import FakeMeasure as _Fake
_fake = _Fake({log!r}, kill={kill!r})
measure.measure_workload = _fake
'''


def asv_run(tmp_path, structure_name, kill=None):
    """asv-offline.sh on a clone whose suite measures with FakeMeasure, the timing script's one-strategy
    selection: (asv's output, {(figure, params): value}, the cases measured)."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    pytest.importorskip("asv", reason="needs asv")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    log = tmp_path / "measured.log"
    common_py = repo / "benchmarks" / "common.py"
    common_py.write_text(common_py.read_text() + PLANT.format(tests=str(ROOT / "tests"), log=str(log), kill=kill))
    (tmp_path / "home").mkdir()
    env = with_src(repo, HOME=str(tmp_path / "home"), FUSION_KERNELS_ASV_CACHE=structure_name)
    out = subprocess.run(["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, "HEAD",
                          "--", "--bench", timing_script_selection()], cwd=repo, env=env, capture_output=True,
                         text=True, timeout=600)
    [path] = [p for p in (repo / "results" / "ci-test").glob("*.json") if p.name != "machine.json"]
    data = json.loads(path.read_text())
    values = {}
    for bench, row in data["results"].items():
        params = row[data["result_columns"].index("params")]
        for combo, value in zip(itertools.product(*params), row[data["result_columns"].index("result")]):
            values[(bench.split(".")[-1], tuple(p.strip("'") for p in combo))] = value
    return out.stdout, values, FakeMeasure(log).measured()


def test_asv_runs_a_strategy_and_a_crash_loses_one_case(tmp_path):
    """Under asv's own process model (forkserver, the class's cache folder as working directory): the
    selection measures fused_planned and its unfused baseline once each; a process killed while it
    measures one case fails that case's figures and the figure it was running, no other."""
    dead = ("fused_planned", SHAPES[1], "complex64")
    out, values, measured = asv_run(tmp_path, "strategy", kill=dead)
    first = ("fused_planned", SHAPES[0], "complex64")
    failed = sorted(k for k, v in values.items() if v is None)
    assert failed == sorted([("track_call_seconds", first)] + [(f, dead) for f in FIGURES]), out[-3000:]
    selected = [k for k in values if k[1][0] == "fused_planned"]
    assert all(values[k] >= 0 for k in selected if values[k] is not None)  # measured, not n/a (NaN)
    assert all(math.isnan(v) for k, v in values.items() if k[1][0] != "fused_planned")  # not selected
    assert set(measured.values()) == {1} and set(measured) == cases("fused_planned") | cases("unfused")
    summary = out[out.rindex("FAILED:"):]  # the dead case's figures, each naming the case whose process died
    assert summary.count(f"asv's timeout); it ran for the case {', '.join(first)}") == len(FIGURES), summary


def test_asv_runs_the_whole_workload_in_setup_cache_by_default(tmp_path):
    out, values, measured = asv_run(tmp_path, "workload")
    assert "FAILED" not in out, out[-3000:]
    assert all(v >= 0 for k, v in values.items() if k[1][0] == "fused_planned"), out[-3000:]
    assert set(measured.values()) == {1} and len(measured) == len(FFT.strategies) * len(SHAPES) * len(FFT.dtypes)
