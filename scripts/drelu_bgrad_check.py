"""Where fused DRELU_BGRAD departs from the oracle: D and the bias gradient apart, for every algorithm offered.

    python scripts/drelu_bgrad_check.py                  # the suite's odd shape and its neighbours
    python scripts/drelu_bgrad_check.py --shape 257x129x65 --dtype float16

For each shape and dtype: the forward (RELU_AUX_BIAS) runs once; the backward
(DRELU_BGRAD) is planned with up to `--limit` algorithms and executed with each.
Printed per algorithm: its id, tile, split-k and reduction scheme, the relative
error of D and of the bias gradient against the float64 oracle, the error of the
bias gradient against the row sums of the fused D itself (is the reduction or
the product wrong?), and the rows where D is wrong.
"""

import argparse

import numpy as np

from fusion_kernels import backend, inputs, reference, relu_grad, tolerances

SHAPES = ["257x129x65", "256x129x65", "257x128x65", "257x129x64", "256x128x64", "513x257x129"]


def algorithm_text(alg) -> str:
    parts = [f"id={alg.algorithm_id}"]
    for name in ("tile", "split_k", "reduction_scheme", "stages"):
        try:
            parts.append(f"{name}={getattr(alg, name)}")
        except Exception as exc:  # an attribute the algorithm does not report
            parts.append(f"{name}=?({type(exc).__name__})")
    return " ".join(parts)


def check(shape, dtype, limit):
    nvmath = backend.nvmath()
    adv = nvmath.linalg.advanced
    m, k, n = shape
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=21)
    g, h, _ = inputs.matmul_inputs((m, k + 3, n), dtype, seed=22)  # as tests/test_backward_gpu.py
    with relu_grad.ForwardReluAux(a, b, bias) as fwd:
        c, aux = fwd()
        print(f"  forward RELU_AUX_BIAS: {algorithm_text(fwd._mm.algorithms[0])}")
    mask = c.get() > 0
    # The pre-activation in float64, to see whether wrong entries sit at the ReLU's edge.
    pre = reference.matmul_epilog("BIAS", a, b, bias)
    gh = reference.matmul_product(g, h)
    expected_d, expected_bgrad = reference.matmul_drelu_bgrad(g, h, mask)
    tol = tolerances.tolerance(dtype)
    with adv.Matmul(g, h) as mm:
        algs = mm.plan(epilog=adv.MatmulEpilog.DRELU_BGRAD, epilog_inputs={"relu_aux": aux},
                       preferences={"limit": limit})
        for i, alg in enumerate(algs):
            try:
                d, extra = mm.execute(algorithm=alg)
            except Exception as exc:
                print(f"  [{i}] {algorithm_text(alg)}: execute failed: {type(exc).__name__}: {exc}")
                continue
            bgrad = extra["drelu_bgrad"].reshape(-1)
            d_host = d.get().astype(np.float64)
            err_d = tolerances.relative_error(d, expected_d)
            err_b = tolerances.relative_error(bgrad, expected_bgrad)
            err_self = tolerances.relative_error(bgrad, d_host.sum(axis=1))
            row_err = np.abs(d_host - expected_d).max(axis=1) / (np.abs(expected_d).max() or 1.0)
            bad_rows = np.flatnonzero(row_err > 10 * tol)
            b_err = np.abs(bgrad.get().astype(np.float64) - expected_bgrad) / (np.abs(expected_bgrad).max() or 1.0)
            bad_b = np.flatnonzero(b_err > 10 * tol)
            verdict = "ok" if max(err_d, err_b) <= tol else "WRONG"
            if i == 0:
                wrong = np.argwhere(np.abs(d_host - expected_d) > 10 * tol * (np.abs(expected_d).max() or 1.0))
                for r, col in wrong[:6]:
                    print(f"      D[{r},{col}]: pre-activation {pre[r, col]:+.3e}, forward C {float(c[r, col]):+.3e}, "
                          f"mask {mask[r, col]}, fused D {d_host[r, col]:+.4f}, oracle D {expected_d[r, col]:+.4f}, "
                          f"G@H {gh[r, col]:+.4f}")
                near = np.abs(pre) < 2e-3
                print(f"      entries with |pre-activation| < 2e-3: {int(near.sum())}; wrong among them: "
                      f"{int(sum(near[r, col] for r, col in wrong))} of {len(wrong)}")
            print(f"  [{i}] {algorithm_text(alg)}: D {err_d:.2e}  bgrad {err_b:.2e}  bgrad vs rows of D {err_self:.2e}"
                  f"  {verdict}  bad D rows {bad_rows[:8].tolist()}{'...' if len(bad_rows) > 8 else ''} ({len(bad_rows)})"
                  f"  bad bgrad rows {bad_b[:8].tolist()} ({len(bad_b)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", help="m x k x n, e.g. 257x129x65 (repeatable)")
    parser.add_argument("--dtype", action="append", help="float16, float32, float64 (repeatable)")
    parser.add_argument("--limit", type=int, default=16, help="most algorithms to try")
    args = parser.parse_args(argv)
    why = backend.gpu_reason() or backend.nvmath_reason()
    if why:
        parser.exit(1, f"drelu_bgrad_check: {why}\n")
    for label in args.shape or SHAPES:
        shape = tuple(int(s) for s in label.lower().split("x"))
        for dtype in args.dtype or ["float16", "float32"]:
            print(f"{label} {dtype} (tolerance {tolerances.tolerance(dtype):.0e})")
            check(shape, dtype, args.limit)


if __name__ == "__main__":
    main()
