"""The report command: its CLI without a GPU, its exit codes case by case, what an interrupted report
keeps, and that a failed case is a failure, not a skip (CPU only: measurement is faked)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fusion_kernels import cli
from fusion_kernels.gpu import backend
from fusion_kernels.harness import files, measure, report
from fusion_kernels.suite import workloads


def fake_case(workload, strategy, shape, dtype, t=1e-3, error=1e-7):
    res = measure.CaseResult(workload, strategy, tuple(shape), dtype)
    res.call_seconds = [1.2 * t] * 3
    res.cold_device_seconds = res.warm_device_seconds = [t, t, t]
    res.host_seconds = [0.1 * t] * 3
    res.device_mode = "blocked"
    res.peak_device_bytes, res.resident_device_bytes = 2_000_000, 500_000
    res.flops, res.bytes, res.bound_seconds = 1e9, 1e6, 0.5e-3
    res.relative_error = error
    res.epilog = workloads.WORKLOADS[workload].epilog_of(strategy)
    return res


def fake_results(workload, shape, dtype, slow=1.0):
    out = {}
    for i, strategy in enumerate(["unfused", "fused_onecall", "fused_planned"]):
        out[(strategy, measure.shape_label(shape), dtype)] = fake_case(workload, strategy, shape, dtype,
                                                                       t=(3 - i) * 1e-3 * slow)
    return out


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "gpu_reason", lambda: None)
    monkeypatch.setattr(backend, "device_name", lambda: "Fake GPU")
    monkeypatch.setattr(backend, "versions", lambda: {"cupy": "0"})


def run_cli(*args, env=None, timeout=120):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", **(env or {}))
    return subprocess.run([sys.executable, "-m", "fusion_kernels", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_report_without_gpu_says_why_and_exits_1():
    # CUDA_VISIBLE_DEVICES="" hides any GPU, so this runs the same on GPU machines.
    out = run_cli("report")
    assert out.returncode == report.NO_GPU == 1
    assert "cannot run here:" in out.stderr and ("no CUDA device" in out.stderr or "CuPy is not importable" in out.stderr)
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args, message", [
    (["--shape", "4x"], "--shape must look like"),
    (["--repeat", "0"], "--repeat: must be 1 or more"),
    (["--repeat", "-1"], "--repeat: must be 1 or more"),
    (["--repeat", "many"], "--repeat: must be a whole number"),
    (["--workload", "fft_conv", "--dtype", "float16"], "nothing to measure"),
    (["--workload", "nope"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line_before_any_gpu_work(args, message):
    out = run_cli("report", *args)
    assert out.returncode == report.BAD_ARGUMENTS == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_out_must_be_a_writable_folder(tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("x")
    out = run_cli("report", "--out", str(existing))
    assert out.returncode == 2 and "--out must be a folder" in out.stderr and "Traceback" not in out.stderr
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = run_cli("report", "--out", str(locked / "sub"))
        assert out.returncode == 2 and "cannot be written" in out.stderr


def test_check_arguments_names_the_option():
    assert "--repeat" in report.check_arguments(repeat=0)
    assert "--dtype" in report.check_arguments(dtypes=["float8"])
    assert "--strategy" in report.check_arguments(strategies=["magic"])
    assert report.check_arguments() is None


@pytest.mark.parametrize("delay", [0.1, 0.15, 0.2, 0.3])
def test_ctrl_c_at_any_moment_exits_130_or_finishes_without_traceback(delay):
    # From 0.1 s on: before that the Python interpreter itself may still be starting (20-50 ms
    # here), and a Ctrl-C then is the interpreter's, before any code of ours runs.
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen([sys.executable, "-m", "fusion_kernels", "report"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # -SIGINT: the signal came while the interpreter was shutting down, after the report had answered.
    assert proc.returncode in (report.INTERRUPTED, report.NO_GPU, -signal.SIGINT), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    if proc.returncode == report.INTERRUPTED:
        assert "interrupted" in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_while_plotting_exits_130(fake_gpu, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(measure, "measure_workload", lambda name, shapes, dtypes, **kw: fake_results(name, shapes[0], dtypes[0]))

    def interrupted(rows, meta, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(report.report_plot, "render", interrupted)
    assert cli.main(["report", "--workload", "fft_conv", "--dtype", "complex64", "--shape", "8x16",
                     "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_report_table_json_csv(fake_gpu, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(measure, "measure_workload", lambda name, shapes, dtypes, **kw: fake_results(name, shapes[0], dtypes[0]))
    status = report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False)
    assert status == report.OK
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert [r["strategy"] for r in rows] == ["unfused", "fused_onecall", "fused_planned"]
    assert rows[2]["speedup_vs_unfused"] == pytest.approx(3.0) and rows[2]["correct"] is True
    assert rows[2]["roofline_fraction"] == pytest.approx(0.5)
    assert rows[2]["device_mb"] == pytest.approx(2.5)  # peak during the call + what the object holds
    assert len(list(csv.DictReader((tmp_path / "report.csv").open()))) == 3
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
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
    assert status == report.INTERRUPTED == 130
    data = json.loads((tmp_path / "report.json").read_text())  # whole, parseable
    assert {r["shape"] for r in data["rows"]} == {"8x16", "8x32"} and len(data["rows"]) == 6
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_two_reports_into_one_folder_do_not_collide(tmp_path):
    for i in range(20):  # unique temporary names: no writer renames another's file away
        files.write_atomic(tmp_path / "report.json", json.dumps({"i": i}))
    assert json.loads((tmp_path / "report.json").read_text()) == {"i": 19}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_wrong_result_exits_3(fake_gpu, monkeypatch, tmp_path):
    def measure_workload(name, shapes, dtypes, **kw):
        res = fake_results(name, shapes[0], dtypes[0])
        res[("fused_planned", measure.shape_label(shapes[0]), dtypes[0])].relative_error = 0.5
        return res

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    assert report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path,
                      make_plot=False) == report.WRONG_RESULT == 3


def test_failed_case_is_not_a_skip_and_exits_4(fake_gpu, monkeypatch, tmp_path, capsys):
    def measure_workload(name, shapes, dtypes, **kw):
        res = fake_results(name, shapes[0], dtypes[0])
        bad = measure.CaseResult(name, "fused_planned", shapes[0], dtypes[0])
        try:
            raise RuntimeError("planted crash in fused_planned")
        except RuntimeError as exc:
            measure._record_failure(bad, exc)
        res[("fused_planned", measure.shape_label(shapes[0]), dtypes[0])] = bad
        return res

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    status = report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False)
    assert status == report.CASE_FAILED == 4
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert rows[2]["error"] == "RuntimeError: planted crash in fused_planned" and rows[2]["skip"] is None
    captured = capsys.readouterr()
    assert "FAILED: RuntimeError: planted crash" in captured.out and "skipped" not in captured.out
    assert "FAILED fft_conv 8x16 complex64 fused_planned" in captured.err


def test_gelu_float64_fused_results_get_the_epilogue_bound(fake_gpu, monkeypatch, tmp_path):
    """cuBLASLt's float64 GELU is accurate to about 2e-10: its results are held to that bound,
    the unfused CuPy GELU to float64's."""
    name = "matmul_epilog_gelu"

    def measure_workload(name, shapes, dtypes, strategies, **kw):
        return {(s, measure.shape_label(shapes[0]), dtypes[0]): fake_case(name, s, shapes[0], dtypes[0], error=1.6e-10)
                for s in strategies if s != "unfused"} | {
            ("unfused", measure.shape_label(shapes[0]), dtypes[0]): fake_case(name, "unfused", shapes[0], dtypes[0],
                                                                            error=1e-15)}

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    assert report.run(workloads=[name], dtypes=["float64"], shapes=[(16, 8, 12)], out=tmp_path,
                      make_plot=False) == report.OK
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert {r["strategy"]: r["correct"] for r in rows} == {"unfused": True, "fused_planned": True, "fused_graph": True}
    # The same error from the unfused path is wrong: its bound is float64's.
    assert not measure.CaseResult(name, "unfused", (1, 1, 1), "float64", relative_error=1.6e-10).correct


