"""`fusion-kernels`: what this machine can run (`info`), the report, the GPU software fingerprint,
comparisons of asv results with the suite's calibrated thresholds, and the tools around them.

Exit statuses (docs/faults.md): 0 done, 1 cannot run here (no GPU or a missing library: one line says
which), 2 bad arguments (checked before any GPU work), 3 a result outside its tolerance, 4 a case failed,
130 interrupted."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .gpu import backend
from . import __version__
from .harness.report import BAD_ARGUMENTS, CASE_FAILED, INTERRUPTED, NO_GPU, WRONG_RESULT  # the one table of them
from .suite.strategy import Need


def _cannot_run(args, need: Need | None = Need.GPU) -> bool:
    """Say in one line why `args.prog` cannot run here for want of `need` (None: nothing), if it cannot."""
    why = need and need.reason()
    if why:
        print(f"{args.prog}: cannot run here: {why}", file=sys.stderr)
    return bool(why)


def _bad(args, why) -> int:
    print(f"{args.prog}: {why}", file=sys.stderr)
    return BAD_ARGUMENTS


def _write_json(path, obj) -> None:
    from .harness import files

    files.write_atomic(path, json.dumps(obj, indent=1))


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
        return 0 if backend.gpu_reason() is None else NO_GPU
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
    return 0 if backend.gpu_reason() is None else NO_GPU


def _report(args) -> int:
    from .harness import report

    if args.plot_from:
        given = [f"--{k.replace('_', '-')}" for k in ("workload", "strategy", "dtype", "shape", "repeat", "no_plot")
                 if getattr(args, k)]
        if given:
            print("fusion-kernels report: --plot-from draws a saved report; it takes --out only, "
                  f"not {', '.join(given)}", file=sys.stderr)
            return BAD_ARGUMENTS
        return report.plot_saved(args.plot_from, args.out)
    try:
        shapes = [report.parse_shape(s) for s in args.shape or []]
    except ValueError as exc:
        print(f"fusion-kernels report: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    return report.run(workloads=args.workload, dtypes=args.dtype, shapes=shapes, repeat=args.repeat or 10,
                      out=args.out or "fusion-kernels-report", make_plot=not args.no_plot, strategies=args.strategy)


def _fingerprint(args) -> int:
    if args.machine:
        why = backend.gpu_reason()
        if why:
            print(f"fusion-kernels fingerprint: no GPU to name the asv machine after ({why}); "
                  "name it yourself (asv run --machine NAME, or scripts/asv-offline.sh --machine NAME)", file=sys.stderr)
            return NO_GPU
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
    from .harness import regressions

    try:
        return regressions.compare_main(args)
    except regressions.CompareError as exc:
        print(f"fusion-kernels compare: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS


def _compare_releases(args) -> int:
    from .harness import compare_releases

    return compare_releases.main(args)


def _quality_nvbench(args) -> int:
    from .harness import nvbench_check

    if args.table_from:
        try:
            rows = nvbench_check.load_rows(args.table_from)
        except (OSError, ValueError, TypeError) as exc:
            print(f"fusion-kernels quality nvbench: cannot read {args.table_from}: {exc}", file=sys.stderr)
            return BAD_ARGUMENTS
        print(nvbench_check.table(rows))
        return 0 if nvbench_check.all_pass(rows) else 1
    from .harness.report import check_names

    why = check_names(args.workload, args.dtype, args.strategy)
    if why:
        print(f"fusion-kernels quality nvbench: {why}", file=sys.stderr)
        return BAD_ARGUMENTS
    try:
        backend.cuda_bench()
    except backend.GPUUnavailable as exc:
        print(f"fusion-kernels quality nvbench: cannot run here: {exc}", file=sys.stderr)
        return NO_GPU
    code = nvbench_check.main(args)
    # cuda-bench 0.3.0's process has not always exited after its run (seen on the H200): the data
    # and the table are written by now, so leave without the interpreter's teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _quality_aa(args) -> int:
    from .harness import regressions

    try:
        conf = regressions.load_config(args.config)
        rows = regressions.aa_rows(conf, args.machine, args.run_a, args.run_b, args.env_a, args.env_b, args.machine_b)
    except regressions.CompareError as exc:
        print(f"fusion-kernels quality aa: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    print(regressions.aa_table(rows))
    return 1 if any(r["over"] for r in rows) else 0


def _asv_summary(args) -> int:
    from .harness import asvlog

    try:
        text = open(args.log, encoding="utf-8", errors="replace").read() if args.log != "-" else sys.stdin.read()
    except OSError as exc:
        print(f"fusion-kernels asv-summary: cannot read {args.log}: {exc.strerror}", file=sys.stderr)
        return BAD_ARGUMENTS
    print(asvlog.report(text))
    return 0


def _table(args) -> int:
    from .harness import results_table

    try:
        return results_table.main(args.results, args.classes)
    except ValueError as exc:
        print(f"fusion-kernels table: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS


def _bars_matmul(args) -> int:
    import time

    from .harness import bars

    if _cannot_run(args, Need.NVMATH):
        return NO_GPU
    if not args.no_peers and backend.torch_reason():
        print(f"{args.prog}: peers skipped: {backend.torch_reason()}", file=sys.stderr)
    t0 = time.perf_counter()
    rows = bars.matmul_measure(args.repeat, not args.no_peers, progress=lambda t: print(t, file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - t0
    meta = {"device": backend.device_name(), "versions": backend.versions(), "repeat": args.repeat,
            "seconds": elapsed, "bar": f"best fused device time <= {bars.MATMUL_BAR} x fastest GEMM alone"}
    if backend.torch_reason() is None:
        meta["versions"]["torch"] = backend.torch().__version__
    print(f"\n{meta['device']}; {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}")
    print("Device times are medians of CUDA events around one call from a cold L2; host time is one call's launch cost.\n")
    print(bars.matmul_table(rows))
    print(f"\nbar met in {sum(1 for r in rows if r['meets_bar'])} of {len(rows)} cases; {elapsed:.0f} s")
    if args.json:
        _write_json(args.json, {"meta": meta, "rows": rows})
    if any(r["wrong"] for r in rows):
        return WRONG_RESULT
    return CASE_FAILED if any(r["failed"] for r in rows) else 0


def _bars_fft(args) -> int:
    from .harness import bars

    if _cannot_run(args, Need.CALLBACKS):
        return NO_GPU
    result = bars.fft_measure(args.samples)
    print(json.dumps(result, indent=1) if args.json else bars.fft_markdown(result))
    return 0


def _quality_check(args) -> int:
    from .harness import quality

    check, need, _ = quality.CHECKS[args.check]
    if _cannot_run(args, need):
        return NO_GPU
    if args.check not in ("host-noise", "cpu-sweep"):
        print(quality.header())
    print(check(args.how) if args.check == "host-noise" else check())
    return 0


def _tune_single_kernel(args) -> int:
    from .harness import launch_tuning

    if _cannot_run(args, Need.DX):
        return NO_GPU
    rows = launch_tuning.measure(args.cases, args.fpb, args.max_registers, progress=lambda t: print(t, flush=True))
    print("\n" + launch_tuning.table(rows))
    if args.json:
        _write_json(args.json, rows)
    return WRONG_RESULT if any(r.get("correct") is False for r in rows) else 0


def _profile(args) -> int:
    from .harness import measure, profiling

    try:
        shape = profiling.check(args.workload, args.strategy, args.shape, args.dtype)
    except ValueError as exc:
        return _bad(args, exc)
    if _cannot_run(args, measure.WORKLOADS[args.workload].strategies[args.strategy].needs):
        return NO_GPU
    profiling.run(args.workload, args.strategy, shape, args.dtype, args.calls)
    return 0


def _check_drelu_bgrad(args) -> int:
    from .harness import drelu_check

    if _cannot_run(args, Need.NVMATH):
        return NO_GPU
    return 0 if drelu_check.run(args.shape, args.dtype, args.limit) else WRONG_RESULT


def _distributed_bench(args) -> int:
    from .distributed import bench, workloads

    workloads.multicast_off()  # first: before anything can start NCCL, NVSHMEM or torch
    if _cannot_run(args):
        return NO_GPU
    return bench.run(args.workloads, (args.matmul_shape, args.matmul_dtype), (args.fft_shape, args.fft_dtype),
                     args.repeat, args.seed, args.machine, args.out)


def _distributed_scaling(args) -> int:
    from .distributed import scaling

    try:
        scaling.file_runs(args.runs, markdown=args.markdown, asv_results=args.asv_results, machine=args.machine,
                          commit=args.commit)
    except OSError as exc:
        return _bad(args, f"cannot read or write {exc.filename}: {exc.strerror}")
    except (ValueError, KeyError) as exc:
        return _bad(args, exc)
    return 0


def _site(args) -> int:
    from .harness import site_guide, site_vendor

    try:
        (site_vendor if args.part == "vendor" else site_guide).run(args.config, args.html_dir)
    except site_vendor.SiteError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return 1
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _at_least(low: int):
    def parse(text: str) -> int:
        value = _positive_int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value

    return parse


def _shape(option: str, ranks: tuple):
    def parse(text: str) -> tuple:
        from .suite.checks import parse_shape

        try:
            return parse_shape(text, option, ranks)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _tune_case(text: str):
    from .harness.launch_tuning import parse_case

    try:
        return parse_case(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _names(known):
    def parse(text: str) -> list:
        names = [w.strip() for w in text.split(",") if w.strip()]
        unknown = [w for w in names if w not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"must be a comma-separated subset of {','.join(known)}, got {text!r}")
        return names

    return parse


def _command(sub, name, func, help, **kwargs):
    """A subcommand parser whose handler is `func`; `args.prog` names it in messages."""
    p = sub.add_parser(name, help=help, **kwargs)
    p.set_defaults(func=func, prog=p.prog)
    return p


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
    from .suite.workloads import WORKLOADS

    dtypes = list(dict.fromkeys(d for w in WORKLOADS.values() for d in w.dtypes))
    rep = sub.add_parser("report", help="measure and check the default workloads and strategies on this GPU; table, JSON, CSV, PNG")
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
    from .harness import regressions

    regressions.add_arguments(cmp_)
    cmp_.add_argument("--all", action="store_true", help="list every figure, not only those that changed")
    cmp_.set_defaults(func=_compare)
    from .harness import compare_releases

    rel = sub.add_parser("compare-releases", help="one commit measured with two library releases (two asv "
                                                  "environments): device time per workload and strategy, with "
                                                  "compare's verdicts; correctness from two reports",
                         description=compare_releases.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rel.add_argument("commit", help="the commit both runs measured (a prefix of its hash, as asv's results name it)")
    rel.add_argument("--machine", required=True, help="asv machine name, e.g. h200")
    rel.add_argument("--env-a", required=True, help="release A's environment: a substring of its name, e.g. "
                                                    "nvmath-python0.9.0")
    rel.add_argument("--env-b", required=True, help="release B's environment, e.g. nvmath-python1.0.0")
    rel.add_argument("--figure", choices=list(compare_releases.FIGURES), default="cold",
                     help="the device time compared (default: cold)")
    rel.add_argument("--changed", action="store_true", help="list only the cases whose verdict is not 'same'")
    rel.add_argument("--reports", nargs=2, metavar=("REPORT_A", "REPORT_B"),
                     help="report.json of `fusion-kernels report` with release A and with B: adds the relative "
                          "error against the oracle")
    rel.add_argument("--config", default="asv.conf.json", help="asv configuration (default: asv.conf.json)")
    rel.set_defaults(func=_compare_releases)
    quality = sub.add_parser("quality", help="checks of the suite's own measurements")
    checks = quality.add_subparsers(dest="check", required=True, parser_class=_Parser)
    nvb = checks.add_parser("nvbench", help="cold and warm device time against NVIDIA's nvbench (cuda-bench) on the same "
                                            "calls; exit 1 if a case of 10 us or more is more than 3%% off")
    nvb.add_argument("--workload", action="append", choices=list(WORKLOADS),
                     help="repeatable; default: the main workloads at every suite shape")
    nvb.add_argument("--strategy", action="append", choices=names, help="repeatable; default: all")
    nvb.add_argument("--dtype", action="append", choices=dtypes, help="repeatable; default: all")
    nvb.add_argument("--json", help="write the rows as JSON here")
    nvb.add_argument("--nvbench-json", help="keep nvbench's own JSON output here")
    nvb.add_argument("--diagnostics", action="store_true",
                     help="also time each call again after nvbench's batch and on CuPy's default stream, and in a "
                          "free-running loop over about a second with its SM clock")
    nvb.add_argument("--table-from", metavar="JSON", help="render the table of an earlier run's --json (no GPU)")
    nvb.set_defaults(func=_quality_nvbench)
    aa = checks.add_parser("aa", help="two asv runs of one commit (an A/A test) against asv.conf.json's thresholds: "
                                      "per benchmark, the largest change and the cases over their factor (exit 1 if any)")
    regressions.add_arguments(aa, "run_a", "run_b", "commit of the first run (a hash prefix)",
                              "commit of the second run (the same code)")
    aa.set_defaults(func=_quality_aa)
    tab = sub.add_parser("table", help="one committed asv results file as Markdown tables (no GPU needed)")
    tab.add_argument("results", help="results/<machine>/<commit>-<env>.json")
    tab.add_argument("classes", nargs="*", help="benchmark classes to render (default: all)")
    tab.set_defaults(func=_table)
    summ = sub.add_parser("asv-summary", help="why cases skipped or failed, from the output of `asv run -e` "
                                              "(scripts/asv-offline.sh prints it at the end)")
    summ.add_argument("log", help="a file holding asv's output, or - for standard input")
    summ.set_defaults(func=_asv_summary)
    _add_tools(sub, checks, WORKLOADS, dtypes)
    return parser


def _add_tools(sub, checks, workloads, dtypes) -> None:
    """The measurement tools: bars, the other quality checks, tuning, profiling, the multi-GPU runs, the site."""
    from .distributed import bench
    from .harness import drelu_check, quality
    from .suite import shapes

    bars = sub.add_parser("bars", help="how close the fused strategies come to their bars on this GPU")
    which = bars.add_subparsers(dest="bar", required=True, parser_class=_Parser)
    mm = _command(which, "matmul", _bars_matmul, "ReLU(A @ B + bias) per suite shape and dtype: best fused "
                  "against the GEMM alone (bar: 1.05x) and the PyTorch peers; exit 3 if a result is wrong")
    mm.add_argument("--json", help="write every figure here")
    mm.add_argument("--repeat", type=_positive_int, default=10, help="samples per figure, at least (default 10)")
    mm.add_argument("--no-peers", action="store_true", help="leave PyTorch out")
    fft = _command(which, "fft", _bars_fft, "each FFT-convolution strategy and the forward FFT alone against the "
                   "memory roofline, per suite shape and dtype")
    fft.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    fft.add_argument("--samples", type=_positive_int, default=7, help="timed batches per figure, at least (default 7)")

    for name, (_, _, help) in quality.CHECKS.items():
        qc = _command(checks, name, _quality_check, help, description=quality.__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "host-noise":
            how = qc.add_mutually_exclusive_group()
            how.add_argument("--pin", dest="how", action="store_const", const="pin", help="pinned to the first CPU")
            how.add_argument("--fastest", dest="how", action="store_const", const="fastest",
                             help="on the CPU fastest at the start of each case")
            qc.set_defaults(how="free")

    tune = sub.add_parser("tune", help="launch settings timed one by one")
    tunes = tune.add_subparsers(dest="what", required=True, parser_class=_Parser)
    sk = _command(tunes, "single-kernel", _tune_single_kernel, "the single-kernel FFT convolution per cuFFTDx launch "
                  "shape and register cap (compiles each, 10-20 s)")
    sk.add_argument("cases", nargs="+", type=_tune_case, metavar="CASE", help="BATCHxN:DTYPE, e.g. 16384x4096:complex64")
    sk.add_argument("--fpb", type=_positive_int, nargs="+", default=[1, 2, 4, 8], help="FFTs per block to try")
    sk.add_argument("--max-registers", type=_positive_int, nargs="*", default=[],
                    help="register caps to try on the suggested launch shape")
    sk.add_argument("--json", help="write the rows here")

    prof = _command(sub, "profile", _profile, "run one case a few times for a profiler (ncu --profile-from-start off)")
    prof.add_argument("workload", choices=list(workloads))
    prof.add_argument("strategy", help="one of the workload's strategies")
    prof.add_argument("shape", help="e.g. 16384x4096")
    prof.add_argument("dtype", choices=dtypes)
    prof.add_argument("--calls", type=_positive_int, default=3, help="profiled calls (default 3)")

    chk = sub.add_parser("check", help="diagnostics of one fused kernel")
    chks = chk.add_subparsers(dest="what", required=True, parser_class=_Parser)
    dr = _command(chks, "drelu-bgrad", _check_drelu_bgrad, "fused DRELU_BGRAD against the float64 oracle for every "
                  "algorithm cuBLASLt offers; exit 3 if one is wrong")
    dr.add_argument("--shape", action="append", type=_shape("--shape", (3,)),
                    help="m x k x n, e.g. 257x129x65 (repeatable; default: the odd test shape and its neighbours)")
    dr.add_argument("--dtype", action="append", choices=shapes.MATMUL_DTYPES,
                    help=f"repeatable; default: {' and '.join(drelu_check.DTYPES)}")
    dr.add_argument("--limit", type=_positive_int, default=16, help="most algorithms to try (default 16)")

    db = _command(sub, "distributed-bench", _distributed_bench, "fused vs unfused over the GPUs of one host: start it "
                  "under torchrun, one process per GPU (scripts/distributed-run.sh); exit 3 if a result is wrong",
                  description=bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    db.add_argument("--workloads", type=_names(bench.WORKLOADS), default=list(bench.WORKLOADS),
                    help=f"comma-separated subset of {','.join(bench.WORKLOADS)}")
    db.add_argument("--matmul-shape", type=_shape("--matmul-shape", (3,)), default=(8192, 8192, 8192),
                    help="m x k x n, m and n divisible by the GPUs (default 8192x8192x8192)")
    db.add_argument("--matmul-dtype", default="float32", choices=shapes.MATMUL_DTYPES)
    db.add_argument("--fft-shape", type=_shape("--fft-shape", (2,)), default=(16384, 4096),
                    help="rows x n; for the 2-D FFT both divisible by the GPUs (default 16384x4096)")
    db.add_argument("--fft-dtype", default="complex64", choices=shapes.FFT_DTYPES)
    db.add_argument("--repeat", type=_at_least(20), default=30, help="timed calls per strategy (at least 20; default 30)")
    db.add_argument("--seed", type=int, default=0)
    db.add_argument("--machine", help="asv machine name (default: GPU name and GPU count, e.g. h200-x4)")
    db.add_argument("--out", required=True, help="JSON file rank 0 writes")

    ds = _command(sub, "distributed-scaling", _distributed_scaling, "strong-scaling table (Markdown) and asv results "
                  "from distributed-bench runs at several world sizes (no GPU needed)")
    ds.add_argument("runs", nargs="+", help="JSON files written by distributed-bench")
    ds.add_argument("--markdown", help="write the table here (default: print it)")
    ds.add_argument("--asv-results", help="asv results folder to file them in (e.g. results)")
    ds.add_argument("--machine", help="asv machine name (default: the runs' machine)")
    ds.add_argument("--commit", help="commit the results belong to (default: the runs' commit)")

    site = sub.add_parser("site", help="finish the site `asv publish` wrote (scripts/publish-site.sh runs both)")
    parts = site.add_subparsers(dest="part", required=True, parser_class=_Parser)
    for name, help in (("vendor", "load its libraries from local copies checked against pinned hashes (offline)"),
                       ("guide", "a start-here note, memory summaries not flat at 0, a hint on error.html")):
        p = _command(parts, name, _site, help + "; takes asv publish's arguments and ignores the others")
        p.add_argument("--config", default="asv.conf.json", help="asv's configuration (default asv.conf.json)")
        p.add_argument("--html-dir", "-o", help="the published folder (default: the configuration's html_dir)")
        p.set_defaults(asv_arguments=True)


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "asv_arguments", False):  # only the site commands take asv's
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return args.func(args)
    except KeyboardInterrupt:
        print("fusion-kernels: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to it
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
