"""`fusion-kernels check drelu-bgrad`: where fused DRELU_BGRAD departs from the oracle, D and the bias
gradient apart, for every algorithm cuBLASLt offers.

For each shape and dtype the forward (RELU_AUX_BIAS) runs once; the backward (DRELU_BGRAD) is planned
with up to `limit` algorithms and executed with each. Printed per algorithm: its id, tile, split-k and
reduction scheme, the relative error of D and of the bias gradient against the float64 oracle, the
error of the bias gradient against the row sums of the fused D itself (is the reduction or the product
wrong?), `tolerances.verdict` of both, and the rows where D is wrong.
"""

from __future__ import annotations

import numpy as np

from ..kernels import relu_grad
from ..oracle import reference, tolerances
from ..suite import inputs

# The suite's odd test shape and its neighbours (tests/test_backward_gpu.py).
SHAPES = [(257, 129, 65), (256, 129, 65), (257, 128, 65), (257, 129, 64), (256, 128, 64), (513, 257, 129)]
DTYPES = ["float16", "float32"]
EPILOG = "DRELU_BGRAD"


def algorithm_text(alg) -> str:
    parts = [f"id={alg.algorithm_id}"]
    for name in ("tile", "split_k", "reduction_scheme", "stages"):
        try:
            parts.append(f"{name}={getattr(alg, name)}")
        except Exception as exc:  # an attribute the algorithm does not report
            parts.append(f"{name}=?({type(exc).__name__})")
    return " ".join(parts)


def _relative_to_max(x, expected):
    return np.abs(x - expected) / (np.abs(expected).max() or 1.0)


def check(shape, dtype, limit, out=print) -> bool:
    """True if every algorithm's D and bias gradient pass `tolerances.verdict`."""
    from ..gpu import backend

    adv = backend.nvmath().linalg.advanced
    m, k, n = shape
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=21)
    g, h, _ = inputs.matmul_inputs((m, k + 3, n), dtype, seed=22)  # as tests/test_backward_gpu.py
    with relu_grad.ForwardReluAux(a, b, bias) as fwd:
        c, aux = fwd()
        out(f"  forward RELU_AUX_BIAS: {algorithm_text(fwd._mm.algorithms[0])}")
    mask = c.get() > 0
    # The pre-activation in float64, to see whether wrong entries sit at the ReLU's edge.
    pre = reference.matmul_epilog("BIAS", a, b, bias)
    gh = reference.matmul_product(g, h)
    expected_d, expected_bgrad = reference.matmul_drelu_bgrad(g, h, mask)
    far = 10 * tolerances.tolerance(dtype, EPILOG)  # "wrong" in a row or entry: ten times the bound
    all_ok = True
    with adv.Matmul(g, h) as mm:
        algs = mm.plan(epilog=adv.MatmulEpilog.DRELU_BGRAD, epilog_inputs={"relu_aux": aux},
                       preferences={"limit": limit})
        for i, alg in enumerate(algs):
            try:
                d, extra = mm.execute(algorithm=alg)
            except Exception as exc:
                out(f"  [{i}] {algorithm_text(alg)}: execute failed: {type(exc).__name__}: {exc}")
                all_ok = False
                continue
            bgrad = extra["drelu_bgrad"].reshape(-1)
            d_host = d.get().astype(np.float64)
            err_d = tolerances.relative_error(d, expected_d)
            err_b = tolerances.relative_error(bgrad, expected_bgrad)
            err_self = tolerances.relative_error(bgrad, d_host.sum(axis=1))
            bad_rows = np.flatnonzero(_relative_to_max(d_host, expected_d).max(axis=1) > far)
            bad_b = np.flatnonzero(_relative_to_max(bgrad.get().astype(np.float64), expected_bgrad) > far)
            ok = tolerances.verdict(err_d, dtype, EPILOG) and tolerances.verdict(err_b, dtype, EPILOG)
            all_ok &= ok
            if i == 0:
                wrong = np.argwhere(_relative_to_max(d_host, expected_d) > far)
                for r, col in wrong[:6]:
                    out(f"      D[{r},{col}]: pre-activation {pre[r, col]:+.3e}, forward C {float(c[r, col]):+.3e}, "
                        f"mask {mask[r, col]}, fused D {d_host[r, col]:+.4f}, oracle D {expected_d[r, col]:+.4f}, "
                        f"G@H {gh[r, col]:+.4f}")
                near = np.abs(pre) < 2e-3
                out(f"      entries with |pre-activation| < 2e-3: {int(near.sum())}; wrong among them: "
                    f"{int(sum(near[r, col] for r, col in wrong))} of {len(wrong)}")
            out(f"  [{i}] {algorithm_text(alg)}: D {err_d:.2e}  bgrad {err_b:.2e}  bgrad vs rows of D {err_self:.2e}"
                f"  {'ok' if ok else 'WRONG'}  bad D rows {bad_rows[:8].tolist()}{'...' if len(bad_rows) > 8 else ''}"
                f" ({len(bad_rows)})  bad bgrad rows {bad_b[:8].tolist()} ({len(bad_b)})")
    return all_ok


def run(shapes, dtypes, limit, out=print) -> bool:
    ok = True
    for shape in shapes or SHAPES:
        for dtype in dtypes or DTYPES:
            out(f"{'x'.join(map(str, shape))} {dtype} (tolerance {tolerances.tolerance(dtype, EPILOG):.0e})")
            ok &= check(shape, dtype, limit, out)
    return ok
