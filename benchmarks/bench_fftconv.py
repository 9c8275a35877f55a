"""ifft(fft(a) * filter): unfused CuPy vs nvmath FFT with an LTO-IR epilog (one call, planned)."""

from .common import _ColdStart, _Suite, params_for

WORKLOAD = "fft_conv"
STRATEGIES, SHAPES, DTYPES = params_for(WORKLOAD)


class FFTConv(_Suite):
    workload_name = WORKLOAD
    params = [STRATEGIES, SHAPES, DTYPES]

    def setup_cache(self):  # asv keys a cache by where setup_cache is defined: one per workload
        return super().setup_cache()

    def track_achieved_rate(self, *args):
        return super().track_achieved_rate(*args)

    track_achieved_rate.unit = "GB/s"


class FFTConvColdStart(_ColdStart):
    workload_name = WORKLOAD
    params = [STRATEGIES, DTYPES]
