"""The training pair around C = ReLU(A @ B + bias[:, None]): forward with a ReLU mask, backward through it.

forward:  C = ReLU(A @ B + bias[:, None]) and the mask of C > 0
backward: given a matmul G @ H of C's shape (m, n) (the gradient flowing into
          the ReLU), D = (G @ H) * mask and its row sums (the bias gradient,
          length m, as bias is added per row).

Fused: cuBLASLt's RELU_AUX_BIAS epilogue returns C and the mask as an opaque
bit-packed uint8 array ("relu_aux", ceil(m / 8) bytes padded to 16 per column);
DRELU_BGRAD reads it in the backward GEMM and returns D (F-contiguous) and the
row sums ("drelu_bgrad"). Unfused: CuPy, the mask a bool (m, n) array.
"""

from __future__ import annotations

from ..gpu import backend
from ..suite import checks
from . import tuning
from .matmul import _bias_relu_rows
from ..suite.strategy import Planned


def _backward_shapes(a, b, mask_shape=None) -> tuple[int, int, int]:
    m, k, n = checks.matmul_ab(a, b)
    if k == 1:
        raise ValueError("the backward GEMM needs an inner dimension k > 1 (cuBLASLt's DRELU epilogues refuse k = 1)")
    if mask_shape is not None and tuple(mask_shape) != (m, n):
        raise ValueError(f"mask must have the product's shape {(m, n)}, got {tuple(mask_shape)}")
    return m, k, n


def unfused_forward(a, b, bias):
    """(C, mask): CuPy's GEMM, one in-place bias + ReLU kernel, then mask = C > 0 (bool). C-contiguous."""
    checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    c = backend.cupy().matmul(a, b)
    _bias_relu_rows()(bias, c.shape[1], c)
    return c, c > 0


def unfused_backward(a, b, mask):
    """(D, bias gradient): D = (a @ b) * mask, row sums of D (accumulated in float32 for float16)."""
    _backward_shapes(a, b, getattr(mask, "shape", None))
    checks.on_gpu(a=a, b=b, mask=mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must be a bool array, got dtype {mask.dtype}")
    cp = backend.cupy()
    d = cp.matmul(a, b)
    d *= mask
    acc = cp.float32 if d.dtype == cp.float16 else d.dtype
    return d, d.sum(axis=1, dtype=acc).astype(d.dtype, copy=False)


class ForwardReluAux(Planned):
    """Planned RELU_AUX_BIAS: each call returns (C, relu_aux), both freshly allocated; C F-contiguous."""

    def __init__(self, a, b, bias, *, autotune=False):
        self.shape = checks.matmul_operands(a, b, bias)
        checks.on_gpu(a=a, b=b, bias=bias)
        super().__init__(*tuning.planned_matmul(a, b, epilog="RELU_AUX_BIAS", epilog_inputs={"bias": bias},
                                                autotune=autotune))

    def _run(self):
        c, aux = self._mm.execute()
        return c, aux["relu_aux"]


class BackwardDReluBgrad(Planned):
    """Planned DRELU_BGRAD of a @ b through the mask `relu_aux` from a `ForwardReluAux` of the same (m, n).

    Each call returns (D, bias gradient): D F-contiguous (m, n), the gradient length m.
    `reset_operands(relu_aux=...)` takes the next forward's mask without re-planning.
    """

    def __init__(self, a, b, relu_aux, *, autotune=False):
        self.shape = _backward_shapes(a, b)
        checks.on_gpu(a=a, b=b, relu_aux=relu_aux)
        super().__init__(*tuning.planned_matmul(a, b, epilog="DRELU_BGRAD", epilog_inputs={"relu_aux": relu_aux},
                                                autotune=autotune))

    def _run(self):
        d, aux = self._mm.execute()
        return d, aux["drelu_bgrad"]

    def reset_operands(self, a=None, b=None, relu_aux=None) -> None:
        m, k, n = self.shape
        for name, x, shape in (("a", a, (m, k)), ("b", b, (k, n))):
            if x is not None and tuple(x.shape) != shape:
                raise ValueError(f"{name} must have the planned shape {shape}, got {tuple(x.shape)}")
        checks.on_gpu(a=a, b=b, relu_aux=relu_aux)
        self._mm.reset_operands(a=a, b=b, epilog_inputs=None if relu_aux is None else {"relu_aux": relu_aux})
