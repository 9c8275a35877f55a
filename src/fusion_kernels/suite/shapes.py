"""The shapes and dtypes the suite measures: one place for benchmarks, report and tests."""

MATMUL_DTYPES = ("float16", "float32", "float64")
FFT_DTYPES = ("complex64", "complex128")

# (m, k, n). "medium" is the seed tutorial's size; "large" fills an H100.
MATMUL_SHAPES = {
    "small": (1024, 4096, 1024),
    "medium": (2000, 1000, 4000),
    "large": (16384, 1024, 16384),
}

# (batch, n). "small" is the seed tutorial's size; "large" is one 0.5 GB complex64 array.
FFT_SHAPES = {
    "small": (256, 1024),
    "medium": (65536, 1024),
    "large": (16384, 4096),
}

# FFT variants. "large" keeps an unfused call's working set under about 1 GB in the wider dtype.
FFT_SHARED_FILTER_SHAPES = {"small": (256, 1024), "medium": (8192, 512), "large": (2048, 4096)}  # (batch, n)
RFFT_DTYPES = ("float32", "float64")
RFFT_SHAPES = {"small": (256, 1024), "medium": (8192, 512), "large": (4096, 4096)}  # (batch, n) real signals
FFT2_SHAPES = {"small": (16, 128, 128), "medium": (64, 256, 256), "large": (8, 1024, 1024)}  # (batch, h, w)

# The seed tutorial's sizes: where the cold-start (first-call) figures are taken.
SEED_SHAPES = {"matmul_bias_relu": MATMUL_SHAPES["medium"], "fft_conv": FFT_SHAPES["small"]}

# Shapes the GPU tests draw random inputs at: small, with non-multiples of 8.
MATMUL_TEST_SHAPES = [(2, 5, 4), (37, 19, 53), (128, 64, 96), (257, 129, 65)]
FFT_TEST_SHAPES = [(2, 4), (3, 60), (16, 256), (5, 1000)]
RFFT_TEST_SHAPES = [(2, 4), (3, 63), (16, 256), (5, 1000)]  # an odd length too (C2R parity)
FFT2_TEST_SHAPES = [(1, 4, 4), (3, 12, 20), (4, 64, 32), (2, 17, 30)]
