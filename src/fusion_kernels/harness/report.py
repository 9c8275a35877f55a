"""`fusion-kernels report`: every workload and strategy on this GPU, checked and measured.

Prints one table (workload, shape, dtype, strategy, cold and warm device time,
host time per call, device memory, speedup over unfused, roofline fraction, correct),
and writes report.json, report.csv and report.png to the output folder. The
JSON and CSV are rewritten atomically after every case, so an interrupted
report keeps what it measured and never leaves a half-written file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
import time
from pathlib import Path

from ..gpu import backend
from ..oracle import tolerances
from . import files, measure, report_plot
from ..suite.checks import parse_shape  # noqa: F401  (the one shape parser; the report's --shape)
from ..suite.workloads import WORKLOADS

COLUMNS = ["workload", "shape", "dtype", "strategy", "cold_ms", "warm_ms", "call_ms", "host_ms", "device_mb",
           "resident_mb", "speedup_vs_unfused", "roofline_fraction", "relative_error", "tolerance", "correct",
           "device_mode", "skip", "error"]

# Exit statuses, in docs/faults.md's table (tests/test_report.py checks each; tests/test_docs.py the table).
OK, NO_GPU, BAD_ARGUMENTS, WRONG_RESULT, CASE_FAILED, INTERRUPTED = 0, 1, 2, 3, 4, 130


def row_of(res: measure.CaseResult, unfused: measure.CaseResult | None) -> dict:
    """One table row. Speedup and roofline fraction are the report's reading aids (higher is
    better); asv tracks their lower-is-better forms (benchmarks/common.py)."""
    row = dict.fromkeys(COLUMNS)
    row.update(workload=res.workload, shape=measure.shape_label(res.shape), dtype=res.dtype, strategy=res.strategy,
               skip=res.skip, error=res.error)
    if not res.measured:
        return row
    cold = res.cold_median
    row.update(
        cold_ms=cold * 1e3,
        warm_ms=res.warm_median * 1e3,
        call_ms=measure.timing.median(res.call_seconds) * 1e3,
        host_ms=measure.timing.median(res.host_seconds) * 1e3,
        # what one call needs on the device: its own allocations plus what the object holds between calls
        device_mb=(res.peak_device_bytes + res.resident_device_bytes) / 1e6,
        resident_mb=res.resident_device_bytes / 1e6,
        roofline_fraction=res.bound_seconds / cold,
        relative_error=res.relative_error,
        tolerance=tolerances.tolerance(res.dtype, res.epilog),
        correct=res.correct,
        device_mode=res.device_mode,
    )
    if unfused is not None and unfused.measured:
        row["speedup_vs_unfused"] = unfused.cold_median / cold
    return row


def save(rows: list, out: Path, meta: dict) -> None:
    files.write_atomic(out / "report.json", json.dumps({"meta": meta, "rows": rows}, indent=1))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    files.write_atomic(out / "report.csv", buf.getvalue())


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows: list) -> str:
    head = (f"{'workload':22} {'shape':17} {'dtype':10} {'strategy':18} {'cold ms':>9} {'warm ms':>9} {'host ms':>8} "
            f"{'dev MB':>8} {'speedup':>8} {'roofline':>8} correct")
    lines = [head, "-" * len(head)]
    for r in rows:
        case = f"{r['workload']:22} {r['shape']:17} {r['dtype']:10} {r['strategy']:18}"
        if r["error"]:
            lines.append(f"{case} FAILED: {r['error'].splitlines()[0]}")
            continue
        if r["skip"]:
            lines.append(f"{case} skipped: {r['skip']}")
            continue
        verdict = {True: "yes", False: "NO", None: "-"}[r["correct"]]
        lines.append(
            f"{case} {_fmt(r['cold_ms'], '9.4f')} {_fmt(r['warm_ms'], '9.4f')} "
            f"{_fmt(r['host_ms'], '8.4f')} {_fmt(r['device_mb'], '8.1f')} {_fmt(r['speedup_vs_unfused'], '7.2f')}x "
            f"{_fmt(r['roofline_fraction'], '8.2f')} {verdict}"
            + ("  (waits for the GPU: device time includes its host work)" if r["device_mode"] == "synchronizing" else "")
        )
    return "\n".join(lines)


def _peaks():
    try:
        from ..suite import roofline

        return roofline.device_peaks()
    except Exception:
        return None


def strategies_for(name, strategies=None) -> list:
    """The strategies of workload `name` the report runs: those named (that exist), else those declared
    `in_report` (the rest are slow to build: they keep the default report within a minute)."""
    w = WORKLOADS[name]
    if strategies:
        return [s for s in w.strategies if s in strategies or s == "unfused"]  # unfused: the speedup's base
    return [key for key, s in w.strategies.items() if s.in_report]


def check_names(workloads=None, dtypes=None, strategies=None) -> str | None:
    """Why these workload, dtype and strategy names are not the suite's, in one line, or None."""
    for name, given, known in (("--workload", workloads, list(WORKLOADS)),
                               ("--dtype", dtypes, list(dict.fromkeys(d for w in WORKLOADS.values() for d in w.dtypes))),
                               ("--strategy", strategies,
                                list(dict.fromkeys(s for w in WORKLOADS.values() for s in w.strategies)))):
        for value in given or ():
            if value not in known:
                return f"{name} must be one of {', '.join(known)}, got {value!r}"
    return None


