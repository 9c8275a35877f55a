"""Faults on the GPU: parameters that do not fit, and NaN/Inf inputs (documented per strategy)."""

import numpy as np
import pytest

from fusion_kernels.harness import measure
from fusion_kernels.kernels import fftconv, matmul
from fusion_kernels.suite import inputs
from fusion_kernels.suite.strategy import Need

pytestmark = pytest.mark.gpu


def test_case_that_does_not_fit_is_skipped_with_reason(cp):
    res = measure.measure_case("fft_conv", "unfused", (1 << 20, 1 << 14), "complex128")  # 256 GiB
    assert res.skip.startswith("needs about") and "GiB free" in res.skip and res.call_seconds == []


def test_out_of_memory_during_a_case_is_a_skip_and_the_next_case_runs(cp, monkeypatch):
    monkeypatch.setattr(measure, "fits", lambda *a: None)  # let the allocation itself fail
    out = measure.measure_workload("fft_conv", strategies=["unfused"], shapes=[(1 << 20, 1 << 14), (64, 256)],
                                   dtypes=["complex64"], warm=False)
    big, small = out[("unfused", "1048576x16384", "complex64")], out[("unfused", "64x256", "complex64")]
    assert big.skip.startswith("out of device memory") and big.error is None
    assert small.measured and len(small.call_seconds) >= 10


@pytest.mark.nvmath
@pytest.mark.parametrize("name", list(matmul.STRATEGIES))
def test_matmul_inf_and_nan_land_where_unfused_puts_them(cp, name):
    """Documented: a NaN or Inf in row i of A reaches only row i of C, exactly where the unfused path puts it:
    NaN stays NaN; +-Inf gives +-Inf in A @ B (sign from B's row), which ReLU keeps as +Inf or makes 0."""
    a, b, bias = inputs.matmul_inputs((32, 16, 24), "float64", seed=3)
    a[1, 0], a[2, 0], a[3, 0] = cp.nan, cp.inf, -cp.inf
    with matmul.STRATEGIES[name](a, b, bias) as call:
        got = call().get()
    ref = matmul.unfused(a, b, bias).get()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
    assert np.isnan(got[1]).all() and not np.isnan(np.delete(got, [1, 2, 3], axis=0)).any()
    finite = np.isfinite(ref)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.callbacks] if n != "unfused" else [])
                                  for n, s in fftconv.STRATEGIES.items() if s.needs is not Need.DX])
def test_fft_nan_spreads_over_its_own_signal_only(cp, name):
    """Documented: a NaN or Inf in signal i leaves no finite value in output i; other signals are untouched."""
    a, filt = inputs.fft_inputs((4, 64), "complex128", seed=4)
    a[1, 5] = cp.nan
    a[2, 7] = cp.inf
    with fftconv.STRATEGIES[name](a, filt) as call:
        got = call().get()
    assert np.isnan(got[1]).all() and not np.isfinite(got[2]).any()
    assert np.isfinite(got[[0, 3]]).all()
