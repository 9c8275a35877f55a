"""C = ReLU(A @ B + bias[:, None]): unfused CuPy vs nvmath-python's cuBLASLt RELU_BIAS epilogue.

A is (m, k), B is (k, n), bias has length m and is added to every column (one
value per row, like ``bias.reshape(-1, 1)``). All operands share one dtype:
float16, float32 or float64, as cupy.ndarray on the GPU.

Result layouts differ and values agree: `unfused` returns a C-contiguous array
(row-major, CuPy's default); `fused` and `FusedMatmul` return cuBLASLt's
F-contiguous (column-major) result.

The rest of cuBLASLt's forward epilogue family, C = f(A @ B [+ bias[:, None]]),
is here too: `EPILOGS`, `unfused_epilog` and `FusedMatmul(..., epilog=...)`.
cuBLASLt's GELU is the tanh approximation
``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x**3)))``, not the erf form; the
unfused path uses `gelu_tanh` below, the oracle its own copy (`reference.gelu_tanh`).
"""

from __future__ import annotations

import functools

from ..gpu import backend, releases
from ..suite import checks
from . import autoselect, tuning
from ..gpu.graphs import Replayed
from ..suite.strategy import Bound, Call, Need, Planned, Strategy, declare


def _unfused_steps(a, b, bias):
    checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    cp = backend.cupy()
    c = cp.matmul(a, b)
    yield c
    c = c + bias.reshape(-1, 1)
    yield c
    yield cp.maximum(c, 0)


def unfused_steps(a, b, bias) -> list:
    """The unfused path's three intermediate results: product, product + bias, ReLU."""
    return list(_unfused_steps(a, b, bias))


def unfused(a, b, bias):
    """Three CuPy kernels: matmul, add bias per row, ReLU. C-contiguous result.

    ReLU is `cupy.maximum(x, 0)`, which propagates NaN (so does cuBLASLt's RELU_BIAS).
    """
    for c in _unfused_steps(a, b, bias):  # keeps one intermediate alive at a time, as the seed does
        pass
    return c


@functools.cache
def _bias_relu_rows():
    # One pass over C: add the row's bias, then ReLU. `v != v` keeps NaN, as cupy.maximum does.
    return backend.cupy().ElementwiseKernel(
        "raw T bias, int64 n", "T c",
        "T v = c + bias[i / n]; c = (v > T(0.0f) || v != v) ? v : T(0.0f);",
        "fusion_kernels_bias_relu_rows",
    )


@functools.cache
def _bias_relu_cols():
    # For a column-major C seen through its C-contiguous transpose: element i lies in row i % m.
    return backend.cupy().ElementwiseKernel(
        "raw T bias, int64 m", "T c",
        "T v = c + bias[i % m]; c = (v > T(0.0f) || v != v) ? v : T(0.0f);",
        "fusion_kernels_bias_relu_cols",
    )


def bias_relu_inplace(c, bias):
    """c <- ReLU(c + bias[:, None]) in ONE pass, for a C- or F-contiguous c (read in memory order)."""
    if c.flags.c_contiguous:
        _bias_relu_rows()(bias, c.shape[1], c)
    elif c.flags.f_contiguous:
        ct = c.T  # C-contiguous view of the same memory
        _bias_relu_cols()(bias, c.shape[0], ct)
    else:
        raise ValueError(f"c must be C- or F-contiguous, got strides {c.strides}")
    return c


def partial(a, b, bias):
    """Partial fusion: CuPy's GEMM, then ONE in-place kernel adding the bias and applying ReLU.

    Bitwise equal to `unfused` (same roundings in the same order) with two
    passes over C fewer. C-contiguous result.
    """
    checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    return bias_relu_inplace(backend.cupy().matmul(a, b), bias)


def _relu_bias():
    return backend.nvmath().linalg.advanced.MatmulEpilog.RELU_BIAS


# Forward epilogues: name -> whether it takes a bias (added per row, before the activation).
EPILOGS = {"BIAS": True, "RELU": False, "RELU_BIAS": True, "GELU": False, "GELU_BIAS": True}
GELU_SQRT_2_OVER_PI = 0.7978845608028654


def check_epilog(epilog, a, b, bias) -> tuple[int, int, int]:
    """Validate an epilogue's operands; returns (m, k, n)."""
    if epilog not in EPILOGS:
        raise ValueError(f"epilog must be one of {', '.join(EPILOGS)}, got {epilog!r}")
    if EPILOGS[epilog]:
        return checks.matmul_operands(a, b, bias)
    if bias is not None:
        raise ValueError(f"epilog {epilog} takes no bias, got one with shape {tuple(bias.shape)}")
    return checks.matmul_ab(a, b)


