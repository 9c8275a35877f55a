"""How close each FFT-convolution variant comes to the memory roofline, per suite shape and dtype.

  python scripts/fft_bar.py            # Markdown table
  python scripts/fft_bar.py --json     # the same rows as JSON

On a GPU with nvmath-python and numba-cuda: for every shape of suite.FFT_SHAPES
(both dtypes) and 4096x16384 complex128, the device time (CUDA events around
back-to-back calls behind the blocking kernel, fusion_kernels.timing.warm_device_times) of unfused, fused_planned
(forward epilog), fused_prolog (inverse prolog), fused_graph, single_kernel (one cuFFTDx
kernel, where the dx extra is installed) and the forward FFT alone; the bytes each must move (fusion_kernels.roofline); the fraction of the
memory roofline (bytes / measured copy bandwidth / time) and the speedup over
unfused. About a minute on an H100.
"""

from __future__ import annotations

import argparse
import json
import sys

from fusion_kernels import backend, fftconv, inputs, measure, roofline, suite, timing, workloads

VARIANTS = ["unfused", "fused_planned", "fused_prolog", "fused_graph", "single_kernel", "forward_fft"]
EXTRA_CASES = [((4096, 16384), "complex128")]


class ForwardFFT:
    """The forward FFT alone, planned once: the floor a fused convolution's first pass cannot beat."""

    def __init__(self, a, filter):
        self._fft = backend.nvmath().fft.FFT(a, axes=[-1])
        self._fft.plan()

    def __call__(self):
        return self._fft.execute(direction="forward")

    def close(self):
        self._fft.free()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cases():
    out = [(shape, dtype) for shape in suite.FFT_SHAPES.values() for dtype in suite.FFT_DTYPES]
    return out + [c for c in EXTRA_CASES if c not in out]


def nbytes(variant, shape, dtype):
    if variant == "forward_fft":
        return roofline.fft_forward_bytes(shape, dtype)
    return workloads.WORKLOADS["fft_conv"].bytes(shape, dtype, variant)


def measure_all(samples: int = 7):
    work = workloads.WORKLOADS["fft_conv"]
    bandwidth = roofline.device_peaks()["bandwidth"]
    timing.warm_up()
    rows = []
    for shape, dtype in cases():
        label = measure.shape_label(shape)
        too_big = measure.fits(work, shape, dtype)
        if too_big:
            rows += [dict(shape=label, dtype=dtype, variant=v, skip=too_big) for v in VARIANTS]
            continue
        args = inputs.fft_inputs(shape, dtype)
        base = None
        for variant in VARIANTS:
            row = dict(shape=label, dtype=dtype, variant=variant, bytes=nbytes(variant, shape, dtype))
            factory = ForwardFFT if variant == "forward_fft" else fftconv.STRATEGIES[variant]
            try:
                with factory(*args) as call:
                    with timing.gc_paused():
                        t = timing.warm_device_times(call, criterion=timing.Criterion(min_samples=samples)).median
            except Exception as exc:  # report it in the table, measure the rest
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


def markdown(result) -> str:
    lines = [f"FFT convolution on {result['device']} (memory roofline: {result['bandwidth_GBps']:.0f} GB/s, "
             "measured copy); device time, median of back-to-back batches.", "",
             "| shape | dtype | variant | device ms | MB moved | of memory roofline | speedup vs unfused |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        if r.get("skip"):
            why = " ".join(str(r["skip"]).split()).replace("|", "/")
            lines.append(f"| {r['shape']} | {r['dtype']} | {r['variant']} | skipped: {why} | | | |")
            continue
        speed = "-" if r["speedup_vs_unfused"] is None else f"{r['speedup_vs_unfused']:.2f}x"
        lines.append(f"| {r['shape']} | {r['dtype']} | {r['variant']} | {r['device_ms']:.4f} | {r['bytes'] / 1e6:.1f} | "
                     f"{r['roofline_fraction']:.2f} | {speed} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--samples", type=int, default=7, help="timed batches per figure (default 7)")
    args = parser.parse_args(argv)
    why = backend.callbacks_reason()
    if why:
        print(f"fft_bar: cannot run here: {why}", file=sys.stderr)
        return 1
    result = measure_all(args.samples)
    print(json.dumps(result, indent=1) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
