"""GPU tests skip with the reason: no CuPy, no CUDA device, no nvmath-python, no numba-cuda, no libmathdx,
no PyTorch.

The whole session uses a fresh on-disk cache (tuned algorithms, strategy
decisions, peaks): tests never read or write the user's.
"""

import pytest

from fusion_kernels.gpu import backend
from fusion_kernels.suite.strategy import Need

_NEEDS = {need.value: need.reason for need in Need}  # marker name -> why it cannot run here


def pytest_configure(config):
    config.addinivalue_line("markers", "nvmath: needs nvmath-python (implies gpu)")
    config.addinivalue_line("markers", "dx: needs nvmath.device (cuFFTDx) with numba-cuda and libmathdx (implies gpu)")
    config.addinivalue_line(
        "markers",
        "distributed(*needs): needs torch.distributed (NCCL), nvmath.distributed and the libraries named "
        "('cublasmp', 'cufftmp'); skipped with the reason otherwise",
    )
    config.addinivalue_line("markers", "torch: needs PyTorch with CUDA (implies gpu)")


@pytest.fixture(autouse=True, scope="session")
def fresh_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_KERNELS_CACHE", str(tmp_path_factory.mktemp("fusion-kernels-cache")))
        yield


def pytest_runtest_setup(item):
    for marker, reason in _NEEDS.items():
        if item.get_closest_marker(marker):
            why = reason()
            if why:
                pytest.skip(f"{marker}: {why}")
    marker = item.get_closest_marker("distributed")
    if marker:
        why = backend.distributed_reason(marker.args)
        if why:
            pytest.skip(f"distributed: {why}")


@pytest.fixture
def cp():
    return backend.cupy()


@pytest.fixture(params=[0, 1, 2], ids=lambda s: f"seed{s}")
def seed(request):
    return request.param
