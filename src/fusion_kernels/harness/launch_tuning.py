"""`fusion-kernels tune single-kernel`: the single-kernel FFT convolution timed for each cuFFTDx launch
shape (elements per thread, FFTs per block) and register cap.

Each configuration is compiled (10-20 s each on an H100 machine), checked against CuPy's unfused result
(`tolerances.verdict`) and timed by `timing.warm_device_times`; the table lists device time, the fraction
of the 3-pass memory roofline and the speedup over CuPy unfused at the same shape.
"""

from __future__ import annotations

from ..oracle import tolerances
from ..suite import checks
from . import tables


def parse_case(text: str) -> tuple[tuple[int, int], str]:
    """'16384x4096:complex64' -> ((16384, 4096), 'complex64'); ValueError naming CASE otherwise."""
    shape_text, colon, dtype = text.partition(":")
    if not colon or dtype not in checks.FFT_DTYPES:
        raise ValueError(f"CASE must look like BATCHxN:DTYPE with DTYPE one of {', '.join(checks.FFT_DTYPES)} "
                         f"(e.g. 16384x4096:complex64), got {text!r}")
    return checks.parse_shape(shape_text, "CASE's BATCHxN", ranks=(2,)), dtype


def measure(cases, ffts_per_block, max_registers, progress=print) -> list[dict]:
    """One row per case and configuration tried; a configuration cuFFTDx or the GPU refuses is a row
    with its error."""
    from ..gpu import timing
    from ..kernels import fftconv, fftconv_dx
    from ..suite import inputs, roofline
    from ..suite.workloads import WORKLOADS

    peaks = roofline.device_peaks()
    rows = []
    timing.warm_up()
    for shape, dtype in cases:
        label = "x".join(map(str, shape))
        a, f = inputs.fft_inputs(shape, dtype)
        expected = fftconv.unfused(a, f)
        t_unfused = timing.warm_device_times(lambda: fftconv.unfused(a, f)).median
        nbytes = WORKLOADS["fft_conv"].bytes(shape, dtype, "single_kernel")
        valid = fftconv_dx.valid_knobs(dtype, shape[1])
        progress(f"{label}:{dtype}: cuFFTDx's valid (elements per thread, FFTs per block): {valid}")
        knobs = [(None, None, None)] + [(None, None, r) for r in max_registers]
        knobs += [(e, fpb, None) for e, fpb in valid if fpb in ffts_per_block]
        for ept, fpb, regs in knobs:
            try:
                with fftconv_dx.SingleKernelFFTConv(a, f, elements_per_thread=ept, ffts_per_block=fpb,
                                                    max_registers=regs, tuned=False) as conv:
                    err = tolerances.relative_error(conv(), expected)
                    t = timing.warm_device_times(conv).median
                    launch = conv.launch_shape
            except Exception as exc:  # listed, not fatal
                rows.append(dict(shape=label, dtype=dtype, knobs=f"{ept}/{fpb}/{regs}", error=f"{type(exc).__name__}: {exc}"))
                progress(f"  {ept}/{fpb}/{regs}: {rows[-1]['error']}")
                continue
            rows.append(dict(shape=label, dtype=dtype, knobs="suggested" if ept is None else f"{ept}/{fpb}",
                             max_registers=regs,
                             elements_per_thread=launch["elements_per_thread"], ffts_per_block=launch["ffts_per_block"],
                             block_dim=launch["block_dim"], shared_bytes=launch["shared_memory_bytes"],
                             device_ms=t * 1e3, roofline=nbytes / peaks["bandwidth"] / t,
                             speedup=t_unfused / t, unfused_ms=t_unfused * 1e3, relative_error=err,
                             correct=tolerances.verdict(err, dtype)))
            progress(f"  {rows[-1]}")
    return rows


def table(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        if "device_ms" not in r:
            cells.append([r["shape"], r["dtype"], r["knobs"], "", "", "", f"failed: {r['error'][:80]}", "", "", "", ""])
            continue
        cells.append([r["shape"], r["dtype"],
                      f"{r['elements_per_thread']}{' (suggested)' if r['knobs'] == 'suggested' else ''}",
                      r["ffts_per_block"], r["max_registers"] or "-", r["block_dim"], f"{r['device_ms']:.3f}",
                      f"{r['roofline']:.2f}", f"{r['speedup']:.2f}x", f"{r['relative_error']:.1e}",
                      "yes" if r["correct"] else "NO"])
    return tables.markdown(["shape", "dtype", "elements/thread", "FFTs/block", "register cap", "block", "device ms",
                            "3-pass roofline", "vs CuPy unfused", "rel. error", "correct"], cells)
