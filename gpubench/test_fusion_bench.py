"""Per-call time from an idle GPU (synchronised before and after), seed-sized problems.

Run by scripts/gpu-ci.sh; compare against a stored baseline with
--benchmark-compare and fail on regression with --benchmark-compare-fail.
"""

import pytest

from fusion_kernels import timing, workloads

CASES = [
    ("matmul_bias_relu", (2000, 1000, 4000), "float16"),
    ("matmul_bias_relu", (2000, 1000, 4000), "float64"),
    ("fft_conv", (256, 1024), "complex128"),
    ("fft_conv", (16384, 4096), "complex64"),
]
STRATEGIES = ["unfused", "fused_planned"]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'x'.join(map(str, c[1]))}-{c[2]}")
def test_call(benchmark, case, strategy):
    name, shape, dtype = case
    workload = workloads.WORKLOADS[name]
    args = workload.make_inputs(shape, dtype, seed=0)
    with workload.strategies[strategy](*args) as call:
        call()
        benchmark.extra_info.update(device_seconds=timing.median(timing.device_times(call)))
        # Synchronise inside the timed function: pytest-benchmark's clock does not wait for the GPU.
        benchmark.pedantic(lambda: (call(), timing.synchronize()), setup=timing.synchronize,
                           rounds=30, warmup_rounds=3, iterations=1)
