"""pytest-benchmark suite for GPU CI: a few strategies, GPU-synchronised, under two minutes."""

import pytest

from fusion_kernels.gpu import backend


def pytest_collection_modifyitems(config, items):
    why = backend.callbacks_reason()
    if why:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=why))
