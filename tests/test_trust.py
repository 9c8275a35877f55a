"""What makes a regression signal trustworthy, checked without a GPU: every tracked figure is
lower-is-better and has a calibrated threshold, a failure is a failure (in the suite and in asv), one
verdict decides, the planted slowdown still applies, history carries over, and the timing engine's
pieces that need no GPU behave."""

import dataclasses
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fusion_kernels.gpu import timing
from fusion_kernels.harness import asvlog, measure, regressions
from fusion_kernels.oracle import tolerances

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_fftconv, bench_matmul, bench_matmul_family, common  # noqa: E402
from subprocess_env import with_src

CLASSES = [bench_matmul.MatmulBiasReLU, bench_fftconv.FFTConv, bench_fftconv.FFTConvSharedFilter,
           bench_fftconv.RFFTConv, bench_fftconv.FFTConv2D, bench_matmul_family.MatmulEpilogs,
           bench_matmul_family.MatmulPeers]
COLD = [bench_matmul.MatmulBiasReLUColdStart, bench_fftconv.FFTConvColdStart]


def asv_conf():
    json5 = pytest.importorskip("json5", reason="needs json5 (an asv dependency)")
    return json5.load(open(ROOT / "asv.conf.json"))


def tracked(cls):
    return sorted(n for n in dir(cls) if n.startswith(("track_", "time_", "peakmem_", "mem_")))


# ---- direction ----

def test_no_tracked_figure_is_higher_is_better():
    for cls in CLASSES + COLD:
        for name in tracked(cls):
            assert not re.search(r"speedup|rate|fraction|throughput|per_second|bandwidth", name), f"{cls.__name__}.{name}"


def test_every_tracked_figure_has_a_calibrated_threshold_or_is_excluded():
    """No figure falls back to asv's default 5%: each family was calibrated (docs/measurements.md)."""
    conf = asv_conf()
    policy = regressions.Policy(conf["regressions_thresholds"],
                                tuple(rx for rx, first in conf.get("regressions_first_commits", {}).items() if first is None))
    for cls in CLASSES + COLD:
        for name in tracked(cls):
            full = f"{cls.__module__.split('.')[-1]}.{cls.__name__}.{name}(x)"
            declared = any(re.match(rx, full) for rx in list(policy.thresholds) + list(policy.excluded))
            assert declared, f"{full} has no threshold in asv.conf.json"


# ---- failures ----

def entry(**fields):
    res = measure.CaseResult("fft_conv", "fused_planned", (8, 16), "complex64", **fields)
    return dataclasses.asdict(res)


def test_asv_classes_raise_the_original_exception_for_a_failed_case():
    res = measure.CaseResult("fft_conv", "fused_planned", (8, 16), "complex64")
    try:
        raise ZeroDivisionError("planted")
    except ZeroDivisionError as exc:
        measure._record_failure(res, exc)
    results = {("fused_planned", "8x16", "complex64"): dataclasses.asdict(res)}
    with pytest.raises(ZeroDivisionError, match="planted") as info:
        common._Cases().case(results, "fused_planned", "8x16", "complex64")
    assert any("original traceback" in note for note in getattr(info.value, "__notes__", []))


def test_an_unpicklable_failure_is_raised_as_case_error():
    results = {("fused_planned", "8x16", "complex64"): entry(error="Weird: boom", error_trace="trace")}
    with pytest.raises(measure.CaseError, match="Weird: boom"):
        common._Cases().case(results, "fused_planned", "8x16", "complex64")


def test_a_skip_is_still_a_skip():
    results = {("fused_planned", "8x16", "complex64"): entry(skip="nvmath-python is not installed")}
    with pytest.raises(NotImplementedError, match="nvmath-python is not installed"):
        common._Cases().case(results, "fused_planned", "8x16", "complex64")


