"""The GPU CI gate: time of a batch of back-to-back calls, synchronised before and after.

Run by scripts/gpu-ci.sh, which fails a median 10% slower than the stored
baseline. Only cases the GPU bounds (0.4 ms and more on an H100) are gated,
and each round times BATCH calls back to back: the host queues calls ahead of
the GPU, so a slow or stalled host does not show. Host-bound calls, and
single calls, moved by 25-80% between runs on the H100 machine when its CPU
was slow (docs/measurements.md, docs/gpu-test-log.md); asv tracks those with
statistics instead.
"""

import pytest

from fusion_kernels.gpu import timing
from fusion_kernels.suite import workloads

CASES = [
    ("matmul_bias_relu", (2000, 1000, 4000), "float64"),
    ("matmul_bias_relu", (16384, 1024, 16384), "float16"),
    ("fft_conv", (16384, 4096), "complex64"),
    ("fft_conv", (65536, 1024), "complex128"),
]
STRATEGIES = ["unfused", "fused_planned"]
BATCH = 10


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-{c[2]}")
def test_call(benchmark, case, strategy):
    name, shape, dtype = case
    workload = workloads.WORKLOADS[name]
    args = workload.make_inputs(shape, dtype, seed=0)
    with workload.strategies[strategy](*args) as call:
        call()
        benchmark.extra_info.update(warm_device_seconds=timing.warm_device_times(call).median)
        benchmark.extra_info["calls_per_round"] = BATCH

        def batch():
            for _ in range(BATCH):
                call()
            timing.synchronize()  # inside the timed function: pytest-benchmark's clock does not wait for the GPU

        benchmark.pedantic(batch, setup=timing.synchronize, rounds=20, warmup_rounds=2, iterations=1)
