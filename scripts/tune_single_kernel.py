"""Time the single-kernel FFT convolution for each cuFFTDx launch shape (elements per thread, FFTs per block).

    python scripts/tune_single_kernel.py 16384x4096:complex64 65536x1024:complex64 [--fpb 1 2 4 8] [--json F]

Each configuration is compiled (10-20 s each on an H100 machine), checked
against CuPy's unfused result and timed by CUDA events around back-to-back
calls; the table lists device time, the fraction of the 3-pass memory roofline
and the speedup over CuPy unfused at the same shape.
"""

import argparse
import json

from fusion_kernels import backend, fftconv, fftconv_dx, inputs, roofline, timing, tolerances


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", help="BATCHxN:DTYPE, e.g. 16384x4096:complex64")
    parser.add_argument("--fpb", type=int, nargs="+", default=[1, 2, 4, 8], help="FFTs per block to try")
    parser.add_argument("--max-registers", type=int, nargs="*", default=[], help="register caps to try on the suggested shape")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    backend.require_dx()
    peaks = roofline.device_peaks()
    rows = []
    timing.warm_up()
    for case in args.cases:
        shape_text, dtype = case.split(":")
        shape = tuple(int(s) for s in shape_text.split("x"))
        a, f = inputs.fft_inputs(shape, dtype)
        expected = fftconv.unfused(a, f)
        t_unfused = timing.warm_device_times(lambda: fftconv.unfused(a, f)).median
        nbytes = roofline.fft_conv_bytes(shape, dtype, "single_kernel")
        valid = fftconv_dx.valid_knobs(dtype, shape[1])
        print(f"{case}: cuFFTDx's valid (elements per thread, FFTs per block): {valid}", flush=True)
        knobs = [(None, None, None)] + [(None, None, r) for r in args.max_registers]
        knobs += [(e, f_, None) for e, f_ in valid if f_ in args.fpb]
        for ept, fpb, regs in knobs:
            try:
                with fftconv_dx.SingleKernelFFTConv(a, f, elements_per_thread=ept, ffts_per_block=fpb,
                                                    max_registers=regs, tuned=False) as conv:
                    err = tolerances.relative_error(conv(), expected)
                    t = timing.warm_device_times(conv).median
                    launch = conv.launch_shape
            except Exception as exc:  # a configuration cuFFTDx or the GPU refuses: listed, not fatal
                rows.append(dict(shape=shape_text, dtype=dtype, knobs=f"{ept}/{fpb}/{regs}", error=f"{type(exc).__name__}: {exc}"))
                continue
            rows.append(dict(shape=shape_text, dtype=dtype, knobs="suggested" if ept is None else f"{ept}/{fpb}",
                             max_registers=regs,
                             elements_per_thread=launch["elements_per_thread"], ffts_per_block=launch["ffts_per_block"],
                             block_dim=launch["block_dim"], shared_bytes=launch["shared_memory_bytes"],
                             device_ms=t * 1e3, roofline=nbytes / peaks["bandwidth"] / t,
                             speedup=t_unfused / t, unfused_ms=t_unfused * 1e3, error=err))
            print(json.dumps(rows[-1]), flush=True)
    print("\n| shape | dtype | elements/thread | FFTs/block | register cap | block | device ms | 3-pass roofline | vs CuPy unfused | rel. error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "device_ms" not in r:
            print(f"| {r['shape']} | {r['dtype']} | {r['knobs']} | | | | failed: {r['error'][:80]} | | | |")
            continue
        print(f"| {r['shape']} | {r['dtype']} | {r['elements_per_thread']}{' (suggested)' if r['knobs'] == 'suggested' else ''} "
              f"| {r['ffts_per_block']} | {r['max_registers'] or '-'} | {r['block_dim']} | {r['device_ms']:.3f} | {r['roofline']:.2f} | "
              f"{r['speedup']:.2f}x | {r['error']:.1e} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