def check_arguments(workloads=None, dtypes=None, shapes=None, repeat=10, out="fusion-kernels-report",
                    strategies=None) -> str | None:
    """Why these report options cannot work, in one line, or None; checked before any GPU work."""
    why = check_names(workloads, dtypes, strategies)
    if why:
        return why
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 10_000:
        return f"--repeat must be a whole number from 1 to 10000 (samples per figure, at least), got {repeat!r}"
    if not plan_cases(workloads, dtypes, shapes):
        return "nothing to measure: no named workload has the named dtype or a shape of the named rank"
    return check_out(out)


def check_out(out) -> str | None:
    """Why folder `out` cannot take the report's files, in one line, or None."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        return f"--out must be a folder, got the existing file {str(path)!r}"
    existing = next((p for p in [path, *path.parents] if p.exists()), Path("."))
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {str(path)!r} cannot be written: {str(existing)!r} is not writable"
    return None


def plot_saved(path, out=None, stream=None) -> int:
    """`report --plot-from`: report.png of a saved report.json, in `out` (default: beside the JSON); no GPU.
    BAD_ARGUMENTS for a file it cannot plot or an unwritable `out`, NO_GPU's 1 without matplotlib."""
    out = Path(path).parent if out is None else Path(out)
    try:
        rows, meta = report_plot.load(path)
    except report_plot.ReportFileError as exc:
        print(f"fusion-kernels report: --plot-from: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    why = check_out(out)
    if why:
        print(f"fusion-kernels report: {why}", file=sys.stderr)
        return BAD_ARGUMENTS
    out.mkdir(parents=True, exist_ok=True)
    why_not = report_plot.render(rows, meta, out / "report.png")
    if why_not:
        print(f"fusion-kernels report: {why_not}", file=sys.stderr)
        return NO_GPU  # what this machine lacks, as for a GPU
    print(f"plot: {out / 'report.png'}", file=stream or sys.stdout)
    return OK


def run(workloads=None, dtypes=None, shapes=None, repeat=10, out="fusion-kernels-report", make_plot=True,
        stream=None, strategies=None) -> int:
    """Measure, check, print and save. Returns the exit status (docs/faults.md's table): OK, NO_GPU,
    BAD_ARGUMENTS, WRONG_RESULT (a result outside its tolerance), CASE_FAILED (a case crashed or
    measured inconsistently), INTERRUPTED."""
    stream = stream or sys.stdout
    why = check_arguments(workloads, dtypes, shapes, repeat, out, strategies)
    if why:
        print(f"fusion-kernels report: {why}", file=sys.stderr)
        return BAD_ARGUMENTS
    why = backend.gpu_reason()
    if why:
        print(f"fusion-kernels report: cannot run here: {why}", file=sys.stderr)
        return NO_GPU
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device_criterion = dataclasses.replace(measure.DEVICE_CRITERION, min_samples=repeat,
                                           max_samples=max(repeat, measure.DEVICE_CRITERION.max_samples))
    wall_criterion = dataclasses.replace(measure.WALL_CRITERION, min_samples=repeat,
                                         max_samples=max(repeat, measure.WALL_CRITERION.max_samples))
    meta = {"device": backend.device_name(), "versions": backend.versions(), "repeat": repeat,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "peaks": _peaks()}
    rows = []
    plan = plan_cases(workloads, dtypes, shapes)
    bar = _progress(sum(len(strategies_for(name, strategies)) for name, _, _ in plan))
    t0 = time.perf_counter()
    try:
        for name, shape, dtype in plan:
            def tick(workload, strategy, shape, dtype):
                bar(f"{workload} {measure.shape_label(shape)} {dtype} {strategy}")

            results = measure.measure_workload(name, strategies=strategies_for(name, strategies), shapes=[shape],
                                               dtypes=[dtype], check=True, progress=tick, warm=not rows,
                                               device_criterion=device_criterion, wall_criterion=wall_criterion)
            base = results.get(("unfused", measure.shape_label(shape), dtype))
            rows += [row_of(res, base) for res in results.values()]
            save(rows, out, meta)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(rows)} cases kept in {out / 'report.json'}", file=sys.stderr)
        return INTERRUPTED
    finally:
        bar(None)
    print(table(rows), file=stream)
    print(f"\n{len(rows)} cases in {time.perf_counter() - t0:.1f} s on {meta['device']}; "
          f"data: {out / 'report.json'}, {out / 'report.csv'}", file=stream)
    if make_plot:
        why_not = report_plot.render(rows, meta, out / "report.png")
        print(why_not or f"plot: {out / 'report.png'}", file=stream)
    failed = [r for r in rows if r["error"]]
    for r in failed:
        print(f"FAILED {r['workload']} {r['shape']} {r['dtype']} {r['strategy']}: {r['error'].splitlines()[0]}",
              file=sys.stderr)
    wrong = [r for r in rows if r["correct"] is False]
    if wrong:
        print(f"{len(wrong)} results disagree with the oracle beyond the tolerance", file=sys.stderr)
        return WRONG_RESULT
    if failed:
        print(f"{len(failed)} cases failed (see the traceback in {out / 'report.json'} with "
              "`python -m fusion_kernels report` and the case's options)", file=sys.stderr)
        return CASE_FAILED
    return OK


