"""Render one committed asv results file as Markdown: fused vs unfused per shape and dtype.

  python scripts/results_table.py asv/results/h100-80gb-hbm3/<commit>-*.json

Needs no GPU: it reads the medians asv stored.
"""

import itertools
import json
import sys


def load(path):
    data = json.load(open(path))
    cols = data["result_columns"]
    out = {}
    for bench, row in data["results"].items():
        rec = dict(zip(cols, row))
        values = rec["result"] if isinstance(rec["result"], list) else [rec["result"]]
        combos = itertools.product(*rec["params"]) if rec["params"] else [()]
        for combo, value in zip(combos, values):
            out[(bench.split(".", 1)[1], tuple(p.strip("'") for p in combo))] = value
    return data, out


def fmt_time(x):
    return "n/a" if x is None else (f"{x * 1e3:.3f}" if x >= 1e-4 else f"{x * 1e3:.4f}")


def main(path):
    data, r = load(path)
    print(f"asv results of commit {data['commit_hash'][:8]} on `{data['params'].get('machine')}`; times in ms (medians).\n")
    for cls, rate in (("MatmulBiasReLU", "TFLOP/s"), ("FFTConv", "GB/s")):
        print(f"### {cls}\n")
        print("| shape | dtype | device: unfused | device: one-call fused | device: planned fused | planned speedup | "
              "call: unfused | call: planned | host: unfused | host: planned | peak device MB: unfused / planned | "
              f"planned {rate} | planned roofline fraction |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        keys = sorted({k[1][1:] for k in r if k[0].startswith(cls + ".")}, key=lambda s: (int(s[0].split("x")[0]) * int(s[0].split("x")[-1]), s[1]))
        for shape, dtype in keys:
            def g(bench, strategy):
                return r.get((f"{cls}.{bench}", (strategy, shape, dtype)))

            peak_u, peak_p = g("track_peak_device_bytes", "unfused"), g("track_peak_device_bytes", "fused_planned")
            speed = g("track_speedup_vs_unfused", "fused_planned")
            rate_v = g("track_achieved_rate", "fused_planned")
            roof = g("track_roofline_fraction", "fused_planned")
            print(f"| {shape} | {dtype} | {fmt_time(g('track_device_seconds', 'unfused'))} | "
                  f"{fmt_time(g('track_device_seconds', 'fused_onecall'))} | {fmt_time(g('track_device_seconds', 'fused_planned'))} | "
                  f"{'n/a' if speed is None else f'{speed:.2f}x'} | {fmt_time(g('track_call_seconds', 'unfused'))} | "
                  f"{fmt_time(g('track_call_seconds', 'fused_planned'))} | {fmt_time(g('track_host_seconds', 'unfused'))} | "
                  f"{fmt_time(g('track_host_seconds', 'fused_planned'))} | "
                  f"{'n/a' if peak_u is None else f'{peak_u / 1e6:.0f}'} / {'n/a' if peak_p is None else f'{peak_p / 1e6:.0f}'} | "
                  f"{'n/a' if rate_v is None else f'{rate_v:.1f}'} | {'n/a' if roof is None else f'{roof:.2f}'} |")
        print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
