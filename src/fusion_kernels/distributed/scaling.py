"""Strong scaling from distributed runs at several world sizes: table math, markdown, asv results.

A run (`fusion-kernels distributed-bench` under torchrun) writes one JSON with its
world size and a list of cases; a case is keyed by (workload, strategy, shape,
dtype) and carries `seconds` (median per call) and `peak_bytes` (per GPU, the
largest over ranks). Pure Python and NumPy: no GPU needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

from ..harness import files, tables

CASE_KEY = ("workload", "strategy", "shape", "dtype")

# The asv benchmarks the results are filed under (one entry each in benchmarks.json).
ASV_BENCHMARKS = {
    "distributed.StrongScaling.track_seconds_per_call": ("seconds", "seconds"),
    "distributed.StrongScaling.track_peak_bytes_per_gpu": ("peak_bytes", "bytes"),
}
ASV_PARAM_NAMES = ["case", "shape", "dtype", "gpus"]
ASV_ENV_NAME = "distributed-torchrun"


def _key(case: dict) -> tuple:
    missing = [k for k in CASE_KEY + ("seconds",) if k not in case]
    if missing:
        raise ValueError(f"case {case!r} lacks {', '.join(missing)}")
    return tuple(str(case[k]) for k in CASE_KEY)


def merge_runs(runs: list[dict]) -> dict[tuple, dict[int, dict]]:
    """{case key: {gpus: case}} over runs; a world size given twice for one case is an error."""
    out: dict[tuple, dict[int, dict]] = {}
    for run in runs:
        gpus = run.get("world_size")
        if not isinstance(gpus, int) or gpus < 1:
            raise ValueError(f"run has no valid world_size: {gpus!r}")
        for case in run.get("cases", []):
            by_gpus = out.setdefault(_key(case), {})
            if gpus in by_gpus:
                raise ValueError(f"two runs with {gpus} GPUs for {_key(case)}")
            by_gpus[gpus] = case
    return out


def speedup(t1: float, tn: float) -> float:
    """t1 / tN."""
    if t1 <= 0 or tn <= 0:
        raise ValueError(f"times must be positive, got t1={t1}, tN={tn}")
    return t1 / tn


def efficiency(t1: float, tn: float, n: int) -> float:
    """Strong-scaling efficiency t1 / (N tN): 1.0 is perfect, 0.5 is half the ideal speedup."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return speedup(t1, tn) / n


def scaling_rows(runs: list[dict]) -> list[dict]:
    """One row per (case, GPUs): time, speedup and efficiency against the 1-GPU run (None without one), peak bytes."""
    rows = []
    for key, by_gpus in sorted(merge_runs(runs).items()):
        base = by_gpus.get(1)
        for gpus in sorted(by_gpus):
            case = by_gpus[gpus]
            t = case["seconds"]
            ok = base is not None and t is not None and base["seconds"] is not None
            rows.append({
                **dict(zip(CASE_KEY, key)),
                "gpus": gpus,
                "seconds": t,
                "speedup": speedup(base["seconds"], t) if ok else None,
                "efficiency": efficiency(base["seconds"], t, gpus) if ok else None,
                "peak_bytes": case.get("peak_bytes"),
                "correct": case.get("correct"),
            })
    return rows


def _fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def markdown_table(rows: list[dict]) -> str:
    """The strong-scaling table: GPUs, time, speedup, efficiency t1/(N tN), peak bytes per GPU."""
    cells = [[r["workload"], r["strategy"], r["shape"], r["dtype"], r["gpus"],
              _fmt(None if r["seconds"] is None else r["seconds"] * 1e3, ".3f"), _fmt(r["speedup"], ".2f"),
              _fmt(r["efficiency"], ".2f"), _fmt(r["peak_bytes"], "d"),
              "n/a" if r["correct"] is None else ("yes" if r["correct"] else "NO")] for r in rows]
    return tables.markdown(["workload", "strategy", "shape", "dtype", "GPUs", "time (ms)", "speedup", "efficiency",
                            "peak bytes per GPU", "correct"], cells, align="llllrrrrrl") + "\n"


# ---------------------------------------------------------------- asv


def _version(name: str) -> str:
    # asv shows a benchmark's results only where the result's version equals benchmarks.json's.
    return hashlib.sha256(f"fusion-kernels {name} v1".encode()).hexdigest()


def _q(x) -> str:
    return repr(str(x))  # asv stores parameter values as their repr


def asv_params(rows: list[dict]) -> list[list[str]]:
    cases = sorted({f"{r['workload']}:{r['strategy']}" for r in rows})
    shapes = sorted({r["shape"] for r in rows})
    dtypes = sorted({r["dtype"] for r in rows})
    gpus = sorted({r["gpus"] for r in rows})
    return [[_q(c) for c in cases], [_q(s) for s in shapes], [_q(d) for d in dtypes], [_q(g) for g in gpus]]


