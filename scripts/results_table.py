"""Render one committed asv results file as Markdown: fused vs unfused per shape and dtype.

  python scripts/results_table.py asv/results/h100-80gb-hbm3/<commit>-*.json [CLASS ...]

Every suite class with device times in the file (or only the classes named). The matmul family
(`MatmulEpilogs`, `MatmulPeers`) has its own layout: per epilogue, and against the GEMM alone.

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


def _fmt(v, spec, scale=1.0):
    return "n/a" if v is None else format(v * scale, spec)


def _size(label):
    n = 1
    for part in label.split("x"):
        n *= int(part)
    return n


def epilogs_table(r):
    """MatmulEpilogs: per epilogue, shape and dtype, unfused against the planned and graph-replayed epilogue."""
    strategies = ["unfused", "fused_planned", "fused_graph"]
    cases = sorted({k[1][:1] + k[1][2:] for k in r if k[0] == "MatmulEpilogs.track_device_seconds"},
                   key=lambda c: (c[0], _size(c[1]), c[2]))
    print("### MatmulEpilogs: device time (ms), host time per call (us), speedup over unfused, peak device memory (MB)\n")
    print("| epilogue | shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
          + " | ".join(f"{s} host us" for s in strategies) + " | "
          + " | ".join(f"{s} speedup" for s in strategies[1:]) + " | unfused MB | fused_planned MB |")
    print("|---|---|---|" + "---|" * (3 * len(strategies) + 1))
    for epilog, shape, dtype in cases:
        def g(bench, s):
            return r.get((f"MatmulEpilogs.{bench}", (epilog, s, shape, dtype)))
        row = ([_fmt(g("track_device_seconds", s), ".4f", 1e3) for s in strategies]
               + [_fmt(g("track_host_seconds", s), ".1f", 1e6) for s in strategies]
               + [_fmt(g("track_speedup_vs_unfused", s), ".2f") + "x" for s in strategies[1:]]
               + [_fmt(g("track_peak_device_bytes", s), ".1f", 1e-6) for s in strategies[:2]])
        print(f"| {epilog} | {shape} | {dtype} | " + " | ".join(row) + " |")
    print()


def peers_table(r):
    """MatmulPeers: device time of every peer, ours and the GEMMs alone, and each one's ratio to the fastest GEMM."""
    strategies = list(dict.fromkeys(k[1][0] for k in r if k[0] == "MatmulPeers.track_device_seconds"))
    cases = sorted({k[1][1:] for k in r if k[0] == "MatmulPeers.track_device_seconds"},
                   key=lambda c: (_size(c[0]), c[1]))
    print("### MatmulPeers: device time (ms), ratio to the fastest GEMM alone, peak device memory (MB)\n")
    print("| shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
          + " | ".join(f"{s} / GEMM" for s in strategies) + " | " + " | ".join(f"{s} MB" for s in strategies) + " |")
    print("|---|---|" + "---|" * (3 * len(strategies)))
    for shape, dtype in cases:
        def g(bench, s):
            return r.get((f"MatmulPeers.{bench}", (s, shape, dtype)))
        row = ([_fmt(g("track_device_seconds", s), ".4f", 1e3) for s in strategies]
               + [_fmt(g("track_ratio_to_fastest_gemm", s), ".2f") for s in strategies]
               + [_fmt(g("track_peak_device_bytes", s), ".1f", 1e-6) for s in strategies])
        print(f"| {shape} | {dtype} | " + " | ".join(row) + " |")
    print()


FAMILY = {"MatmulEpilogs": epilogs_table, "MatmulPeers": peers_table}


def main(path, only=None):
    data, r = load(path)
    print(f"asv results of commit {data['commit_hash'][:8]} on `{data['params'].get('machine')}`; medians.\n")
    found = sorted({k[0].split(".")[0] for k in r if k[0].endswith(".track_device_seconds")})
    for cls in [c for c in found if not only or c in only]:
        if cls in FAMILY:
            FAMILY[cls](r)
            continue
        rate = "TFLOP/s" if cls.startswith("Matmul") else "GB/s"
        strategies = list(dict.fromkeys(k[1][0] for k in r if k[0] == f"{cls}.track_device_seconds"))
        cases = sorted({k[1][1:] for k in r if k[0].startswith(cls + ".")},
                       key=lambda c: (_size(c[0]), c[1]))

        def g(bench, strategy, shape, dtype):
            return r.get((f"{cls}.{bench}", (strategy, shape, dtype)))

        print(f"### {cls}: device time (ms), host time per call (us), speedup over unfused (device time)\n")
        print("| shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
              + " | ".join(f"{s} host us" for s in strategies) + " | "
              + " | ".join(f"{s} speedup" for s in strategies[1:]) + " |")
        print("|---|---|" + "---|" * (3 * len(strategies) - 1))
        for shape, dtype in cases:
            dev = [_fmt(g("track_device_seconds", s, shape, dtype), ".4f", 1e3) for s in strategies]
            host = [_fmt(g("track_host_seconds", s, shape, dtype), ".1f", 1e6) for s in strategies]
            speed = [_fmt(g("track_speedup_vs_unfused", s, shape, dtype), ".2f") + "x" for s in strategies[1:]]
            print(f"| {shape} | {dtype} | " + " | ".join(dev + host + speed) + " |")
        moved = rate == "GB/s"  # bytes moved = rate x device time (the roofline module's count)
        print(f"\n### {cls}: peak device memory of one call (MB), {'MB moved, ' if moved else ''}{rate} and roofline fraction\n")
        print("| shape | dtype | " + " | ".join(f"{s} MB" for s in strategies) + " | "
              + ("".join(f"{s} MB moved | " for s in strategies) if moved else "")
              + " | ".join(f"{s} {rate}" for s in strategies) + " | "
              + " | ".join(f"{s} roofline" for s in strategies) + " |")
        print("|---|---|" + "---|" * ((4 if moved else 3) * len(strategies)))
        for shape, dtype in cases:
            mem = [_fmt(g("track_peak_device_bytes", s, shape, dtype), ".1f", 1e-6) for s in strategies]
            if moved:
                mem += [_fmt(None if None in (g("track_achieved_rate", s, shape, dtype), g("track_device_seconds", s, shape, dtype))
                            else g("track_achieved_rate", s, shape, dtype) * g("track_device_seconds", s, shape, dtype), ".1f", 1e3)
                        for s in strategies]
            rates = [_fmt(g("track_achieved_rate", s, shape, dtype), ".1f") for s in strategies]
            roof = [_fmt(g("track_roofline_fraction", s, shape, dtype), ".2f") for s in strategies]
            print(f"| {shape} | {dtype} | " + " | ".join(mem + rates + roof) + " |")
        print()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
