"""The report command: its CLI without a GPU, and what an interrupted report keeps (CPU only)."""

import csv
import json
import os
import subprocess
import sys

import pytest

from fusion_kernels import backend, measure, report, workloads


def fake_results(workload, shape, dtype, slow=1.0):
    out = {}
    for i, strategy in enumerate(["unfused", "fused_onecall", "fused_planned"]):
        res = measure.CaseResult(workload, strategy, shape, dtype)
        t = (3 - i) * 1e-3 * slow
        res.call_seconds = res.device_seconds = res.host_seconds = [t, t, t]
        res.peak_device_bytes, res.flops, res.bytes, res.bound_seconds = 2_000_000, 1e9, 1e6, 0.5e-3
        res.relative_error = 1e-7
        out[(strategy, measure.shape_label(shape), dtype)] = res
    return out


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "gpu_reason", lambda: None)
    monkeypatch.setattr(backend, "device_name", lambda: "Fake GPU")
    monkeypatch.setattr(backend, "versions", lambda: {"cupy": "0"})


def test_report_without_gpu_says_why_and_exits_nonzero():
    # CUDA_VISIBLE_DEVICES="" hides any GPU, so this runs the same on GPU machines.
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "report"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 1
    assert "cannot run here:" in out.stderr and ("no CUDA device" in out.stderr or "CuPy is not importable" in out.stderr)
    assert "Traceback" not in out.stderr


def test_report_rejects_a_bad_shape():
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "report", "--shape", "4x"], capture_output=True, text=True)
    assert out.returncode == 2 and "--shape must look like" in out.stderr and "Traceback" not in out.stderr


def test_report_table_json_csv(fake_gpu, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(measure, "measure_workload", lambda name, shapes, dtypes, **kw: fake_results(name, shapes[0], dtypes[0]))
    status = report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False)
    assert status == 0
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert [r["strategy"] for r in rows] == ["unfused", "fused_onecall", "fused_planned"]
    assert rows[2]["speedup_vs_unfused"] == pytest.approx(3.0) and rows[2]["correct"] is True
    assert rows[2]["roofline_fraction"] == pytest.approx(0.5)
    assert len(list(csv.DictReader((tmp_path / "report.csv").open()))) == 3
    printed = capsys.readouterr().out
    assert "fused_planned" in printed and "3.00x" in printed


def test_interrupted_report_keeps_what_it_measured(fake_gpu, monkeypatch, tmp_path):
    calls = []

    def measure_workload(name, shapes, dtypes, **kw):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(shapes[0])
        return fake_results(name, shapes[0], dtypes[0])

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    status = report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16), (8, 32), (8, 64)], out=tmp_path,
                        make_plot=False)
    assert status == 130
    data = json.loads((tmp_path / "report.json").read_text())  # whole, parseable
    assert {r["shape"] for r in data["rows"]} == {"8x16", "8x32"} and len(data["rows"]) == 6
    assert not list(tmp_path.glob("*.tmp"))


def test_wrong_result_fails_the_report(fake_gpu, monkeypatch, tmp_path):
    def measure_workload(name, shapes, dtypes, **kw):
        res = fake_results(name, shapes[0], dtypes[0])
        res[("fused_planned", measure.shape_label(shapes[0]), dtypes[0])].relative_error = 0.5
        return res

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    assert report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False) == 3


def test_skipped_case_is_recorded_with_its_reason(fake_gpu, monkeypatch, tmp_path):
    def measure_workload(name, shapes, dtypes, **kw):
        res = fake_results(name, shapes[0], dtypes[0])
        res[("fused_planned", measure.shape_label(shapes[0]), dtypes[0])] = measure.CaseResult(
            name, "fused_planned", shapes[0], dtypes[0], skip="needs about 90.0 GiB of device memory, 79.0 GiB free")
        return res

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    assert report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert rows[2]["skip"].startswith("needs about 90.0 GiB") and rows[2]["device_ms"] is None


def test_plot_is_written(fake_gpu, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the 'report' extra)")
    monkeypatch.setattr(report, "_peaks", lambda: {"bandwidth": 3e12, "flops": {"float16": 7e14, "float64": 5e13}})

    def measure_workload(name, shapes, dtypes, **kw):
        return fake_results(name, shapes[0], dtypes[0], slow=shapes[0][0] / 8)

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    status = report.run(dtypes=["complex64", "float16"], shapes=[(8, 16), (64, 16), (8, 8, 8)], out=tmp_path)
    assert status == 0
    png = tmp_path / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_shapes_go_to_the_workload_of_their_rank():
    plan = report.plan_cases(shapes=[(64, 32, 16)], dtypes=["float16", "complex64"])
    assert plan == [("matmul_bias_relu", (64, 32, 16), "float16")]  # no FFT: no 2-D shape was given
    plan = report.plan_cases(workloads=["fft_conv"], dtypes=["complex128"])
    assert [p[1] for p in plan] == list(report.WORKLOADS["fft_conv"].shapes.values())
    main = [w for w in report.WORKLOADS.values() if w.in_report]
    assert [w.name for w in main][:2] == ["matmul_bias_relu", "fft_conv"]  # the default run stays small
    assert len(report.plan_cases()) == sum(len(w.shapes if w.default_shapes is None else w.default_shapes) * len(w.dtypes)
                                           for w in main)


def test_default_strategies_leave_out_the_slow_to_build_ones():
    from fusion_kernels import report

    default = report.strategies_for("fft_conv")
    assert "single_kernel" in workloads.WORKLOADS["fft_conv"].strategies and "single_kernel" not in default
    assert "fused_planned" in default and "unfused" in default
    assert report.strategies_for("fft_conv", ["single_kernel"]) == ["unfused", "single_kernel"]
    assert report.strategies_for("matmul_bias_relu", ["single_kernel"]) == ["unfused"]
    assert "auto" not in report.strategies_for("matmul_bias_relu")
    assert report.strategies_for("matmul_bias_relu", ["auto"]) == ["unfused", "auto"]
