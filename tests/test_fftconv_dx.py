"""The single-kernel FFT convolution without a GPU: validation before any GPU work, requirements, byte counts."""

import re
import subprocess
import sys

import numpy as np
import pytest

from fusion_kernels.gpu import backend
from fusion_kernels.kernels import fftconv, fftconv_dx
from fusion_kernels.suite import checks, workloads
from fusion_kernels.suite.strategy import Need
from test_validation import FFT_CASES


def c64(*shape):
    return np.ones(shape, dtype=np.complex64)


@pytest.mark.parametrize("case", FFT_CASES, ids=lambda c: c[0])
def test_rejects_what_every_fft_strategy_rejects(case):
    _, a, filt, error, pattern = case
    with pytest.raises(error, match=pattern):
        fftconv_dx.SingleKernelFFTConv(a, filt)


@pytest.mark.parametrize("n", [4, 128, 255, 1000, 3072, 8192])
def test_size_must_be_a_power_of_two_in_range(n):
    with pytest.raises(ValueError, match=rf"n = a.shape\[-1\] must be a power of two in \[256, 4096\], got {n}") as info:
        fftconv_dx.single_kernel(c64(2, n), c64(2, n))
    assert isinstance(info.value, checks.Unsupported)  # what measure turns into a skip


def test_numpy_input_is_refused_not_copied():
    with pytest.raises(TypeError, match=re.escape("a must be a cupy.ndarray on the GPU")):
        fftconv_dx.SingleKernelFFTConv(c64(2, 256), c64(2, 256))


@pytest.mark.parametrize("out, error, pattern", [
    (c64(2, 512), ValueError, r"out must have the result's shape \(2, 256\), got \(2, 512\)"),
    (c64(256, 2).T, ValueError, r"out must be C-contiguous"),
    (c64(2, 256).astype(np.complex128), TypeError, r"out has unsupported dtype complex128; expected one of complex64"),
    (c64(512), ValueError, r"out must be 2-D, got 1-D"),
])
def test_out_is_checked(out, error, pattern):
    with pytest.raises(error, match=pattern):
        fftconv_dx.SingleKernelFFTConv(c64(2, 256), c64(2, 256), out=out)


def test_registered_as_an_fft_conv_strategy_needing_dx():
    declared = fftconv.STRATEGIES["single_kernel"]
    assert declared is fftconv_dx.SINGLE_KERNEL and declared.factory is fftconv_dx.single_kernel
    assert declared.needs is Need.DX and not declared.in_report  # compiles for 10-20 s: run when named
    assert workloads.WORKLOADS["fft_conv"].bytes((4, 256), "complex128", "single_kernel") == 3 * 4 * 256 * 16


def test_import_initialises_no_gpu_library():
    code = "import sys, fusion_kernels.kernels.fftconv_dx; print(sorted(m for m in ('cupy', 'nvmath', 'numba') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.fixture
def fake_stack(monkeypatch):
    monkeypatch.setattr(backend, "_cupy_or_reason", lambda: (object(), None))
    monkeypatch.setattr(backend, "_nvmath_or_reason", lambda: (object(), None))
    monkeypatch.setattr(backend, "_numba_or_reason", lambda: (True, None))
    monkeypatch.setattr(backend, "_dx_or_reason", lambda: (object(), None))
    return monkeypatch


def test_missing_libmathdx_names_the_extras(fake_stack):
    why = "libmathdx is not loadable (RuntimeError: x); " + backend.DX_INSTALL_HINT
    fake_stack.setattr(backend, "_dx_or_reason", lambda: (None, why))
    assert backend.callbacks_reason() is None
    assert backend.dx_reason() == why
    with pytest.raises(backend.GPUUnavailable, match=r"libmathdx.*nvmath-python\[cu13-dx\].*nvmath-python\[cu12-dx\]"):
        backend.require_dx()


def test_dx_reasons_come_in_order(fake_stack):
    fake_stack.setattr(backend, "_numba_or_reason", lambda: (None, "numba-cuda is not importable"))
    fake_stack.setattr(backend, "_dx_or_reason", lambda: (None, "libmathdx is not loadable"))
    assert backend.dx_reason() == "numba-cuda is not importable"
    fake_stack.setattr(backend, "_cupy_or_reason", lambda: (None, "no CUDA device"))
    assert backend.dx_reason() == "no CUDA device"


def test_real_probe_never_raises():
    why = backend.dx_reason()
    assert why is None or isinstance(why, str)
