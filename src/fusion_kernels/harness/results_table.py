"""`fusion-kernels table RESULT.json [CLASS ...]`: one committed asv results file as Markdown,
fused vs unfused per shape and dtype.

Every suite class with device times in the file (or only the classes named). The matmul family
(`MatmulEpilogs`, `MatmulPeers`) has its own layout: per epilogue, and against the GEMM alone.
Results from before the blocking-kernel engine (track_device_seconds, speedups) render in their
own figures. Needs no GPU: it reads the medians asv stored.
"""

import itertools
import json


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


def _device(r, cls):
    """The device-time figure the file holds: cold device time, or the older back-to-back one."""
    new = f"{cls}.track_cold_device_seconds"
    return "track_cold_device_seconds" if any(k[0] == new for k in r) else "track_device_seconds"


def _ratio(g, s, *case):
    """fused / unfused device time: the new figure, or 1 / the older speedup."""
    ratio = g("track_ratio_to_unfused", s, *case)
    if ratio is None and g("track_speedup_vs_unfused", s, *case):
        ratio = 1 / g("track_speedup_vs_unfused", s, *case)
    return ratio


def _size(label):
    n = 1
    for part in label.split("x"):
        n *= int(part)
    return n


def epilogs_table(r):
    """MatmulEpilogs: per epilogue, shape and dtype, unfused against the planned and graph-replayed epilogue."""
    strategies = ["unfused", "fused_planned", "fused_graph"]
    dev = _device(r, "MatmulEpilogs")
    cases = sorted({k[1][:1] + k[1][2:] for k in r if k[0] == f"MatmulEpilogs.{dev}"},
                   key=lambda c: (c[0], _size(c[1]), c[2]))
    print("### MatmulEpilogs: device time (ms), host time per call (us), fused / unfused, peak device memory (MB)\n")
    print("| epilogue | shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
          + " | ".join(f"{s} host us" for s in strategies) + " | "
          + " | ".join(f"{s} / unfused" for s in strategies[1:]) + " | unfused MB | fused_planned MB |")
    print("|---|---|---|" + "---|" * (3 * len(strategies) + 1))
    for epilog, shape, dtype in cases:
        def g(bench, s):
            return r.get((f"MatmulEpilogs.{bench}", (epilog, s, shape, dtype)))
        row = ([_fmt(g(dev, s), ".4f", 1e3) for s in strategies]
               + [_fmt(g("track_host_seconds", s), ".1f", 1e6) for s in strategies]
               + [_fmt(_ratio(g, s), ".2f") for s in strategies[1:]]
               + [_fmt(g("track_peak_device_bytes", s), ".1f", 1e-6) for s in strategies[:2]])
        print(f"| {epilog} | {shape} | {dtype} | " + " | ".join(row) + " |")
    print()


def peers_table(r):
    """MatmulPeers: device time of every peer, ours and the GEMMs alone, and each one's ratio to the fastest GEMM."""
    dev = _device(r, "MatmulPeers")
    strategies = list(dict.fromkeys(k[1][0] for k in r if k[0] == f"MatmulPeers.{dev}"))
    cases = sorted({k[1][1:] for k in r if k[0] == f"MatmulPeers.{dev}"},
                   key=lambda c: (_size(c[0]), c[1]))
    print("### MatmulPeers: device time (ms), ratio to the fastest GEMM alone, peak device memory (MB)\n")
    print("| shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
          + " | ".join(f"{s} / GEMM" for s in strategies) + " | " + " | ".join(f"{s} MB" for s in strategies) + " |")
    print("|---|---|" + "---|" * (3 * len(strategies)))
    for shape, dtype in cases:
        def g(bench, s):
            return r.get((f"MatmulPeers.{bench}", (s, shape, dtype)))
        row = ([_fmt(g(dev, s), ".4f", 1e3) for s in strategies]
               + [_fmt(g("track_ratio_to_fastest_gemm", s), ".2f") for s in strategies]
               + [_fmt(g("track_peak_device_bytes", s), ".1f", 1e-6) for s in strategies])
        print(f"| {shape} | {dtype} | " + " | ".join(row) + " |")
    print()


FAMILY = {"MatmulEpilogs": epilogs_table, "MatmulPeers": peers_table}


def suite_tables(r, cls):
    dev = _device(r, cls)
    strategies = list(dict.fromkeys(k[1][0] for k in r if k[0] == f"{cls}.{dev}"))
    cases = sorted({k[1][1:] for k in r if k[0].startswith(cls + ".")}, key=lambda c: (_size(c[0]), c[1]))

    def g(bench, strategy, shape, dtype):
        return r.get((f"{cls}.{bench}", (strategy, shape, dtype)))

    kind = "cold device time" if dev == "track_cold_device_seconds" else "device time (back-to-back calls)"
    print(f"### {cls}: {kind} (ms), host time per call (us), fused / unfused\n")
    print("| shape | dtype | " + " | ".join(f"{s} ms" for s in strategies) + " | "
          + " | ".join(f"{s} host us" for s in strategies) + " | "
          + " | ".join(f"{s} / unfused" for s in strategies[1:]) + " |")
    print("|---|---|" + "---|" * (3 * len(strategies) - 1))
    for shape, dtype in cases:
        times = [_fmt(g(dev, s, shape, dtype), ".4f", 1e3) for s in strategies]
        host = [_fmt(g("track_host_seconds", s, shape, dtype), ".1f", 1e6) for s in strategies]
        ratio = [_fmt(_ratio(g, s, shape, dtype), ".2f") for s in strategies[1:]]
        print(f"| {shape} | {dtype} | " + " | ".join(times + host + ratio) + " |")
    if dev == "track_cold_device_seconds":
        print(f"\n### {cls}: warm device time (ms), device memory during a call + held between calls (MB), "
              "time over the roofline floor\n")
        print("| shape | dtype | " + " | ".join(f"{s} warm ms" for s in strategies) + " | "
              + " | ".join(f"{s} MB" for s in strategies) + " | " + " | ".join(f"{s} / bound" for s in strategies) + " |")
        print("|---|---|" + "---|" * (3 * len(strategies)))
        for shape, dtype in cases:
            warm = [_fmt(g("track_warm_device_seconds", s, shape, dtype), ".4f", 1e3) for s in strategies]
            mem = [_fmt(None if g("track_peak_device_bytes", s, shape, dtype) is None else
                        g("track_peak_device_bytes", s, shape, dtype) + (g("track_resident_device_bytes", s, shape, dtype) or 0),
                        ".1f", 1e-6) for s in strategies]
            bound = [_fmt(g("track_time_over_bound", s, shape, dtype), ".2f") for s in strategies]
            print(f"| {shape} | {dtype} | " + " | ".join(warm + mem + bound) + " |")
    print()


def main(path, only=None) -> int:
    try:
        data, r = load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not an asv results file: {exc}") from None
    print(f"asv results of commit {data['commit_hash'][:8]} on `{data['params'].get('machine')}`"
          f" ({data.get('env_name', '')}); medians.\n")
    found = sorted({k[0].split(".")[0] for k in r if k[0].endswith((".track_device_seconds", ".track_cold_device_seconds"))})
    for cls in [c for c in found if not only or c in only]:
        if cls in FAMILY:
            FAMILY[cls](r)
        else:
            suite_tables(r, cls)
    return 0
