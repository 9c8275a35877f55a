"""`fusion-kernels bars matmul|fft`: how close the fused strategies come to their bars on this GPU.

matmul: ReLU(A @ B + bias[:, None]) at every suite shape and 8192x8192x8192, every dtype: each
strategy's cold device time, call time and host time (`measure.measure_case`, 64 sampled rows checked
against the float64 oracle); per shape and dtype the fastest fused strategy against the fastest GEMM
alone (A @ B, no bias, no ReLU) and the PyTorch peers. The bar: best fused <= 1.05 x the GEMM alone.

fft: every FFT-convolution strategy but the one-call form, and the forward FFT alone, at every suite
shape and dtype and 4096x16384 complex128: warm device time (`timing.warm_device_times`), the bytes each
must move (`roofline`), the fraction of the memory roofline and the speedup over unfused.
"""

from __future__ import annotations

import dataclasses
import time

from ..gpu import backend, timing
from ..suite import inputs, shapes
from . import measure, tables
from ..suite.workloads import WORKLOADS
from ..suite.strategy import Call

MATMUL_SHAPES = list(shapes.MATMUL_SHAPES.values()) + [(8192, 8192, 8192)]
MATMUL_BAR = 1.05  # best fused over the fastest GEMM alone
# auto only runs one of the others; the peers are their own workloads.
OURS = [s for s in WORKLOADS["matmul_bias_relu"].strategies if s != "auto"]
FUSED = [s for s in OURS if s != "unfused"]
MATMUL_GROUPS = [("matmul_bias_relu", OURS), ("matmul_gemm", list(WORKLOADS["matmul_gemm"].strategies)),
                 ("matmul_peers", list(WORKLOADS["matmul_peers"].strategies))]

# fused_onecall plans inside every call: its time is planning, not the kernels the roofline bounds.
FFT_VARIANTS = [s for s in WORKLOADS["fft_conv"].strategies if s != "fused_onecall"] + ["forward_fft"]
FFT_EXTRA_CASES = [((4096, 16384), "complex128")]


# ---- matmul ----

def _free_torch():
    if backend.torch_reason() is None:
        backend.torch().cuda.empty_cache()  # the peers' results live in PyTorch's own pool


def matmul_measure(repeat: int, with_peers: bool, progress=print) -> list[dict]:
    """One summarised row per shape and dtype; `repeat` samples per figure at least."""
    device = dataclasses.replace(measure.DEVICE_CRITERION, min_samples=repeat,
                                 max_samples=max(repeat, measure.DEVICE_CRITERION.max_samples))
    wall = dataclasses.replace(measure.WALL_CRITERION, min_samples=repeat,
                               max_samples=max(repeat, measure.WALL_CRITERION.max_samples))
    rows = []
    timing.warm_up()
    for shape in MATMUL_SHAPES:
        for dtype in shapes.MATMUL_DTYPES:
            args = inputs.matmul_inputs(shape, dtype)
            case = {"shape": measure.shape_label(shape), "dtype": dtype, "strategies": {}}
            for workload, names in MATMUL_GROUPS:
                if workload == "matmul_peers" and not with_peers:
                    continue
                for name in names:
                    t0 = time.perf_counter()
                    res = measure.measure_case(workload, name, shape, dtype, inputs=args, check=True,
                                               device_criterion=device, wall_criterion=wall)
                    _free_torch()
                    case["strategies"][name] = {
                        "workload": workload,
                        "skip": res.skip,
                        "error": res.error,
                        "device_s": res.cold_median if res.measured else None,
                        "call_s": timing.median(res.call_seconds) if res.measured else None,
                        "host_s": timing.median(res.host_seconds) if res.measured else None,
                        "relative_error": res.relative_error,
                        "correct": res.correct,
                    }
                    progress(f"{case['shape']} {dtype} {name}: {time.perf_counter() - t0:.1f} s"
                             + (f" (skipped: {res.skip})" if res.skip else "")
                             + (f" (FAILED: {res.error})" if res.error else ""))
            del args
            backend.cupy().get_default_memory_pool().free_all_blocks()
            rows.append(matmul_summary(case))
    return rows


def _fastest(strategies: dict, names) -> tuple[str | None, float | None]:
    timed = {n: strategies[n]["device_s"] for n in names if n in strategies and strategies[n]["device_s"] is not None}
    if not timed:
        return None, None
    best = min(timed, key=timed.get)
    return best, timed[best]


def _ratio(a, b):
    return a / b if a and b else None


def matmul_summary(case: dict) -> dict:
    """`case` with the fastest fused strategy, GEMM alone and peer, their ratios and the bar's verdict."""
    s = case["strategies"]
    best, best_t = _fastest(s, FUSED)
    gemm, gemm_t = _fastest(s, MATMUL_GROUPS[1][1])
    peer, peer_t = _fastest(s, MATMUL_GROUPS[2][1])
    over_gemm = _ratio(best_t, gemm_t)
    case.update(best=best, best_device_s=best_t, gemm=gemm, gemm_device_s=gemm_t, peer=peer, peer_device_s=peer_t,
                best_over_gemm=over_gemm, best_over_peer=_ratio(best_t, peer_t),
                best_host_s=s[best]["host_s"] if best else None, best_call_s=s[best]["call_s"] if best else None,
                meets_bar=None if over_gemm is None else over_gemm <= MATMUL_BAR,
                wrong=[n for n, v in s.items() if v["correct"] is False],
                failed=[n for n, v in s.items() if v.get("error")])
    return case


