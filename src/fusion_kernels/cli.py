"""`fusion-kernels`: what this machine can run (`info`), the report, the GPU software fingerprint,
and comparisons of asv results with the suite's calibrated thresholds."""

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
        return 0 if backend.gpu_reason() is None else 1
    print(f"fusion-kernels {__version__}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    # Each check repeats the reason of the check it builds on: say each missing piece once.
    said = set()
    for key in ("gpu", "nvmath", "fft_callbacks", "fft_dx"):
        value = report[key]
        if value in said:
            value = "unavailable (the reason above)"
        elif value != "ok" and (key != "gpu" or backend.gpu_reason()):
            said.add(value)
        print(f"{key}: {value}")
    return 0 if backend.gpu_reason() is None else 1


def _report(args) -> int:
    from . import report

    if args.plot_from:
        given = [f"--{k.replace('_', '-')}" for k in ("workload", "strategy", "dtype", "shape", "repeat", "no_plot")
                 if getattr(args, k)]
        if given:
            print("fusion-kernels report: --plot-from draws a saved report; it takes --out only, "
                  f"not {', '.join(given)}", file=sys.stderr)
            return report.BAD_ARGUMENTS
        return report.plot_saved(args.plot_from, args.out)
    try:
        shapes = [report.parse_shape(s) for s in args.shape or []]
    except ValueError as exc:
        print(f"fusion-kernels report: {exc}", file=sys.stderr)
        return report.BAD_ARGUMENTS
    return report.run(workloads=args.workload, dtypes=args.dtype, shapes=shapes, repeat=args.repeat or 10,
                      out=args.out or "fusion-kernels-report", make_plot=not args.no_plot, strategies=args.strategy)


def _fingerprint(args) -> int:
    if args.machine:
        why = backend.gpu_reason()
        if why:
            print(f"fusion-kernels fingerprint: no GPU to name the asv machine after ({why}); "
                  "name it yourself (--machine NAME)", file=sys.stderr)
            return 1
        print(backend.machine_name())
        return 0
    facts = backend.fingerprint()
    if args.json:
        print(json.dumps(facts, indent=1))
    else:
        for key, value in facts.items():
            print(f"{key}: {value}")
    return 0


def _compare(args) -> int:
    from . import regressions

    try:
        return regressions.compare_main(args)
    except regressions.CompareError as exc:
        print(f"fusion-kernels compare: {exc}", file=sys.stderr)
        return 2


def _quality_nvbench(args) -> int:
    from . import nvbench_check

    if args.table_from:
        try:
            rows = nvbench_check.load_rows(args.table_from)
        except (OSError, ValueError, TypeError) as exc:
            print(f"fusion-kernels quality nvbench: cannot read {args.table_from}: {exc}", file=sys.stderr)
            return 2
        print(nvbench_check.table(rows))
        return 0 if nvbench_check.all_pass(rows) else 1
    from .report import check_names

    why = check_names(args.workload, args.dtype, args.strategy)
    if why:
        print(f"fusion-kernels quality nvbench: {why}", file=sys.stderr)
        return 2
    try:
        backend.cuda_bench()
    except backend.GPUUnavailable as exc:
        print(f"fusion-kernels quality nvbench: cannot run here: {exc}", file=sys.stderr)
        return 1
    return nvbench_check.main(args)


def _quality_aa(args) -> int:
    from . import regressions

    try:
        from asv import config

        conf = config.Config.load(args.config)
        rows = regressions.aa_rows(conf, args.machine, args.run_a, args.run_b, args.env_a, args.env_b)
    except ImportError:
        print("fusion-kernels quality aa: needs asv (pip install 'fusion-kernels[test]')", file=sys.stderr)
        return 2
    except regressions.CompareError as exc:
        print(f"fusion-kernels quality aa: {exc}", file=sys.stderr)
        return 2
    print(regressions.aa_table(rows))
    return 1 if any(r["over"] for r in rows) else 0


def _asv_summary(args) -> int:
    from . import asvlog

    try:
        text = open(args.log, encoding="utf-8", errors="replace").read() if args.log != "-" else sys.stdin.read()
    except OSError as exc:
        print(f"fusion-kernels asv-summary: cannot read {args.log}: {exc.strerror}", file=sys.stderr)
        return 2
    print(asvlog.report(text))
    return 0


def _table(args) -> int:
    from . import results_table

    try:
        return results_table.main(args.results, args.classes)
    except ValueError as exc:
        print(f"fusion-kernels table: {exc}", file=sys.stderr)
        return 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (exit 2), as docs/faults.md's exit-code table says; --help stays full."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fusion-kernels", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    rep.add_argument("--repeat", type=_positive_int,  # None: not given (--plot-from refuses it); 10
                     help="samples per figure, at least (default 10; sampling stops on noise or a time budget)")
    rep.add_argument("--out", help="folder for report.json/.csv/.png (default: fusion-kernels-report; "
                                   "with --plot-from, the JSON's folder)")
    rep.add_argument("--no-plot", action="store_true")
    rep.add_argument("--plot-from", metavar="REPORT_JSON",
                     help="draw report.png from a saved report.json, measuring nothing (no GPU needed)")
    rep.set_defaults(func=_report)
    fp = sub.add_parser("fingerprint", help="the GPU, driver, CUDA, cuBLASLt, cuFFT, nvmath-python, CuPy, numba-cuda "
                                            "versions and SM clock policy a result depends on")
    fp.add_argument("--json", action="store_true")
    fp.add_argument("--machine", action="store_true", help="print only the asv machine name (the GPU's); exit 1 without a GPU")
    fp.set_defaults(func=_fingerprint)
    cmp_ = sub.add_parser("compare", help="compare two asv results (commits, or library releases at one commit) with the "
                                          "suite's per-figure thresholds; exit 1 if anything got slower")
    from . import regressions

    regressions.add_arguments(cmp_)
    cmp_.add_argument("--all", action="store_true", help="list every figure, not only those that changed")
    cmp_.set_defaults(func=_compare)
    quality = sub.add_parser("quality", help="checks of the suite's own measurements")
    checks = quality.add_subparsers(dest="check", required=True, parser_class=_Parser)
    nvb = checks.add_parser("nvbench", help="cold and warm device time against NVIDIA's nvbench (cuda-bench) on the same "
                                            "calls; exit 1 if a case of 10 us or more is more than 3% off")
    nvb.add_argument("--workload", action="append", choices=list(WORKLOADS),
                     help="repeatable; default: the main workloads at every suite shape")
    nvb.add_argument("--strategy", action="append", choices=names, help="repeatable; default: all")
    nvb.add_argument("--dtype", action="append", choices=dtypes, help="repeatable; default: all")
    nvb.add_argument("--json", help="write the rows as JSON here")
    nvb.add_argument("--nvbench-json", help="keep nvbench's own JSON output here")
    nvb.add_argument("--table-from", metavar="JSON", help="render the table of an earlier run's --json (no GPU)")
    nvb.set_defaults(func=_quality_nvbench)
    aa = checks.add_parser("aa", help="two asv runs of one commit (an A/A test) against asv.conf.json's thresholds: "
                                      "per benchmark, the largest change and the cases over their factor (exit 1 if any)")
    regressions.add_arguments(aa, "run_a", "run_b", "commit of the first run (a hash prefix)",
                              "commit of the second run (the same code)")
    aa.set_defaults(func=_quality_aa)
    tab = sub.add_parser("table", help="one committed asv results file as Markdown tables (no GPU needed)")
    tab.add_argument("results", help="asv/results/<machine>/<commit>-<env>.json")
    tab.add_argument("classes", nargs="*", help="benchmark classes to render (default: all)")
    tab.set_defaults(func=_table)
    summ = sub.add_parser("asv-summary", help="why cases skipped or failed, from the output of `asv run -e` "
                                              "(scripts/asv-offline.sh prints it at the end)")
    summ.add_argument("log", help="a file holding asv's output, or - for standard input")
    summ.set_defaults(func=_asv_summary)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        print("fusion-kernels: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
