"""The workloads as data: shapes, dtypes, inputs, oracle, strategies (`strategy.Strategy`), roofline counts.

The workloads marked `in_report` are what `fusion-kernels report` measures by
default: the two main ones (matmul_bias_relu, fft_conv) at every suite shape, the
FFT variants at their `default_shapes` only. The matmul epilogue family, the
PyTorch peers and the GEMM-alone baselines are measured by the asv suite and on
request (asv measures every shape of every workload).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..kernels import fftconv, fftconv2d, fftconv_shared, matmul, peers, rfftconv
from ..oracle import reference
from . import inputs, roofline, shapes
from .strategy import Bound, Need, Strategy, declare


@dataclass(frozen=True)
class Workload:
    name: str
    shapes: dict
    dtypes: tuple
    strategies: dict  # name -> Strategy, from strategy.declare; the order is the report's and asv's
    make_inputs: Callable  # (shape, dtype, seed=0, device="gpu") -> tuple of arrays
    reference: Callable  # (*inputs) -> float64/complex128 numpy result
    flops: Callable  # (shape) -> FLOP of one call
    byte_model: Callable  # (shape, dtype, passes) -> fewest bytes moved by one call of a strategy making `passes`
    rate_unit: str  # what "achieved" is reported in
    take_rows: Callable  # (inputs, row indices) -> the inputs of those output rows only

    working_set: Callable  # (shape) -> elements one unfused call holds at most: inputs, temporaries, output
    default_shapes: tuple | None = None  # suite shape names a default report runs (None: all)
    in_report: bool = True  # measured by `fusion-kernels report` when no workload is named
    epilog: str | None = None  # the cuBLASLt epilogue its strategies declared `epilogue` run

    def __post_init__(self):
        if not isinstance(self.strategies, dict) or not self.strategies:
            raise TypeError(f"Workload {self.name}: strategies must be a non-empty dict from strategy.declare, "
                            f"got {self.strategies!r}")
        for key, s in self.strategies.items():
            if not isinstance(s, Strategy) or s.name != key:
                raise TypeError(f"Workload {self.name}: strategies[{key!r}] must be the Strategy named {key!r}, got {s!r}")
            if s.epilogue and self.epilog is None:
                raise ValueError(f"Workload {self.name}: strategy {key!r} is declared epilogue=True "
                                 "but the workload names no epilog")
        for name in self.default_shapes or ():
            if name not in self.shapes:
                raise ValueError(f"Workload {self.name}: default_shapes must name shapes of {list(self.shapes)}, got {name!r}")

    def working_set_bytes(self, shape, dtype) -> int:
        return self.working_set(shape) * np.dtype(dtype).itemsize

    def bytes(self, shape, dtype, strategy: str) -> float:
        """The fewest bytes one call of `strategy` moves (its declared passes in this workload's byte model)."""
        return self.byte_model(shape, dtype, self.strategies[strategy].passes)

    def epilog_of(self, strategy: str) -> str | None:
        """The cuBLASLt epilogue that computes `strategy`'s result, or None (for `tolerances.verdict`)."""
        return self.epilog if self.strategies[strategy].epilogue else None


def _matmul_working_set(s):
    return s[0] * s[1] + s[1] * s[2] + s[0] + 3 * s[0] * s[2]


def _matmul_rows(args, rows):
    return args[0][rows], args[1], args[2][rows]


WORKLOADS = {
    "matmul_bias_relu": Workload(
        name="matmul_bias_relu",
        shapes=shapes.MATMUL_SHAPES,
        dtypes=shapes.MATMUL_DTYPES,
        strategies=matmul.STRATEGIES,
        make_inputs=inputs.matmul_inputs,
        reference=reference.matmul_bias_relu,
        flops=roofline.matmul_flops,
        byte_model=roofline.matmul_bytes,
        rate_unit="TFLOP/s",
        take_rows=_matmul_rows,
        working_set=_matmul_working_set,
        epilog="RELU_BIAS",
    ),
    "fft_conv": Workload(
        name="fft_conv",
        shapes=shapes.FFT_SHAPES,
        dtypes=shapes.FFT_DTYPES,
        strategies=fftconv.STRATEGIES,
        make_inputs=inputs.fft_inputs,
        reference=reference.fft_convolve,
        flops=roofline.fft_conv_flops,
        byte_model=roofline.fft_conv_bytes,
        rate_unit="GB/s",
        take_rows=lambda args, rows: (args[0][rows], args[1][rows]),
        working_set=lambda s: 5 * s[0] * s[1],
    ),
    "fft_conv_shared_filter": Workload(
        name="fft_conv_shared_filter",
        shapes=shapes.FFT_SHARED_FILTER_SHAPES,
        dtypes=shapes.FFT_DTYPES,
        strategies=fftconv_shared.STRATEGIES,
        make_inputs=inputs.fft_shared_filter_inputs,
        reference=reference.fft_convolve_shared,
        flops=roofline.fft_conv_flops,
        byte_model=roofline.fft_conv_shared_bytes,
        rate_unit="GB/s",
        take_rows=lambda args, rows: (args[0][rows], args[1]),
        working_set=lambda s: 4 * s[0] * s[1] + s[1],
        default_shapes=("small",),
    ),
    "rfft_conv": Workload(
        name="rfft_conv",
        shapes=shapes.RFFT_SHAPES,
        dtypes=shapes.RFFT_DTYPES,
        strategies=rfftconv.STRATEGIES,
        make_inputs=inputs.rfft_inputs,
        reference=reference.rfft_convolve,
        flops=roofline.rfft_conv_flops,
        byte_model=roofline.rfft_conv_bytes,
        rate_unit="GB/s",
        take_rows=lambda args, rows: (args[0][rows], args[1][rows]),
        # in reals: signals, output and its scaling (3n); filter, spectrum, product, C2R input copy (4 complex halves)
        working_set=lambda s: s[0] * (3 * s[1] + 8 * (s[1] // 2 + 1)),
        default_shapes=("small",),
    ),
    "fft_conv2d": Workload(
        name="fft_conv2d",
        shapes=shapes.FFT2_SHAPES,
        dtypes=shapes.FFT_DTYPES,
        strategies=fftconv2d.STRATEGIES,
        make_inputs=inputs.fft2_inputs,
        reference=reference.fft_convolve2d_batched,
        flops=roofline.fft_conv2d_flops,
        byte_model=roofline.fft_conv2d_bytes,
        rate_unit="GB/s",
        take_rows=lambda args, rows: (args[0][rows], args[1][rows] if args[1].ndim == 3 else args[1]),
        working_set=lambda s: 5 * s[0] * s[1] * s[2],
        default_shapes=("small",),
    ),
}


def _epilog_workload(epilog: str) -> Workload:
    with_bias = matmul.EPILOGS[epilog]

    def bias_if_used(bias):
        return bias if with_bias else None

    strategies = declare(
        Strategy("unfused", lambda a, b, bias: Bound(matmul.unfused_epilog, epilog, a, b, bias_if_used(bias)),
                 needs=Need.GPU, passes=roofline.unfused_epilog_passes(epilog, with_bias)),
        Strategy("fused_planned", lambda a, b, bias: matmul.FusedMatmul(a, b, bias_if_used(bias), epilog=epilog),
                 needs=Need.NVMATH, passes=1, epilogue=True),
        Strategy("fused_graph", lambda a, b, bias: matmul.GraphMatmul(a, b, bias_if_used(bias), epilog=epilog),
                 needs=Need.NVMATH, passes=1, epilogue=True),
    )
    return Workload(
        name=f"matmul_epilog_{epilog.lower()}",
        shapes=shapes.MATMUL_SHAPES,
        dtypes=shapes.MATMUL_DTYPES,
        strategies=strategies,
        make_inputs=inputs.matmul_inputs,
        reference=lambda a, b, bias: reference.matmul_epilog(epilog, a, b, bias_if_used(bias)),
        flops=roofline.matmul_flops,
        byte_model=roofline.matmul_epilog_bytes(with_bias),
        rate_unit="TFLOP/s",
        take_rows=_matmul_rows,
        working_set=_matmul_working_set,
        in_report=False,
        epilog=epilog,
    )


# The epilogue family: one workload per cuBLASLt forward epilogue (its own oracle).
EPILOG_WORKLOADS = {epilog: _epilog_workload(epilog) for epilog in matmul.EPILOGS}
WORKLOADS.update({w.name: w for w in EPILOG_WORKLOADS.values()})

WORKLOADS["matmul_peers"] = Workload(
    name="matmul_peers",
    shapes=shapes.MATMUL_SHAPES,
    dtypes=shapes.MATMUL_DTYPES,
    strategies=peers.PEERS,
    make_inputs=inputs.matmul_inputs,
    reference=reference.matmul_bias_relu,
    flops=roofline.matmul_flops,
    byte_model=roofline.matmul_bytes,
    rate_unit="TFLOP/s",
    take_rows=_matmul_rows,
    working_set=_matmul_working_set,
    in_report=False,
)

WORKLOADS["matmul_gemm"] = Workload(
    name="matmul_gemm",
    shapes=shapes.MATMUL_SHAPES,
    dtypes=shapes.MATMUL_DTYPES,
    strategies=peers.GEMMS,
    make_inputs=inputs.matmul_inputs,
    reference=lambda a, b, bias: reference.matmul_product(a, b),
    flops=roofline.gemm_flops,
    byte_model=roofline.gemm_bytes,
    rate_unit="TFLOP/s",
    take_rows=_matmul_rows,
    working_set=_matmul_working_set,
    in_report=False,
)
