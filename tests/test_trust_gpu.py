"""What makes the suite's answer trustworthy, on the GPU: a crash is a failure (in the report and in
asv), the epilogue's own accuracy bound is applied, no strategy reads 0 bytes, impossible figures are
refused, and every result can say which GPU software produced it."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fusion_kernels.gpu import backend, memory, timing
from fusion_kernels.harness import measure, report
from fusion_kernels.suite import checks, shapes, workloads
from subprocess_env import with_src

pytestmark = [pytest.mark.gpu, pytest.mark.callbacks]
ROOT = Path(__file__).resolve().parents[1]


def crashing(a, filter):
    raise RuntimeError("planted crash in a fused kernel")


def test_a_crash_is_a_failure_not_a_skip(cp, monkeypatch, tmp_path):
    declared = workloads.WORKLOADS["fft_conv"].strategies
    monkeypatch.setitem(declared, "fused_planned", dataclasses.replace(declared["fused_planned"], factory=crashing))
    res = measure.measure_case("fft_conv", "fused_planned", (16, 256), "complex64")
    assert res.skip is None and res.error == "RuntimeError: planted crash in a fused kernel"
    assert "crashing" in res.error_trace and res.call_seconds == []
    with pytest.raises(RuntimeError, match="planted crash"):  # what the asv classes raise for it
        measure.raise_failure(dataclasses.asdict(res))
    status = report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(16, 256)], out=tmp_path,
                        make_plot=False, strategies=["fused_planned"])
    assert status == report.CASE_FAILED


def test_gelu_float64_report_passes_with_the_epilogue_bound(tmp_path):
    env = with_src()
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "report", "--workload", "matmul_epilog_gelu",
                          "--dtype", "float64", "--out", str(tmp_path), "--no-plot"], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    fused = [r for r in rows if r["strategy"] != "unfused"]
    assert len(fused) == 6 and all(r["correct"] for r in fused)
    assert all(r["tolerance"] == pytest.approx(2e-9) for r in fused)


@pytest.mark.parametrize("name", [n for n, w in workloads.WORKLOADS.items() if w.in_report])
def test_no_strategy_reads_zero_bytes(cp, name):
    w = workloads.WORKLOADS[name]
    shape = next(iter(w.shapes.values()))
    for strategy, factory in w.strategies.items():
        if measure.availability(name, strategy) or strategy == "auto":
            continue
        args = w.make_inputs(shape, w.dtypes[0])
        try:
            with factory(*args) as call:
                call()
                peak = memory.peak_call_bytes(call)
        except (checks.Unsupported, backend.GPUUnavailable):  # shape or library: not this test's concern
            continue
        resident = memory.resident_bytes(lambda: factory(*args))
        assert peak + resident > 0, f"{name} {strategy}: peak {peak}, resident {resident}"
        if strategy.endswith("graph"):  # a replay allocates nothing; its private pool holds the output
            assert peak == 0 and resident > 0, f"{name} {strategy}: peak {peak}, resident {resident}"


def test_impossible_figures_are_refused(cp, monkeypatch):
    monkeypatch.setattr(timing, "call_times", lambda fn, **kw: [1e-7] * 10)  # a call faster than its device time
    res = measure.measure_case("fft_conv", "unfused", shapes.FFT_SHAPES["small"], "complex64")
    assert res.error.startswith("MeasurementError: impossible figures, measured twice: cold device time")
    assert "above 1.2x the call time" in res.error and res.skip is None


def test_fingerprint_names_the_software_a_result_depends_on():
    facts = backend.fingerprint()
    assert facts["gpu"] == backend.device_name()
    for key in ("cuda", "driver", "cublaslt", "cufft", "nvmath-python", "cupy", "numba-cuda", "sm_clock"):
        assert facts[key] and facts[key] not in ("missing",), (key, facts)
    assert facts["cublaslt"].count(".") == 2 and facts["cufft"].count(".") == 2


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_asv_records_a_planted_crash_as_a_failed_benchmark(tmp_path):
    """A crash in one fused strategy of a commit: asv stores a failure (null) for its cases, values for
    the others, and the run's summary lists it as FAILED."""
    pytest.importorskip("asv", reason="needs asv")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    target = repo / "src" / "fusion_kernels" / "kernels" / "planned_conv.py"
    text = target.read_text()
    marker = "        spectrum = self._fwd.execute()\n"
    assert marker in text
    target.write_text(text.replace(marker, "        raise RuntimeError('planted crash')\n" + marker, 1))
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "planted crash"],
                   cwd=repo, check=True)
    env = dict(os.environ, HOME=str(tmp_path))  # asv's machine file goes to this HOME
    out = subprocess.run(["bash", "scripts/asv-offline.sh", "--machine", "crash-test", "--python", sys.executable,
                          "HEAD", "--", "--bench", r"FFTConvSharedFilter\.track_cold_device_seconds"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert "FAILED" in out.stdout, out.stdout[-4000:] + out.stderr[-2000:]
    [path] = [p for p in (repo / "results" / "crash-test").glob("*.json") if p.name != "machine.json"]
    data = json.loads(path.read_text())
    column = data["result_columns"].index("result")
    values = data["results"]["bench_fftconv.FFTConvSharedFilter.track_cold_device_seconds"][column]
    strategies, shapes, dtypes = data["results"]["bench_fftconv.FFTConvSharedFilter.track_cold_device_seconds"][
        data["result_columns"].index("params")]
    by_strategy = {}
    for i, combo in enumerate((s, sh, d) for s in strategies for sh in shapes for d in dtypes):
        by_strategy.setdefault(combo[0].strip("'"), []).append(values[i])
    assert all(v is None for v in by_strategy["fused_planned"])  # failed, not n/a
    assert all(isinstance(v, float) and v > 0 for v in by_strategy["unfused"])