def _us(x):
    return "-" if x is None else f"{x * 1e6:.1f}"


def _x(x):
    return "-" if x is None else f"{x:.3f}"


def matmul_table(rows: list[dict]) -> str:
    peers = MATMUL_GROUPS[2][1]
    head = ["shape", "dtype", "best fused", "device us", "GEMM alone us (which)", "best/GEMM",
            *[f"{p} us" for p in peers], "best/fastest peer", "best host us/call", "best call us", "wrong results"]
    cells = []
    for r in rows:
        s = r["strategies"]
        cells.append([r["shape"], r["dtype"], r["best"] or "-", _us(r["best_device_s"]),
                      f"{_us(r['gemm_device_s'])} ({r['gemm'] or '-'})", _x(r["best_over_gemm"]),
                      *[_us(s[p]["device_s"]) if p in s else "-" for p in peers],
                      _x(r["best_over_peer"]), _us(r["best_host_s"]), _us(r["best_call_s"]),
                      ", ".join(r["wrong"]) or "none"])
    return tables.markdown(head, cells)


# ---- fft ----

def fft_cases() -> list[tuple[tuple, str]]:
    out = [(shape, dtype) for shape in shapes.FFT_SHAPES.values() for dtype in shapes.FFT_DTYPES]
    return out + [c for c in FFT_EXTRA_CASES if c not in out]


def fft_bytes(variant: str, shape, dtype) -> float:
    from ..suite import roofline

    if variant == "forward_fft":
        return roofline.fft_forward_bytes(shape, dtype)
    return WORKLOADS["fft_conv"].bytes(shape, dtype, variant)


class ForwardFFT(Call):
    """The forward FFT alone, planned once: the floor a fused convolution's first pass cannot beat."""

    def __init__(self, a, filter):
        self._fft = backend.nvmath().fft.FFT(a, axes=[-1])
        self._fft.plan()

    def _run(self):
        return self._fft.execute(direction="forward")

    def _release(self):
        self._fft.free()


def fft_measure(samples: int = 7) -> dict:
    from ..suite import roofline

    work = WORKLOADS["fft_conv"]
    bandwidth = roofline.device_peaks()["bandwidth"]
    criterion = timing.Criterion(min_samples=samples)
    timing.warm_up()
    rows = []
    for shape, dtype in fft_cases():
        label = measure.shape_label(shape)
        too_big = measure.fits(work, shape, dtype)
        if too_big:
            rows += [dict(shape=label, dtype=dtype, variant=v, skip=too_big) for v in FFT_VARIANTS]
            continue
        args = work.make_inputs(shape, dtype)
        base = None
        for variant in FFT_VARIANTS:
            row = dict(shape=label, dtype=dtype, variant=variant, bytes=fft_bytes(variant, shape, dtype))
            factory = ForwardFFT if variant == "forward_fft" else work.strategies[variant]
            try:
                with factory(*args) as call, timing.gc_paused():
                    t = timing.warm_device_times(call, criterion=criterion).median
            except Exception as exc:  # said in the table; the rest is measured
                row["skip"] = f"{type(exc).__name__}: {exc}"
                rows.append(row)
                continue
            base = t if variant == "unfused" else base
            row.update(device_ms=t * 1e3, roofline_fraction=row["bytes"] / bandwidth / t,
                       speedup_vs_unfused=base / t if base else None)
            rows.append(row)
        del args
        backend.cupy().get_default_memory_pool().free_all_blocks()
    return {"device": backend.device_name(), "bandwidth_GBps": bandwidth / 1e9, "versions": backend.versions(),
            "rows": rows}


def fft_markdown(result: dict) -> str:
    cells = []
    for r in result["rows"]:
        if r.get("skip"):
            cells.append([r["shape"], r["dtype"], r["variant"], f"skipped: {r['skip']}", "", "", ""])
            continue
        speed = "-" if r["speedup_vs_unfused"] is None else f"{r['speedup_vs_unfused']:.2f}x"
        cells.append([r["shape"], r["dtype"], r["variant"], f"{r['device_ms']:.4f}", f"{r['bytes'] / 1e6:.1f}",
                      f"{r['roofline_fraction']:.2f}", speed])
    return (f"FFT convolution on {result['device']} (memory roofline: {result['bandwidth_GBps']:.0f} GB/s, "
            "measured copy); device time, median of back-to-back batches.\n\n"
            + tables.markdown(["shape", "dtype", "variant", "device ms", "MB moved", "of memory roofline",
                               "speedup vs unfused"], cells, align="lllrrrr"))
