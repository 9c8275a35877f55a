"""FFT convolution variants without a GPU: validation, oracles, inputs, byte counts, refusal handling, report plan."""

import dataclasses
import re
import types
import warnings

import numpy as np
import pytest

from fusion_kernels.gpu import backend
from fusion_kernels.harness import report
from fusion_kernels.kernels import fft_callbacks, fftconv, fftconv2d, fftconv_shared, rfftconv
from fusion_kernels.oracle import reference
from fusion_kernels.suite import checks, inputs, roofline, shapes, workloads
from fusion_kernels.suite.strategy import Need


def c64(*shape):
    return np.ones(shape, dtype=np.complex64)


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


SHARED_ENTRY_POINTS = [fftconv_shared.unfused, fftconv_shared.SharedFilterFFTConv, fftconv_shared.GraphSharedFilterFFTConv,
                       reference.fft_convolve_shared]
REAL_ENTRY_POINTS = [rfftconv.unfused, rfftconv.RFFTConv, rfftconv.GraphRFFTConv, rfftconv.planned_or_unfused,
                     reference.rfft_convolve]
FFT2_ENTRY_POINTS = [fftconv2d.unfused, fftconv2d.FFTConv2D, fftconv2d.GraphFFTConv2D, reference.fft_convolve2d_batched]
PROLOG_ENTRY_POINTS = [fftconv.PrologFFTConv, fftconv.GraphPrologFFTConv]

CASES = [
    # (entry points, id, a, filter, error, pattern)
    (SHARED_ENTRY_POINTS, "shared-length", c64(2, 8), c64(4), ValueError, r"filter must have length n = a.shape\[1\] = 8"),
    (SHARED_ENTRY_POINTS, "shared-full", c64(2, 8), c64(2, 8), ValueError, r"filter must be 1-D, got 2-D"),
    (SHARED_ENTRY_POINTS, "shared-dtype", c64(2, 8), c64(8).astype(np.complex128), TypeError, r"filter has dtype complex128"),
    (REAL_ENTRY_POINTS, "real-complex-a", c64(2, 8), c64(2, 5), TypeError, r"a has unsupported dtype complex64"),
    (REAL_ENTRY_POINTS, "real-filter-shape", f32(2, 8), c64(2, 8), ValueError, r"filter must have shape \(batch, n // 2 \+ 1\) = \(2, 5\)"),
    (REAL_ENTRY_POINTS, "real-filter-dtype", f32(2, 8), c64(2, 5).astype(np.complex128), TypeError, r"the filter must be complex64"),
    (REAL_ENTRY_POINTS, "real-filter-real", f32(2, 8), f32(2, 5), TypeError, r"filter has unsupported dtype float32"),
    (FFT2_ENTRY_POINTS, "2d-a-rank", c64(8, 8), c64(8, 8), ValueError, r"a must be 3-D, got 2-D"),
    (FFT2_ENTRY_POINTS, "2d-filter-shape", c64(2, 8, 8), c64(8, 4), ValueError, r"filter must have the shape of a \(2, 8, 8\) or of one image \(8, 8\), got \(8, 4\)"),
    (FFT2_ENTRY_POINTS, "2d-filter-rank", c64(2, 8, 8), c64(8), ValueError, r"filter must be 3-D, got 1-D"),
    (FFT2_ENTRY_POINTS, "2d-mixed", c64(2, 8, 8), c64(8, 8).astype(np.complex128), TypeError, r"filter has dtype complex128 but a"),
    (PROLOG_ENTRY_POINTS, "prolog-shape", c64(2, 8), c64(2, 4), ValueError, r"filter must have the shape of a"),
]


@pytest.mark.parametrize("entry,case", [(e, c[1:]) for c in CASES for e in c[0]],
                         ids=[f"{c[1]}-{getattr(e, '__qualname__', e)}" for c in CASES for e in c[0]])
def test_bad_operands_are_refused_before_gpu_work(entry, case):
    _, a, filt, error, pattern = case
    with pytest.raises(error, match=pattern):
        entry(a, filt)


@pytest.mark.parametrize("entry,a,filt", [
    *[(e, c64(2, 8), c64(8)) for e in SHARED_ENTRY_POINTS[:-1]],
    *[(e, f32(2, 8), c64(2, 5)) for e in REAL_ENTRY_POINTS[:-1]],
    *[(e, c64(2, 8, 8), c64(8, 8)) for e in FFT2_ENTRY_POINTS[:-1]],
    *[(e, c64(2, 8), c64(2, 8)) for e in PROLOG_ENTRY_POINTS],
])
def test_numpy_input_is_refused_not_copied(entry, a, filt):
    with pytest.raises(TypeError, match=re.escape("a must be a cupy.ndarray on the GPU")):
        entry(a, filt)