def plan_cases(workloads=None, dtypes=None, shapes=None) -> list:
    """(workload, shape, dtype) to measure.

    Nothing named: every workload at its default shapes (the main two at all
    their suite shapes, the FFT variants at their small one). Workloads named:
    all their suite shapes. Given shapes go to the workload of their rank (3
    sizes: matmul or fft_conv2d, 2: the 1-D FFTs) among those named, or among
    the main two when none is named; a workload none of them fits is left out.
    """
    plan = []
    for name in workloads or [n for n, w in WORKLOADS.items() if w.in_report and (not shapes or w.default_shapes is None)]:
        w = WORKLOADS[name]
        rank = len(next(iter(w.shapes.values())))
        if shapes:
            wanted = [s for s in shapes if len(s) == rank]
        elif workloads or w.default_shapes is None:
            wanted = list(w.shapes.values())
        else:
            wanted = [w.shapes[label] for label in w.default_shapes]
        for shape in wanted:
            for dtype in [d for d in (dtypes or w.dtypes) if d in w.dtypes]:
                plan.append((name, tuple(shape), dtype))
    return plan


def _progress(total):
    """A progress callback: tqdm if installed, else one line per case on stderr."""
    try:
        from tqdm import tqdm

        bar = tqdm(total=total, file=sys.stderr, unit="case")

        def update(text):
            if text is None:
                bar.close()
            else:
                bar.set_description(text)
                bar.update(1)
    except ImportError:
        count = [0]

        def update(text):
            if text is not None:
                count[0] += 1
                print(f"[{count[0]}/{total}] {text}", file=sys.stderr, flush=True)

    return update