def gelu_tanh(x, xp):
    """cuBLASLt's GELU (tanh approximation), elementwise with array module `xp`."""
    return 0.5 * x * (1 + xp.tanh(GELU_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def unfused_epilog(epilog, a, b, bias=None):
    """C = f(A @ B [+ bias[:, None]]) in plain CuPy, one kernel per step. C-contiguous result.

    GELU is computed in float32 for float16 operands (cuBLASLt's epilogue works in
    float32 too), then rounded once to the operands' dtype.
    """
    check_epilog(epilog, a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    cp = backend.cupy()
    c = cp.matmul(a, b)
    if EPILOGS[epilog]:
        c = c + bias.reshape(-1, 1)
    if epilog.startswith("RELU"):
        return cp.maximum(c, 0)
    if epilog.startswith("GELU"):
        work = c.astype(cp.float32) if c.dtype == cp.float16 else c
        return gelu_tanh(work, cp).astype(c.dtype, copy=False)
    return c


def fused(a, b, bias):
    """One call of `nvmath.linalg.advanced.matmul` with the RELU_BIAS epilogue. F-contiguous result.

    This is the tutorial's one-call form: it plans again on every call (0.4-0.9 ms
    of host time on an H100), so it shows the fused kernel's price, not its speed
    in a loop; `FusedMatmul` plans once.
    """
    checks.matmul_operands(a, b, bias)
    checks.on_gpu(a=a, b=b, bias=bias)
    nvmath = backend.nvmath()
    return nvmath.linalg.advanced.matmul(a, b, epilog=_relu_bias(), epilog_inputs={"bias": bias})


class FusedMatmul(Planned):
    """nvmath's stateful `Matmul` with a cuBLASLt epilogue (RELU_BIAS unless `epilog` says):
    plan once, execute many times.

    Call the object to execute. `reset_operands` swaps in new operands of the same
    shape and dtype without re-planning; `reset_operands_unchecked` does the same
    without validating (for callers that already did). Use it as a context
    manager or call `close()`: it holds cuBLASLt descriptors and a workspace.

    The result is F-contiguous and freshly allocated by each call, unless `out`
    is given: an F-contiguous (m, n) array of the operands' dtype that every
    call overwrites and returns (nvmath's inplace mode with beta = 0, so the old
    contents are not read). F order because the bias epilogues need a
    column-major result and an inplace result takes `out`'s layout.

    `autotune`: False, True or "cached" (see `fusion_kernels.kernels.tuning`); `tuning`
    says what was done ("heuristic", "autotuned", "from_cache").
    """

    def __init__(self, a, b, bias=None, *, epilog: str = "RELU_BIAS", autotune=False, out=None):
        self.shape = check_epilog(epilog, a, b, bias)
        checks.on_gpu(a=a, b=b, bias=bias, out=out)
        tuning.check_mode(autotune)
        if out is not None:
            _check_out(out, self.shape, a.dtype)
        self.dtype = a.dtype
        self.epilog = epilog
        self.out = out
        super().__init__(*tuning.planned_matmul(
            a, b, epilog=epilog, epilog_inputs={"bias": bias} if EPILOGS[epilog] else None, out=out, autotune=autotune))

    @property
    def workspace_bytes(self) -> int:
        """cuBLASLt workspace the plan needs; held from the first call until close()."""
        return releases.workspace_bytes(self._mm)

    def reset_operands(self, a=None, b=None, bias=None, *, out=None) -> None:
        """New operands of the planned shapes and dtype; omitted ones stay. `out` only if planned with one."""
        m, k, n = self.shape
        expected = {"a": (m, k), "b": (k, n), "bias": (m,)}
        given = {"a": a, "b": b, "bias": bias}
        if bias is not None and not EPILOGS[self.epilog]:
            raise ValueError(f"epilog {self.epilog} takes no bias")
        for name, x in given.items():
            if x is None:
                continue
            checks.array(name, x, len(expected[name]), (self.dtype.name,))
            if tuple(x.shape) != expected[name]:
                raise ValueError(f"{name} must have the planned shape {expected[name]}, got {tuple(x.shape)}")
            checks.on_gpu(**{name: x})
        if out is not None:
            if self.out is None:
                raise ValueError("out can be reset only on a FusedMatmul planned with out=")
            checks.on_gpu(out=out)
            _check_out(out, self.shape, self.dtype)
            self.out = out
        self._mm.reset_operands(a=a, b=b, c=out, epilog_inputs=None if bias is None else {"bias": bias})

    def reset_operands_unchecked(self, a=None, b=None, bias=None, *, out=None) -> None:
        """`reset_operands` without any check (nvmath's `reset_operands_unchecked`): the caller
        guarantees planned shapes, dtype, device and layout. Saves the validation's host time."""
        if out is not None:
            self.out = out
        releases.reset_operands_unchecked(self._mm, a=a, b=b, c=out,
                                          epilog_inputs=None if bias is None else {"bias": bias})


def _check_out(out, shape, dtype) -> None:
    m, _, n = shape
    checks.array("out", out, 2, (dtype.name if hasattr(dtype, "name") else str(dtype),))
    if tuple(out.shape) != (m, n):
        raise ValueError(f"out must have the result's shape {(m, n)}, got {tuple(out.shape)}")
    if not out.flags.f_contiguous:
        raise ValueError(f"out must be F-contiguous (the epilogue writes a column-major result), got strides {out.strides}")


class GraphMatmul(Replayed):
    """`FusedMatmul` captured into a CUDA graph: each call replays the planned GEMM and its epilogue.

    Removes the ~40-70 us of host time a planned `execute()` costs. Every call
    returns the SAME F-contiguous output array, overwritten by the next call;
    new data goes in by writing into the arrays given here (the graph reads
    them by pointer). Use as a context manager or call `close()`.
    """

    def __init__(self, a, b, bias=None, *, epilog: str = "RELU_BIAS", autotune=False):
        super().__init__(FusedMatmul(a, b, bias, epilog=epilog, autotune=autotune))


class Auto(Call):
    """The fastest of the strategies declared `auto_candidate` for these inputs' shape and dtype on this device.

    The first construction (per device, library versions, shape, dtype) measures
    each candidate's device time on the given inputs and remembers the choice on
    disk (`fusion_kernels.kernels.autoselect`); later ones reuse it. `choice` names the
    strategy, `explain()` gives each candidate's time. Calls run the chosen
    strategy, with its result layout and ownership rules.
    """

    def __init__(self, a, b, bias, *, measure=None):
        shape = checks.matmul_operands(a, b, bias)
        checks.on_gpu(a=a, b=b, bias=bias)
        declared = [s for s in STRATEGIES.values() if s.auto_candidate]
        unavailable = {s.name: s.needs.reason() for s in declared if s.needs.reason()}
        candidates = {s.name: s for s in declared if s.name not in unavailable}
        key = autoselect.decision_key(backend.device_name(), backend.versions(), "matmul_bias_relu", shape, a.dtype)
        kwargs = {} if measure is None else {"measure": measure}
        self.decision = autoselect.decide(key, candidates, (a, b, bias), unavailable=unavailable, **kwargs)
        self.choice = self.decision.choice
        self._call = STRATEGIES[self.choice](a, b, bias)
        self._run = self._call  # calls go straight to the chosen strategy

    def explain(self) -> str:
        return self.decision.explain()

    def _release(self) -> None:
        self._call.close()


# name -> Strategy; the order is the report's and asv's. passes: array passes over the (m, n) output
# (roofline.matmul_bytes). unfused writes the product, reads and writes it for the bias, reads and
# writes it for ReLU; partial writes it, then reads and writes it once for bias + ReLU; the cuBLASLt
# epilogue writes it once. `auto` runs one of the others; its floor is the fewest.
STRATEGIES = declare(
    Strategy("unfused", lambda a, b, bias: Bound(unfused, a, b, bias), needs=Need.GPU, passes=5, auto_candidate=True),
    Strategy("partial", lambda a, b, bias: Bound(partial, a, b, bias), needs=Need.GPU, passes=3, auto_candidate=True),
    Strategy("fused_onecall", lambda a, b, bias: Bound(fused, a, b, bias), needs=Need.NVMATH, passes=1, epilogue=True),
    Strategy("fused_planned", FusedMatmul, needs=Need.NVMATH, passes=1, epilogue=True, auto_candidate=True),
    Strategy("fused_graph", GraphMatmul, needs=Need.NVMATH, passes=1, epilogue=True, auto_candidate=True),
    # Needs only the GPU: it measures the candidates that can run. Left out of a default report:
    # it times its candidates (which the report measures anyway) before its first call.
    Strategy("auto", Auto, needs=Need.GPU, passes=1, in_report=False),
)
