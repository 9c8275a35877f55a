"""ReLU(A @ B + bias[:, None]): unfused CuPy vs nvmath RELU_BIAS (one call, planned, graph-replayed)."""

from .common import _ColdStart, _Suite, params_for

WORKLOAD = "matmul_bias_relu"
STRATEGIES, SHAPES, DTYPES = params_for(WORKLOAD)


class MatmulBiasReLU(_Suite):
    workload_name = WORKLOAD
    params = [STRATEGIES, SHAPES, DTYPES]

    def setup_cache(self):  # asv keys a cache by where setup_cache is defined: one per workload
        return super().setup_cache()


class MatmulBiasReLUColdStart(_ColdStart):
    workload_name = WORKLOAD
    params = [STRATEGIES, DTYPES]
