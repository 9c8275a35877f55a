"""The two workloads as data: shapes, dtypes, inputs, oracle, strategies, roofline counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import fftconv, inputs, matmul, reference, roofline, suite


@dataclass(frozen=True)
class Workload:
    name: str
    shapes: dict
    dtypes: tuple
    strategies: dict
    make_inputs: Callable  # (shape, dtype, seed=0, device="gpu") -> tuple of arrays
    reference: Callable  # (*inputs) -> float64/complex128 numpy result
    flops: Callable  # (shape) -> FLOP of one call
    bytes: Callable  # (shape, dtype, strategy) -> fewest bytes moved by one call
    rate_unit: str  # what "achieved" is reported in
    take_rows: Callable  # (inputs, row indices) -> the inputs of those output rows only
    requires: dict  # strategy -> "gpu" | "nvmath" | "callbacks" | "dx"

    working_set: Callable  # (shape) -> elements one unfused call holds at most: inputs, temporaries, output

    def working_set_bytes(self, shape, dtype) -> int:
        return self.working_set(shape) * np.dtype(dtype).itemsize


WORKLOADS = {
    "matmul_bias_relu": Workload(
        name="matmul_bias_relu",
        shapes=suite.MATMUL_SHAPES,
        dtypes=suite.MATMUL_DTYPES,
        strategies=matmul.STRATEGIES,
        make_inputs=inputs.matmul_inputs,
        reference=reference.matmul_bias_relu,
        flops=roofline.matmul_flops,
        bytes=roofline.matmul_bytes,
        rate_unit="TFLOP/s",
        take_rows=lambda args, rows: (args[0][rows], args[1], args[2][rows]),
        requires=matmul.REQUIRES,
        working_set=lambda s: s[0] * s[1] + s[1] * s[2] + s[0] + 3 * s[0] * s[2],
    ),
    "fft_conv": Workload(
        name="fft_conv",
        shapes=suite.FFT_SHAPES,
        dtypes=suite.FFT_DTYPES,
        strategies=fftconv.STRATEGIES,
        make_inputs=inputs.fft_inputs,
        reference=reference.fft_convolve,
        flops=roofline.fft_conv_flops,
        bytes=roofline.fft_conv_bytes,
        rate_unit="GB/s",
        take_rows=lambda args, rows: (args[0][rows], args[1][rows]),
        requires=fftconv.REQUIRES,
        working_set=lambda s: 5 * s[0] * s[1],
    ),
}
