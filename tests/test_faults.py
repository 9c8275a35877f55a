"""A missing piece gives one message naming it and how to install it (CPU only, libraries simulated)."""

import pytest

from fusion_kernels.gpu import backend


@pytest.fixture
def fake_stack(monkeypatch):
    """CuPy and nvmath 'present'; tests then take away one piece at a time."""
    monkeypatch.setattr(backend, "_cupy_or_reason", lambda: (object(), None))
    monkeypatch.setattr(backend, "_nvmath_or_reason", lambda: (object(), None))
    monkeypatch.setattr(backend, "_numba_or_reason", lambda: (True, None))
    return monkeypatch


def test_missing_numba_names_it_and_the_fix(fake_stack):
    why = "numba-cuda is not importable (ImportError: x); FFT callbacks cannot be compiled. Install nvmath-python[numba] with numpy<2.5"
    fake_stack.setattr(backend, "_numba_or_reason", lambda: (None, why))
    assert backend.nvmath_reason() is None
    with pytest.raises(backend.GPUUnavailable, match=r"numba-cuda is not importable.*nvmath-python\[numba\]"):
        backend.require_callbacks()


def test_missing_nvmath_names_it_and_the_extras(fake_stack):
    fake_stack.setattr(backend, "_nvmath_or_reason", lambda: (None, "nvmath-python is not installed (x); " + backend.INSTALL_HINT))
    with pytest.raises(backend.GPUUnavailable, match=r"nvmath-python is not installed.*fusion-kernels\[cu13\]"):
        backend.nvmath()
    assert backend.callbacks_reason().startswith("nvmath-python is not installed")


def test_no_device_is_said_first(fake_stack):
    fake_stack.setattr(backend, "_cupy_or_reason", lambda: (None, "no CUDA device"))
    assert backend.gpu_reason() == backend.nvmath_reason() == backend.callbacks_reason() == "no CUDA device"


def test_real_probe_never_raises():
    for reason in (backend.gpu_reason, backend.nvmath_reason, backend.callbacks_reason):
        assert reason() is None or isinstance(reason(), str)


def test_callback_compile_failure_is_one_clear_message(fake_stack):
    import types

    from fusion_kernels.kernels import fft_callbacks

    def compile_epilog(*args, **kwargs):
        raise RuntimeError("libNVVM not found")

    fake = types.SimpleNamespace(fft=types.SimpleNamespace(compile_epilog=compile_epilog))
    fake_stack.setattr(backend, "nvmath", lambda: fake)
    fft_callbacks.multiply_ltoir.cache_clear()
    with pytest.raises(backend.GPUUnavailable, match=r"compiling the FFT epilog \(complex64, size=64, period=None, sm_90\) "
                                                     r"with numba-cuda failed: RuntimeError: libNVVM not found.*"
                                                     r"nvmath-python\[numba\]"):
        fft_callbacks.multiply_ltoir("epilog", "complex64", 64, None, "90")
    fft_callbacks.multiply_ltoir.cache_clear()