def test_oracles_agree_with_the_full_complex_one():
    a, f = inputs.fft_shared_filter_inputs((5, 12), "complex128", seed=1, device="cpu")
    np.testing.assert_allclose(reference.fft_convolve_shared(a, f), reference.fft_convolve(a, np.tile(f, (5, 1))), atol=1e-14)
    # 2-D with a separable filter equals 1-D convolutions along each axis in turn
    a2, _ = inputs.fft2_inputs((3, 6, 10), "complex128", seed=2, device="cpu")
    fy, fx = np.arange(1, 7) + 0.5j, np.arange(10) - 2.5j
    want = reference.fft_convolve(np.swapaxes(reference.fft_convolve(a2.reshape(-1, 10), np.tile(fx, (18, 1)))
                                              .reshape(3, 6, 10), 1, 2).reshape(-1, 6), np.tile(fy, (30, 1)))
    got = reference.fft_convolve2d_batched(a2, np.outer(fy, fx))
    np.testing.assert_allclose(got, np.swapaxes(want.reshape(3, 10, 6), 1, 2), atol=1e-12)


@pytest.mark.parametrize("n", [8, 9])
def test_real_oracle_is_the_complex_one_with_a_hermitian_filter(n):
    a, f = inputs.rfft_inputs((4, n), "float64", seed=3, device="cpu")
    full = np.concatenate([f, np.conj(f[:, 1:(n + 1) // 2][:, ::-1])], axis=1)  # Hermitian extension
    want = reference.fft_convolve(a.astype(np.complex128), full)
    np.testing.assert_allclose(reference.rfft_convolve(a, f), want.real, atol=1e-13)
    assert np.abs(want.imag).max() < 1e-13


def test_real_inputs_have_real_dc_and_nyquist_bins_and_no_zeros():
    a, f = inputs.rfft_inputs((3, 16), "float32", seed=0, device="cpu")
    assert a.dtype == np.float32 and f.dtype == np.complex64 and f.shape == (3, 9)
    assert np.all(f[:, 0].imag == 0) and np.all(f[:, -1].imag == 0)
    assert np.all(a != 0) and np.all(f.real != 0)
    b, _ = inputs.rfft_inputs((3, 16), "float32", seed=0, device="cpu")
    np.testing.assert_array_equal(a, b)


def test_variant_byte_counts():
    b, n, isz = 2048, 4096, 8
    w = workloads.WORKLOADS
    assert w["fft_conv"].bytes((b, n), "complex64", "fused_prolog") == 5 * b * n * isz
    assert w["fft_conv_shared_filter"].bytes((b, n), "complex64", "unfused") == (8 * b * n + n) * isz
    assert w["fft_conv_shared_filter"].bytes((b, n), "complex64", "fused_planned") == (4 * b * n + n) * isz
    s, h = b * n * 4, b * (n // 2 + 1) * 8
    assert w["rfft_conv"].bytes((b, n), "float32", "unfused") == 4 * s + 7 * h
    assert w["rfft_conv"].bytes((b, n), "float32", "fused_prolog") == 2 * s + 5 * h
    assert w["fft_conv2d"].bytes((8, 1024, 1024), "complex128", "fused_graph") == 5 * 8 * 1024 * 1024 * 16
    assert roofline.fft_forward_bytes((b, n), "complex64") == 2 * b * n * isz


VARIANTS = ["fft_conv_shared_filter", "rfft_conv", "fft_conv2d"]


@pytest.mark.parametrize("name", VARIANTS + ["fft_conv"])
def test_variant_workloads_are_complete(name):
    w = workloads.WORKLOADS[name]
    assert {s.needs for s in w.strategies.values()} <= {Need.GPU, Need.NVMATH, Need.CALLBACKS, Need.DX}
    for shape in w.shapes.values():
        counts = {s: w.bytes(shape, w.dtypes[0], s) for s in w.strategies}
        assert counts["unfused"] == max(counts.values()) > min(counts.values())
    big = max(w.working_set_bytes(s, w.dtypes[-1]) for s in w.shapes.values())
    if name in VARIANTS:
        assert big <= 1.1e9, f"{name} large working set {big / 1e9:.2f} GB"


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_sampled_error_checks_rows(name):
    from fusion_kernels.harness import measure

    w = workloads.WORKLOADS[name]
    shape = {"fft_conv2d": (30, 6, 8)}.get(name, (150, 24))
    args = w.make_inputs(shape, w.dtypes[-1], seed=1, device="cpu")
    exact = w.reference(*args)
    assert measure.sampled_error(w, args, exact) == 0.0
    assert measure.sampled_error(w, args, exact * 1.001) == pytest.approx(1e-3, rel=1e-6)


def test_default_report_keeps_the_variants_at_their_small_shape():
    plan = report.plan_cases()
    main = [p for p in plan if p[0] in ("matmul_bias_relu", "fft_conv")]
    assert len(main) == sum(len(workloads.WORKLOADS[n].shapes) * len(workloads.WORKLOADS[n].dtypes)
                            for n in ("matmul_bias_relu", "fft_conv"))
    for name in VARIANTS:
        w = workloads.WORKLOADS[name]
        assert [(p[1], p[2]) for p in plan if p[0] == name] == [(w.shapes["small"], d) for d in w.dtypes]
    # named: every suite shape; a bare --shape stays with the main workloads of its rank
    assert len(report.plan_cases(workloads=["fft_conv2d"])) == 3 * 2
    assert {p[0] for p in report.plan_cases(shapes=[(64, 256, 256)])} == {"matmul_bias_relu"}
    assert report.plan_cases(workloads=["fft_conv2d"], shapes=[(64, 256, 256), (8, 8)]) == [
        ("fft_conv2d", (64, 256, 256), "complex64"), ("fft_conv2d", (64, 256, 256), "complex128")]


def test_cli_accepts_the_variant_workloads(monkeypatch):
    from fusion_kernels import cli

    seen = {}
    monkeypatch.setattr(report, "run", lambda **kw: seen.update(kw) or 0)
    assert cli.main(["report", "--workload", "rfft_conv", "--dtype", "float32", "--no-plot"]) == 0
    assert seen["workloads"] == ["rfft_conv"] and seen["dtypes"] == ["float32"]


# ---- cuFFT refusing a callback plan ----

class FakeFFT:
    def __init__(self, error=None):
        self.error, self.planned_with, self.freed = error, None, False

    def plan(self, **callbacks):
        if self.error:
            raise self.error
        self.planned_with = callbacks


REFUSALS = [
    ValueError("CUFFT_NOT_SUPPORTED\ncuFFT 12.3.x (CUDA 13.3) does not support LTO prologs for R2C FFT."),
    type("cuFFTError", (Exception,), {})("NOT_SUPPORTED (16)"),
    RuntimeError("The currently running cuFFT version 11200 does not support LTO callbacks."),
]


@pytest.mark.parametrize("error", REFUSALS, ids=["nvmath-guard", "cufft-status", "old-cufft"])
def test_refusal_becomes_a_clear_callback_refused(error):
    with pytest.raises(fft_callbacks.CallbackRefused, match=r"cuFFT refused the R2C epilog .*unfused strategy") as info:
        fft_callbacks.plan_with(FakeFFT(error), "R2C epilog", epilog={"ltoir": b"", "data": 0})
    assert info.value.__cause__ is error
    assert isinstance(info.value, backend.GPUUnavailable)  # the report and asv show it as a skip


def test_other_plan_errors_pass_through():
    bug = ValueError("The FFT axes must be contiguous")
    with pytest.raises(ValueError, match="axes must be contiguous"):
        fft_callbacks.plan_with(FakeFFT(bug), "R2C epilog", epilog={})
    ok = FakeFFT()
    fft_callbacks.plan_with(ok, "x", prolog={"ltoir": b"1"})
    assert ok.planned_with == {"prolog": {"ltoir": b"1"}}


def test_planned_or_unfused_warns_and_falls_back_on_refusal(monkeypatch):
    def refuse(a, filter, kind="epilog"):
        raise fft_callbacks.CallbackRefused("cuFFT refused the filter-multiply epilog (ValueError: CUFFT_NOT_SUPPORTED)")

    monkeypatch.setattr(rfftconv, "RFFTConv", refuse)
    a, f = f32(2, 8), c64(2, 5)
    with pytest.warns(RuntimeWarning, match=r"cuFFT refused.*Falling back to the unfused rfft convolution"):
        call = rfftconv.planned_or_unfused(a, f)
    assert call._fn is rfftconv.unfused and call._args == (a, f)


def test_planned_or_unfused_does_not_hide_other_errors(monkeypatch):
    def broken(a, filter, kind="epilog"):
        raise ValueError("filter layout (shape ...) does not match")

    monkeypatch.setattr(rfftconv, "RFFTConv", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="filter layout"):
            rfftconv.planned_or_unfused(f32(2, 8), c64(2, 5))


def test_a_refused_strategy_is_reported_as_a_skip_with_the_message(monkeypatch):
    from fusion_kernels.gpu import memory
    from fusion_kernels.harness import measure

    msg = "cuFFT refused the filter-multiply epilog on the forward FFT's output (ValueError: CUFFT_NOT_SUPPORTED)"

    def refuse(a, filter):
        raise fft_callbacks.CallbackRefused(msg)

    w = workloads.WORKLOADS["rfft_conv"]
    monkeypatch.setitem(w.strategies, "fused_planned", dataclasses.replace(w.strategies["fused_planned"], factory=refuse))
    monkeypatch.setattr(measure, "availability", lambda workload, strategy: None)
    monkeypatch.setattr(measure, "fits", lambda workload, shape, dtype: None)
    monkeypatch.setattr(memory, "driver_delta_bytes", lambda fn: fn())
    res = measure.measure_case("rfft_conv", "fused_planned", (2, 8), "float32", inputs=(f32(2, 8), c64(2, 5)))
    assert res.skip == msg and res.error_trace is None


def test_callback_compile_failure_names_kind_and_period(monkeypatch):
    monkeypatch.setattr(backend, "require_callbacks", lambda: None)

    def compile_prolog(*args, **kwargs):
        raise RuntimeError("libNVVM not found")

    monkeypatch.setattr(backend, "nvmath", lambda: types.SimpleNamespace(fft=types.SimpleNamespace(compile_prolog=compile_prolog)))
    fft_callbacks.multiply_ltoir.cache_clear()
    with pytest.raises(backend.GPUUnavailable, match=r"compiling the FFT prolog \(complex64, size=64, period=64, sm_90\).*libNVVM"):
        fft_callbacks.multiply_ltoir("prolog", "complex64", 64, 64, "90")
    with pytest.raises(ValueError, match="kind must be one of"):
        fft_callbacks.multiply_ltoir("middle", "complex64", 64, None, "90")
    fft_callbacks.multiply_ltoir.cache_clear()


def test_layout_rules():
    fft_callbacks.check_filter_layout(c64(4, 8), ((4, 8), (8, 1)), "forward FFT's output")
    with pytest.raises(ValueError, match=r"filter layout \(shape \(4, 8\), strides \(1, 4\) elements\) does not match the "
                                         r"inverse FFT's input layout \(shape \(4, 8\), strides \(8, 1\)"):
        fft_callbacks.check_filter_layout(np.asfortranarray(c64(4, 8)), ((4, 8), (8, 1)), "inverse FFT's input")
    assert fft_callbacks.check_shared_layout(((4, 8), (8, 1)), "forward FFT's output", 1) == 8
    assert fft_callbacks.check_shared_layout(((2, 6, 10), (60, 10, 1)), "forward FFT's output", 2) == 60
    with pytest.raises(ValueError, match=r"shared filter needs a C-contiguous forward FFT's output.*shape \(4, 8\), strides \(1, 4\)"):
        fft_callbacks.check_shared_layout(((4, 8), (1, 4)), "forward FFT's output", 1)


def test_shapes_in_suite():
    assert shapes.FFT2_SHAPES["medium"] == (64, 256, 256)
    assert all(len(s) == 3 for s in shapes.FFT2_SHAPES.values())
    assert any(n % 2 for _, n in shapes.RFFT_TEST_SHAPES)
    assert checks.REAL_FFT_DTYPES == shapes.RFFT_DTYPES


def test_fft_bar_cases_table_and_no_gpu_exit(monkeypatch, capsys):
    from fusion_kernels import cli
    from fusion_kernels.harness import bars

    assert ((4096, 16384), "complex128") in bars.fft_cases()
    assert len(bars.fft_cases()) == 2 * len(shapes.FFT_SHAPES) + 1
    assert bars.fft_bytes("forward_fft", (2, 8), "complex64") == 2 * 16 * 8
    assert bars.fft_bytes("fused_prolog", (2, 8), "complex64") == 5 * 16 * 8
    assert "fused_onecall" not in bars.FFT_VARIANTS and bars.FFT_VARIANTS[0] == "unfused"
    result = {"device": "GPU", "bandwidth_GBps": 3000.0, "rows": [
        dict(shape="2x8", dtype="complex64", variant="unfused", bytes=1.0e6, device_ms=0.01, roofline_fraction=0.5,
             speedup_vs_unfused=1.0),
        dict(shape="2x8", dtype="complex64", variant="fused_prolog", skip="CallbackRefused: a | b\nc")]}
    text = bars.fft_markdown(result)
    assert "| 2x8 | complex64 | unfused | 0.0100 | 1.0 | 0.50 | 1.00x |" in text
    assert "skipped: CallbackRefused: a / b c |" in text
    monkeypatch.setattr(backend, "callbacks_reason", lambda: "no CUDA device")
    assert cli.main(["bars", "fft"]) == 1
    assert "cannot run here: no CUDA device" in capsys.readouterr().err
