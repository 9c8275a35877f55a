"""ReLU(A @ B + bias[:, None]): unfused CuPy vs nvmath RELU_BIAS (one call, planned)."""

from .common import _DerivedBenchmarks, _FirstCallBenchmarks, _WorkloadBenchmarks, params_for

WORKLOAD = "matmul_bias_relu"
PARAMS = params_for(WORKLOAD)


class MatmulBiasReLU(_WorkloadBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS


class MatmulBiasReLUFirstCall(_FirstCallBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS


class MatmulBiasReLUDerived(_DerivedBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS

    def track_achieved_rate(self, *args):
        return super().track_achieved_rate(*args)

    track_achieved_rate.unit = "TFLOP/s"
