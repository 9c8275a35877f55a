"""`fusion-kernels` command line: `info` says what this machine can run."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__, backend


def _info(args) -> int:
    report = {
        "fusion_kernels": __version__,
        "versions": backend.versions(),
        "gpu": backend.gpu_reason() or backend.device_name(),
        "nvmath": backend.nvmath_reason() or "ok",
        "fft_callbacks": backend.callbacks_reason() or "ok",
        "fft_dx": backend.dx_reason() or "ok",
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for key, value in report.items():
            print(f"{key:15} {value}")
    return 0 if backend.gpu_reason() is None else 1


def _report(args) -> int:
    from . import report

    try:
        shapes = [report.parse_shape(s) for s in args.shape or []]
    except ValueError as exc:
        print(f"fusion-kernels report: {exc}", file=sys.stderr)
        return 2
    return report.run(workloads=args.workload, dtypes=args.dtype, shapes=shapes, repeat=args.repeat, out=args.out,
                      make_plot=not args.no_plot, strategies=args.strategy)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fusion-kernels", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="the GPU, library versions and what can run here (exit 1 without a GPU)")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_info)
    from .workloads import WORKLOADS

    dtypes = list(dict.fromkeys(d for w in WORKLOADS.values() for d in w.dtypes))
    rep = sub.add_parser("report", help="measure and check every workload and strategy on this GPU; table, JSON, CSV, PNG")
    rep.add_argument("--workload", action="append", choices=list(WORKLOADS),
                     help="repeatable; default: " + " and ".join(n for n, w in WORKLOADS.items() if w.in_report)
                          + " (the FFT variants at their small shape only)")
    names = list(dict.fromkeys(s for w in WORKLOADS.values() for s in w.strategies))
    rep.add_argument("--strategy", action="append", choices=names,
                     help="repeatable (unfused always runs: it is the speedup's base); default: all but single_kernel "
                          "(compiles a cuFFTDx kernel per size, 10-20 s each) and auto (times its candidates first)")
    rep.add_argument("--dtype", action="append", choices=dtypes, help="repeatable; default: all")
    rep.add_argument("--shape", action="append", help="e.g. 2000x1000x4000 or 256x1024; repeatable; default: the suite's")
    rep.add_argument("--repeat", type=int, default=20, help="timed calls per figure (default 20)")
    rep.add_argument("--out", default="fusion-kernels-report", help="folder for report.json/.csv/.png")
    rep.add_argument("--no-plot", action="store_true")
    rep.set_defaults(func=_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
