"""ifft(fft(a) * filter): unfused CuPy vs nvmath FFT with an LTO-IR epilog or prolog (one call, planned, graph),
and one cuFFTDx kernel.

Also the variants, each its own workload: one filter shared by the batch, real signals (rfft), batched
2-D images.
"""

from .common import _ColdStart, _Suite, params_for

WORKLOAD = "fft_conv"
STRATEGIES, SHAPES, DTYPES = params_for(WORKLOAD)


class FFTConv(_Suite):
    workload_name = WORKLOAD
    params = [STRATEGIES, SHAPES, DTYPES]

    def setup_cache(self):  # asv keys a cache by where setup_cache is defined: one per workload
        return super().setup_cache()


class FFTConvColdStart(_ColdStart):
    workload_name = WORKLOAD
    params = [STRATEGIES, DTYPES]


# ---- FFT convolution variants ----

SHARED, REAL, CONV2D = "fft_conv_shared_filter", "rfft_conv", "fft_conv2d"


class FFTConvSharedFilter(_Suite):
    workload_name = SHARED
    params = params_for(SHARED)

    def setup_cache(self):
        return super().setup_cache()


class RFFTConv(_Suite):
    workload_name = REAL
    params = params_for(REAL)

    def setup_cache(self):
        return super().setup_cache()


class FFTConv2D(_Suite):
    workload_name = CONV2D
    params = params_for(CONV2D)

    def setup_cache(self):
        return super().setup_cache()