def asv_result(rows: list[dict], *, machine: str, commit_hash: str, date_ms: int, python: str,
               env_vars: dict | None = None) -> dict:
    """One asv results file's content (asv 0.6 format, api version 2) for `machine` and `commit_hash`."""
    if len(commit_hash) != 40 or any(c not in "0123456789abcdef" for c in commit_hash):
        raise ValueError(f"commit_hash must be a full 40-digit lowercase hex git hash, got {commit_hash!r}")
    params = asv_params(rows)
    index = {(_q(f"{r['workload']}:{r['strategy']}"), _q(r["shape"]), _q(r["dtype"]), _q(r["gpus"])): r for r in rows}
    columns = ["result", "params", "version", "started_at", "duration"]
    results = {}
    for name, (field, _unit) in ASV_BENCHMARKS.items():
        values = []
        for c in params[0]:
            for s in params[1]:
                for d in params[2]:
                    for g in params[3]:
                        r = index.get((c, s, d, g))
                        v = None if r is None else r.get(field)
                        values.append(None if v is None else float(v))
        results[name] = [values, params, _version(name), date_ms, 0.0]
    return {
        "commit_hash": commit_hash,
        "env_name": ASV_ENV_NAME,
        "date": int(date_ms),
        "params": {"machine": machine, "python": python},
        "python": python,
        "requirements": {},
        "env_vars": env_vars or {},
        "result_columns": columns,
        "results": results,
        "durations": {},
        "version": 2,
    }


def asv_benchmark_entries(params: list[list[str]]) -> dict:
    """benchmarks.json entries for the distributed benchmarks (merged into the suite's file)."""
    out = {}
    for name, (_field, unit) in ASV_BENCHMARKS.items():
        out[name] = {
            "code": "# Recorded by `fusion-kernels distributed-bench` under torchrun; filed by `fusion-kernels distributed-scaling`",
            "name": name,
            "param_names": ASV_PARAM_NAMES,
            "params": params,
            "timeout": 600,
            "type": "track",
            "unit": unit,
            "version": _version(name),
        }
    return out


def _union(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
    return [sorted(set(o) | set(n), key=lambda v: (len(v), v)) for o, n in zip(old, new)]


def write_asv(results_dir: str, rows: list[dict], *, machine: str, commit_hash: str, date_ms: int, python: str,
              env_vars: dict | None = None) -> str:
    """Write `machine`'s machine.json and results file, and file the benchmarks in benchmarks.json. Returns the results path."""
    if not machine or os.sep in machine or machine.startswith("."):
        raise ValueError(f"machine must be a plain name such as 'h200-x4', got {machine!r}")
    data = asv_result(rows, machine=machine, commit_hash=commit_hash, date_ms=date_ms, python=python, env_vars=env_vars)
    mdir = os.path.join(results_dir, machine)
    os.makedirs(mdir, exist_ok=True)
    machine_json = os.path.join(mdir, "machine.json")
    if not os.path.exists(machine_json):
        _dump(machine_json, {"machine": machine, "version": 1}, indent=4)
    path = os.path.join(mdir, f"{commit_hash[:8]}-{ASV_ENV_NAME}.json")
    _dump(path, data, indent=None)
    bench_path = os.path.join(results_dir, "benchmarks.json")
    benchmarks = {"version": 2}
    if os.path.exists(bench_path):
        with open(bench_path) as f:
            benchmarks = json.load(f)
    params = asv_params(rows)
    for name, entry in asv_benchmark_entries(params).items():
        if name in benchmarks:
            entry["params"] = _union(benchmarks[name]["params"], params)
        benchmarks[name] = entry
    _dump(bench_path, benchmarks, indent=4)
    return path


def _dump(path: str, obj, *, indent) -> None:
    # asv's own layout (sorted keys, no final newline), so rewriting benchmarks.json changes only our entries.
    files.write_atomic(path, json.dumps(obj, indent=indent, sort_keys=True))


# ---------------------------------------------------------------- `fusion-kernels distributed-scaling`


def _one(runs: list[dict], field: str, given):
    """`given`, else the one value of `field` the runs share; ValueError if they disagree or lack it."""
    if given:
        return given
    values = {run.get(field) for run in runs}
    if len(values) != 1 or None in values:
        raise ValueError(f"the runs disagree on or lack '{field}' ({sorted(map(str, values))}); pass --{field}")
    return values.pop()


def file_runs(paths, *, markdown: str | None = None, asv_results: str | None = None, machine: str | None = None,
              commit: str | None = None, out=print) -> None:
    """The strong-scaling table of the runs in `paths` (written to `markdown`, else printed) and, with
    `asv_results`, their asv results file and benchmarks.json entries. ValueError (or OSError) on runs
    it cannot read or combine."""
    runs = []
    for path in paths:
        with open(path) as f:
            try:
                runs.append(json.load(f))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not a distributed-bench JSON file: {exc}") from None
    rows = scaling_rows(runs)
    table = markdown_table(rows)
    for run in runs:
        for workload, why in run.get("skipped", {}).items():
            table += f"\n{run['world_size']} GPU run skipped {workload}: {why}\n"
    if markdown:
        files.write_atomic(markdown, table)
    else:
        out(table)
    if asv_results:
        path = write_asv(asv_results, rows, machine=_one(runs, "machine", machine),
                         commit_hash=_one(runs, "commit", commit), date_ms=max(run["date_ms"] for run in runs),
                         python=runs[0].get("python", sys.executable), env_vars=runs[0].get("env") or {})
        out(f"asv results: {path}")