def test_impossible_figures_are_named():
    res = measure.CaseResult("fft_conv", "unfused", (8, 16), "complex64", call_seconds=[1e-4] * 3,
                             cold_device_seconds=[2e-4] * 3, warm_device_seconds=[1e-4] * 3, host_seconds=[1e-5] * 3)
    why = measure.inconsistency(res)
    assert "cold device time 0.2000 ms is above 1.2x the call time 0.1000 ms" in why
    res.cold_device_seconds = [1.1e-4] * 3
    assert measure.inconsistency(res) is None


def _asv_run_planted(tmp_path, planted, bench):
    """asv's figures of `bench` (a regex) for a clone of this repository whose suite measures with
    `planted` (a measure_all method) instead of the GPU: (the run's output, {params: value})."""
    pytest.importorskip("asv", reason="needs asv")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    common_py = repo / "benchmarks" / "common.py"
    text = common_py.read_text()
    anchor = "    def measure_all(self):\n        return measure.measure_workload(self.workload_name, **quick_options(self.workload_name))\n"
    assert anchor in text
    common_py.write_text(text.replace(anchor, planted))
    (tmp_path / "home").mkdir()
    env = with_src(repo, HOME=str(tmp_path / "home"))
    out = subprocess.run(["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, "HEAD",
                          "--", "--bench", bench], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    [path] = [p for p in (repo / "results" / "ci-test").glob("*.json") if p.name != "machine.json"]
    data = json.loads(path.read_text())
    [row] = data["results"].values()
    values = row[data["result_columns"].index("result")]
    strategies, shapes, dtypes = row[data["result_columns"].index("params")]
    combos = [(s, sh, d) for s in strategies for sh in shapes for d in dtypes]
    return out.stdout, dict(zip(combos, values))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_asv_records_a_failed_case_as_failed_not_n_a(tmp_path):
    """The asv side of a crash, without a GPU: a suite whose measurement yields one failed case. asv
    stores null (failed) for it and NaN (skipped) for the cases without a GPU; the summary says FAILED."""
    planted = '''
    def measure_all(self):
        res = measure.CaseResult(self.workload_name, "fused_planned", (256, 1024), "complex64")
        try:
            raise RuntimeError("planted crash")
        except RuntimeError as exc:
            measure._record_failure(res, exc)
        return {("fused_planned", "256x1024", "complex64"): res}
'''
    out, values = _asv_run_planted(tmp_path, planted, r"^bench_fftconv\.FFTConv\.track_cold_device_seconds")
    assert "FAILED: 1 cases" in out and "RuntimeError: planted crash" in out, out[-3000:]
    failed = ("'fused_planned'", "'256x1024'", "'complex64'")
    assert values.pop(failed) is None  # failed
    assert all(isinstance(v, float) and math.isnan(v) for v in values.values())  # n/a


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_ratio_without_its_baseline_is_skipped_not_failed(tmp_path):
    """A fused case measured, its unfused baseline skipped (here: out of memory): the ratio does not
    exist, and asv records n/a with the reason in the log. It was a failure: asv_runner (0.3) takes a
    NotImplementedError as a skip only from setup(), not from the figure's method."""
    planted = '''
    def measure_all(self):
        fused = measure.CaseResult(self.workload_name, "fused_planned", (256, 1024), "complex64",
                                   cold_device_seconds=[1e-4, 1.1e-4, 1.2e-4])
        unfused = measure.CaseResult(self.workload_name, "unfused", (256, 1024), "complex64",
                                     skip="out of device memory: planted")
        return {("fused_planned", "256x1024", "complex64"): fused, ("unfused", "256x1024", "complex64"): unfused}
'''
    out, values = _asv_run_planted(tmp_path, planted, r"^bench_fftconv\.FFTConv\.track_ratio_to_unfused")
    value = values[("'fused_planned'", "'256x1024'", "'complex64'")]
    assert isinstance(value, float) and math.isnan(value), (value, out[-3000:])  # n/a, not null (failed)
    assert "FAILED" not in out, out[-3000:]
    assert "no unfused baseline: out of device memory: planted" in out, out[-3000:]


def test_skip_inside_a_figure_is_asv_runners_skip():
    from asv_runner.benchmarks.mark import SkipNotImplemented

    results = {("fused_planned", "8x16", "complex64"): entry(cold_device_seconds=[1.0]),
               ("unfused", "8x16", "complex64"): entry(skip="planted")}
    with pytest.raises(SkipNotImplemented, match="no unfused baseline: planted"):
        bench_fftconv.FFTConv().track_ratio_to_unfused(results, "fused_planned", "8x16", "complex64")
    with pytest.raises(SkipNotImplemented, match="no GEMM-alone baseline could run"):
        bench_matmul_family.MatmulPeers().track_ratio_to_fastest_gemm(results, "fused_planned", "8x16", "complex64")


# ---- one verdict ----

def test_correctness_verdict_is_epilogue_aware():
    assert tolerances.verdict(1.6e-10, "float64", "GELU") and not tolerances.verdict(1.6e-10, "float64")
    assert not tolerances.verdict(float("nan"), "float32") and not tolerances.verdict(float("inf"), "float32", "GELU")
    res = measure.CaseResult("matmul_epilog_gelu", "fused_planned", (8, 8, 8), "float64", relative_error=1.6e-10,
                             epilog="GELU")
    assert res.correct
    from fusion_kernels.suite import workloads

    w = workloads.WORKLOADS["matmul_epilog_gelu"]
    assert w.epilog_of("fused_graph") == "GELU" and w.epilog_of("unfused") is None


def fig(value, samples=None):
    stats = None
    if samples:
        s = sorted(samples)
        stats = {"ci_99_a": s[0], "ci_99_b": s[-1], "q_25": s[len(s) // 4], "q_75": s[3 * len(s) // 4],
                 "repeat": len(s), "number": 1}
    return regressions.Figure(value, samples, stats)


def test_regression_verdicts():
    pytest.importorskip("asv", reason="needs asv")
    base = [1.00 + 0.001 * i for i in range(20)]
    slow = [1.06 + 0.001 * i for i in range(20)]
    assert regressions.verdict(fig(1.0095, base), fig(1.0695, slow), 0.04) == regressions.SLOWER
    assert regressions.verdict(fig(1.0695, slow), fig(1.0095, base), 0.04) == regressions.FASTER
    assert regressions.verdict(fig(1.0095, base), fig(1.0195, [x + 0.01 for x in base]), 0.04) == regressions.SAME
    spread = [1.0 + 0.1 * (i % 2) for i in range(6)]  # beyond the factor, but not significant
    assert regressions.verdict(fig(1.0, spread), fig(1.1, [x * 1.1 for x in spread]), 0.04) == regressions.INCONCLUSIVE
    assert regressions.verdict(fig(1.0), fig(None), 0.04) == regressions.FAILED
    assert regressions.verdict(fig(None), fig(1.0), 0.04) == regressions.FIXED
    assert regressions.verdict(fig(float("nan")), fig(1.0), 0.04) == regressions.MISSING
    with pytest.raises(ValueError, match="threshold"):
        regressions.verdict(fig(1.0), fig(1.0), -1)


def test_policy_takes_the_largest_matching_threshold_and_honours_exclusions():
    policy = regressions.Policy({r"a\.": 0.1, r"a\.b": 0.3}, (r"a\.c",))
    assert policy.threshold("a.b(x)") == 0.3 and policy.threshold("a.z") == 0.1
    assert policy.threshold("a.c(x)") is None and policy.threshold("q") == regressions.DEFAULT_THRESHOLD


def test_the_aa_check_compares_runs_kept_under_two_machine_names(monkeypatch):
    """Two results kept under two machine names (e.g. one commit run twice) are compared like one machine's."""
    pytest.importorskip("asv", reason="needs asv")
    from asv import config

    monkeypatch.chdir(ROOT)
    conf = config.Config.load("asv.conf.json")
    same = regressions.aa_rows(conf, "h200", "0b5cb62f", "b3c08a0f")
    assert same and regressions.aa_rows(conf, "h200", "0b5cb62f", "b3c08a0f", machine_b="h200") == same
    across = regressions.aa_rows(conf, "h100-80gb-hbm3", "cb0e4156", "b3c08a0f", machine_b="h200")
    assert across and across != same
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "quality", "aa", "--machine", "h200", "--machine-b",
                          "h100-80gb-hbm3", "b3c08a0f", "cb0e4156"], cwd=ROOT, env=with_src(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode in (0, 1) and "cases change by more than their factor" in out.stdout, out.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_compare_command_on_committed_results():
    """`fusion-kernels compare` reads asv's results with asv's own code: two committed H100 commits."""
    pytest.importorskip("asv", reason="needs asv")
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "compare", "--machine", "h100-80gb-hbm3", "--all",
                          "cb0e4156", "6384e402"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=with_src())
    assert out.returncode in (0, 1), out.stderr
    assert "bench_matmul.MatmulBiasReLU.track_call_seconds" in out.stdout and "Traceback" not in out.stderr
    bad = subprocess.run([sys.executable, "-m", "fusion_kernels", "compare", "--machine", "h100-80gb-hbm3",
                          "deadbeef", "6384e402"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=with_src())
    assert bad.returncode == 2 and "fusion-kernels compare:" in bad.stderr and "Traceback" not in bad.stderr


# ---- the planted slowdown ----

@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_planted_slowdown_still_applies_to_this_tree():
    out = subprocess.run(["git", "apply", "--check", "scripts/plant/slowdown.patch"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, f"scripts/plant/slowdown.patch no longer applies: {out.stderr}"


def test_plant_check_usage_errors():
    out = subprocess.run(["bash", "scripts/plant-check.sh", "--frob"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "unknown argument --frob" in out.stderr


# ---- history ----

def test_kept_figures_carry_their_recorded_version():
    """A figure whose measurement did not change keeps the asv version of its committed history."""
    newest = {}
    for path in sorted((ROOT / "results").glob("*/*-*.json")):
        data = json.loads(path.read_text())
        column = data["result_columns"].index("version")
        for name, row in data["results"].items():
            newest.setdefault(name, set()).add(row[column])
    for cls in CLASSES:
        module = cls.__module__.split(".")[-1]
        for name in tracked(cls):
            key = f"{cls.__name__}.{name}"
            version = getattr(cls, name).version
            if key in common.HISTORY_VERSIONS:
                assert version in newest[f"{module}.{key}"], key
            else:
                assert version == common.FIGURE_VERSION or version.startswith(common.FIGURE_VERSION), key


# ---- the engine's host-side pieces ----

def test_criterion_validates_and_stops():
    with pytest.raises(ValueError, match=r"Criterion.min_samples must be a positive int, got 0"):
        timing.Criterion(min_samples=0)
    with pytest.raises(ValueError, match=r"Criterion.max_noise must be a positive finite number"):
        timing.Criterion(max_noise=float("nan"))
    with pytest.raises(ValueError, match=r"max_samples \(5\) must be >= min_samples \(10\)"):
        timing.Criterion(min_samples=10, max_samples=5)
    c = timing.Criterion(min_samples=3, max_noise=0.01, max_seconds=1.0, max_samples=100)
    assert not c.done(2, 0.0, 0.0)  # too few
    assert c.done(3, 0.0, 0.0)  # no noise
    assert not c.done(3, 0.5, 0.5) and c.done(3, 0.5, 1.5)  # noisy: until the budget
    assert c.done(100, 0.5, 0.0)  # or the most samples
    assert timing.relative_noise([1.0]) == math.inf and timing.relative_noise([2.0, 2.0]) == 0.0
    running = timing._Running()
    for x in [1.0, 2.0, 4.0, 3.0]:
        running.add(x)
    assert running.noise == pytest.approx(timing.relative_noise([1.0, 2.0, 4.0, 3.0]))


def test_samples_keep_the_clock_of_each_kept_sample():
    takes = iter([(1.0, 1.9e9), None, (1.0, None), (1.0, 1.7e9), 1.0])
    values, throttled, clocks = timing._sample(lambda: next(takes), timing.Criterion(min_samples=4, max_samples=4), "t")
    assert values == [1.0, 1.0, 1.0, 1.0] and throttled == 1 and clocks == [1.9e9, 1.7e9]
    assert timing.Samples(values, clocks=clocks).clock_hz == pytest.approx(1.8e9)
    assert timing.Samples([1.0]).clock_hz is None  # no window long enough: unknown, not 0


def test_skip_and_failure_summary_from_an_asv_log():
    log = """[ 50.00%] ··· bench_fftconv.FFTConv.track_cold_device_seconds          ok
[ 50.00%] ···· For parameters: 'unfused', '256x1024', 'complex64'
               asv: skipped: NotImplementedError('no CUDA device')

               For parameters: 'fused_planned', '256x1024', 'complex64'
               asv: skipped: NotImplementedError('no CUDA device')

               For parameters: 'single_kernel', '256x1024', 'complex64'
               Traceback (most recent call last):
                 File "x.py", line 1, in <module>
               RuntimeError: planted crash
               asv: benchmark failed (exit status 1)
"""
    skips, failures = asvlog.summarize(log)
    assert skips == {"no CUDA device": 2}
    assert failures == [("bench_fftconv.FFTConv.track_cold_device_seconds('single_kernel', '256x1024', 'complex64')",
                         "RuntimeError: planted crash")]
    text = asvlog.report(log)
    assert "2 x no CUDA device" in text and "FAILED: 1 cases" in text


def test_a_process_that_died_is_a_failure_in_the_asv_summary():
    """asv prints a dead process's exit status once, after all the benchmark's cases: the summary names the
    benchmark. A timeout is printed in the output of its case."""
    log = """[ 10.00%] ··· bench_fftconv.FFTConv.track_call_seconds                  1/42 failed
[ 10.00%] ···· For parameters: 'fused_planned', '256x1024', 'complex64'
               fusion-kernels: measuring fused_planned, 256x1024, complex64

               For parameters: 'fused_planned', '256x1024', 'complex128'
               fusion-kernels: measuring fused_planned, 256x1024, complex128
               asv: benchmark failed (exit status -11)
[ 20.00%] ··· bench_fftconv.FFTConv.track_host_seconds                  1/42 failed
[ 20.00%] ···· For parameters: 'fused_planned', '256x1024', 'complex64'
               asv: benchmark timed out (timeout 1800s)
[ 30.00%] ··· bench_fftconv.FFTConv.track_peak_device_bytes             1/42 failed
[ 30.00%] ···· For parameters: 'fused_planned', '256x1024', 'complex64'
               Traceback (most recent call last):
               RuntimeError: planted

               For parameters: 'fused_planned', '256x1024', 'complex128'
               asv: skipped: NotImplementedError('no CUDA device')
               asv: benchmark failed (exit status 1)
"""
    _, failures = asvlog.summarize(log)
    assert failures == [
        ("bench_fftconv.FFTConv.track_call_seconds", "asv: benchmark failed (exit status -11)"),
        ("bench_fftconv.FFTConv.track_host_seconds('fused_planned', '256x1024', 'complex64')",
         "asv: benchmark timed out (timeout 1800s)"),
        ("bench_fftconv.FFTConv.track_peak_device_bytes('fused_planned', '256x1024', 'complex64')",
         "RuntimeError: planted")]  # its status 1 is that exception's, counted once
