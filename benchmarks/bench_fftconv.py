"""ifft(fft(a) * filter): unfused CuPy vs nvmath FFT with an LTO-IR epilog (one call, planned)."""

from .common import _DerivedBenchmarks, _FirstCallBenchmarks, _WorkloadBenchmarks, params_for

WORKLOAD = "fft_conv"
PARAMS = params_for(WORKLOAD)


class FFTConv(_WorkloadBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS


class FFTConvFirstCall(_FirstCallBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS


class FFTConvDerived(_DerivedBenchmarks):
    workload_name = WORKLOAD
    params = PARAMS

    def track_achieved_rate(self, *args):
        return super().track_achieved_rate(*args)

    track_achieved_rate.unit = "GB/s"