def test_skipped_case_is_recorded_with_its_reason(fake_gpu, monkeypatch, tmp_path):
    def measure_workload(name, shapes, dtypes, **kw):
        res = fake_results(name, shapes[0], dtypes[0])
        res[("fused_planned", measure.shape_label(shapes[0]), dtypes[0])] = measure.CaseResult(
            name, "fused_planned", shapes[0], dtypes[0], skip="needs about 90.0 GiB of device memory, 79.0 GiB free")
        return res

    monkeypatch.setattr(measure, "measure_workload", measure_workload)
    assert report.run(workloads=["fft_conv"], dtypes=["complex64"], shapes=[(8, 16)], out=tmp_path, make_plot=False) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert rows[2]["skip"].startswith("needs about 90.0 GiB") and rows[2]["cold_ms"] is None


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
    # the report.json it wrote draws again, elsewhere
    assert cli.main(["report", "--plot-from", str(tmp_path / "report.json"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    default = report.strategies_for("fft_conv")
    assert "single_kernel" in workloads.WORKLOADS["fft_conv"].strategies and "single_kernel" not in default
    assert "fused_planned" in default and "unfused" in default
    assert report.strategies_for("fft_conv", ["single_kernel"]) == ["unfused", "single_kernel"]
    assert report.strategies_for("matmul_bias_relu", ["single_kernel"]) == ["unfused"]
    assert "auto" not in report.strategies_for("matmul_bias_relu")
    assert report.strategies_for("matmul_bias_relu", ["auto"]) == ["unfused", "auto"]
