"""ReLU(A @ B + bias[:, None]) side by side on this GPU: our strategies, the GEMM alone, the PyTorch peers.

  python scripts/matmul_bar.py [--json out.json] [--repeat 10] [--no-peers]

For every suite shape (suite.MATMUL_SHAPES and 8192x8192x8192) and dtype it
measures each strategy's device time (CUDA events around back-to-back calls),
call time (one synchronised call, cold L2) and host time per call, checks 64
sampled output rows against the float64 oracle, and prints one Markdown row per
shape and dtype: our fastest fused strategy (partial or fused) by device time,
the fastest GEMM alone (A @ B, no bias, no ReLU), each PyTorch peer, and the
ratios. The bar: best fused <= 1.05 x the fastest GEMM alone. Medians throughout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from fusion_kernels import backend, inputs, matmul, measure, peers, suite, timing

OURS = [n for n, s in matmul.STRATEGIES.items() if s.in_report]  # not auto: it runs one of these
FUSED = [n for n in OURS if n != "unfused"]
GROUPS = [("matmul_bias_relu", OURS), ("matmul_gemm", list(peers.GEMMS)), ("matmul_peers", list(peers.PEERS))]
SHAPES = list(suite.MATMUL_SHAPES.values()) + [(8192, 8192, 8192)]


def _free_torch():
    if backend.torch_reason() is None:
        backend.torch().cuda.empty_cache()  # the peers' results live in PyTorch's own pool


def measure_all(repeat: int, with_peers: bool, progress=print) -> list[dict]:
    rows = []
    timing.warm_up()
    for shape in SHAPES:
        for dtype in suite.MATMUL_DTYPES:
            args = inputs.matmul_inputs(shape, dtype)
            case = {"shape": measure.shape_label(shape), "dtype": dtype, "strategies": {}}
            for workload, names in GROUPS:
                if workload == "matmul_peers" and not with_peers:
                    continue
                for name in names:
                    t0 = time.perf_counter()
                    res = measure.measure_case(workload, name, shape, dtype, inputs=args, check=True)
                    _free_torch()
                    case["strategies"][name] = {
                        "workload": workload,
                        "skip": res.skip,
                        "device_s": res.cold_median if res.measured else None,
                        "call_s": timing.median(res.call_seconds) if res.measured else None,
                        "host_s": timing.median(res.host_seconds) if res.measured else None,
                        "relative_error": res.relative_error,
                        "correct": res.correct,
                    }
                    progress(f"{case['shape']} {dtype} {name}: {time.perf_counter() - t0:.1f} s"
                             + (f" (skipped: {res.skip})" if res.skip else ""))
            del args
            backend.cupy().get_default_memory_pool().free_all_blocks()
            rows.append(summarise(case))
    return rows


def _fastest(strategies: dict, names) -> tuple[str | None, float | None]:
    timed = {n: strategies[n]["device_s"] for n in names if n in strategies and strategies[n]["device_s"] is not None}
    if not timed:
        return None, None
    best = min(timed, key=timed.get)
    return best, timed[best]


def summarise(case: dict) -> dict:
    s = case["strategies"]
    best, best_t = _fastest(s, FUSED)
    gemm, gemm_t = _fastest(s, peers.GEMMS)
    peer, peer_t = _fastest(s, peers.PEERS)
    case.update(best=best, best_device_s=best_t, gemm=gemm, gemm_device_s=gemm_t, peer=peer, peer_device_s=peer_t,
                best_over_gemm=best_t / gemm_t if best_t and gemm_t else None,
                best_over_peer=best_t / peer_t if best_t and peer_t else None,
                best_host_s=s[best]["host_s"] if best else None, best_call_s=s[best]["call_s"] if best else None,
                meets_bar=(best_t / gemm_t <= 1.05) if best_t and gemm_t else None,
                wrong=[n for n, v in s.items() if v["correct"] is False])
    return case


def _us(x):
    return "-" if x is None else f"{x * 1e6:.1f}"


def _x(x):
    return "-" if x is None else f"{x:.3f}"


def table(rows: list[dict]) -> str:
    head = ["shape", "dtype", "best fused", "device us", "GEMM alone us (which)", "best/GEMM",
            *[f"{p} us" for p in peers.PEERS], "best/fastest peer", "best host us/call", "best call us", "wrong results"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        s = r["strategies"]
        cells = [r["shape"], r["dtype"], r["best"] or "-", _us(r["best_device_s"]),
                 f"{_us(r['gemm_device_s'])} ({r['gemm'] or '-'})", _x(r["best_over_gemm"]),
                 *[_us(s[p]["device_s"]) if p in s else "-" for p in peers.PEERS],
                 _x(r["best_over_peer"]), _us(r["best_host_s"]), _us(r["best_call_s"]), ", ".join(r["wrong"]) or "none"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per call/host figure (default 10)")
    parser.add_argument("--no-peers", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    why = backend.nvmath_reason()
    if why:
        print(f"matmul_bar: cannot run here: {why}", file=sys.stderr)
        return 1
    if not args.no_peers and backend.torch_reason():
        print(f"matmul_bar: peers skipped: {backend.torch_reason()}", file=sys.stderr)
    t0 = time.perf_counter()
    rows = measure_all(args.repeat, not args.no_peers, progress=lambda t: print(t, file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - t0
    meta = {"device": backend.device_name(), "versions": backend.versions(), "repeat": args.repeat,
            "seconds": elapsed, "bar": "best fused device time <= 1.05 x fastest GEMM alone"}
    if backend.torch_reason() is None:
        meta["versions"]["torch"] = backend.torch().__version__
    print(f"\n{meta['device']}; {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}")
    print("Device times are medians of CUDA events around back-to-back calls; host time is one call's launch cost.\n")
    print(table(rows))
    met = [r for r in rows if r["meets_bar"]]
    print(f"\nbar met in {len(met)} of {len(rows)} cases; {elapsed:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    return 3 if any(r["wrong"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
