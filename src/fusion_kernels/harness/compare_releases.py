"""`fusion-kernels compare-releases`: one commit of ours, two library releases, per workload and strategy.

The suite run at one commit once per nvmath-python (or CuPy) release (`scripts/asv-offline.sh --wheels
DIR`, docs/asv.md, "Across library releases") leaves one asv result per release: two environments
whose names differ in that library's version. This prints, for each benchmark class, a table of every
case (strategy, shape, dtype): the device time with release A and with release B, and the verdict of
`regressions.verdict` with the threshold asv.conf.json gives the figure's family, as `compare` decides.
A case that skips or fails with one release says so.

    fusion-kernels compare-releases b3c08a0 --machine h200 --env-a nvmath-python0.9.0 --env-b nvmath-python1.0.0

asv's results hold no correctness figure; `fusion-kernels report` does. Given the two reports
(`report --out`, one per release), a second table shows each case's relative error against the
float64 oracle with A and with B, and where a result became wrong.

Exit statuses (harness/report.py's table): OK; BAD_ARGUMENTS when it cannot compare; WRONG_RESULT when a
result is outside its tolerance with B (this wins); CASE_FAILED when a case fails with B. A slower
release is what it reports, not an error.
"""

from __future__ import annotations

import ast
import sys

from . import regressions, report_plot, tables
from .regressions import FAILED, FIXED, MISSING, SAME, UNTRACKED, CompareError
from .report import BAD_ARGUMENTS, CASE_FAILED, OK, WRONG_RESULT

# --figure -> (the asv figure, what it is). Device times: the host's share is not the library's.
FIGURES = {"cold": ("track_cold_device_seconds", "cold device time"),
           "warm": ("track_warm_device_seconds", "warm device time")}
# A report's library versions (backend.versions()) under the names the asv environment gives them.
REPORT_VERSIONS = {"nvmath": "nvmath-python", "cupy": "cupy"}


def differences(env_a: dict, env_b: dict) -> list[tuple[str, str, str]]:
    """(parameter, A's value, B's value) where two environments differ: the releases compared, and
    anything else that changed between the runs (which the comparison then also measures)."""
    keys = [k for k in dict.fromkeys([*env_a, *env_b]) if k != "machine"]
    return [(k, str(env_a.get(k, "-")), str(env_b.get(k, "-"))) for k in keys if env_a.get(k) != env_b.get(k)]


def _param_names(conf) -> dict:
    """{benchmark: its parameter names} from the results folder's benchmarks.json; {} if unreadable."""
    try:
        from asv.benchmarks import Benchmarks

        return {name: list(b.get("param_names") or []) for name, b in Benchmarks.load(conf).items()}
    except Exception:  # an old or missing benchmarks.json: the columns are then numbered
        return {}


def _value(text: str) -> str:
    try:
        return str(ast.literal_eval(text))  # asv stores parameter values as their repr
    except (ValueError, SyntaxError):
        return text


def compare(conf, machine: str, commit: str, env_a: str, env_b: str, figure: str = "cold") -> dict:
    """The device-time comparison of `commit` between environments `env_a` and `env_b` (substrings of
    their names): {'a', 'b': the Results, 'rows': [(group, parameters, name, A, B, threshold, verdict)]}."""
    if figure not in FIGURES:
        raise CompareError(f"--figure must be one of {', '.join(FIGURES)}, got {figure!r}")
    if env_a == env_b:
        raise CompareError(f"--env-a and --env-b must name two environments, got {env_a!r} for both")
    a = regressions.read(conf, machine, commit, env_a, "--env-a")
    b = regressions.read(conf, machine, commit, env_b, "--env-b")
    if a.env_name == b.env_name:
        raise CompareError(f"--env-a {env_a!r} and --env-b {env_b!r} match the same environment, {a.env_name}")
    wanted = FIGURES[figure][0]
    cases = {**b.cases, **a.cases}
    names = [n for n in dict.fromkeys([*a.figures, *b.figures]) if cases[n][0].rsplit(".", 1)[-1] == wanted]
    rows = []
    for name, fa, fb, threshold, v in regressions.verdict_rows(a.figures, b.figures,
                                                                regressions.Policy.from_config(conf), names):
        bench, params = cases[name]
        rows.append((bench.rsplit(".", 1)[0], tuple(_value(p) for p in params), name, fa, fb, threshold, v))
    rows.sort(key=lambda r: r[0])  # stable: each class keeps asv's parameter order (strategy, shape, dtype)
    return {"a": a, "b": b, "rows": rows, "figure": wanted, "param_names": _param_names(conf)}


def _state(value) -> str | None:
    if value is None:
        return "failed"
    if regressions.missing(value):
        return "skipped"
    return None


def say(verdict: str, a, b) -> str:
    """The verdict, with which release a case skipped or failed with."""
    if verdict == FAILED:
        return "failed with B" + (" (skipped with A)" if _state(a) == "skipped" else "")
    if verdict == FIXED:
        return "fixed with B (failed with A)"
    if verdict == MISSING:
        sa, sb = _state(a), _state(b)
        if sa and sa == sb:
            return f"n/a: {sa} with both"
        return "n/a: " + ", ".join(f"{s} with {side}" for s, side in ((sa, "A"), (sb, "B")) if s)
    if verdict == UNTRACKED:
        return "untracked (plotted only)"
    return verdict


def _ms(value) -> str:
    return _state(value) or f"{value * 1e3:.4g}"


def timing_table(result: dict, changed_only: bool = False) -> str:
    """One Markdown table per benchmark class: parameters, A and B in ms, B/A, the factor, the verdict."""
    out = []
    groups = dict.fromkeys(r[0] for r in result["rows"])
    for group in groups:
        rows = [r for r in result["rows"] if r[0] == group and not (changed_only and r[6] == SAME)]
        if not rows:
            continue
        width = max(len(r[1]) for r in rows)
        names = result["param_names"].get(f"{group}.{result['figure']}") or []
        names = names if len(names) == width else [f"parameter {i + 1}" for i in range(width)]
        cells = []
        for _, params, _, fa, fb, threshold, v in rows:
            measured = _state(fa.value) is None and _state(fb.value) is None
            ratio = f"{fb.value / fa.value:.3f}" if measured and fa.value else "-"
            factor = "-" if threshold is None else f"{1 + threshold:.2f}"
            cells.append([*params, _ms(fa.value), _ms(fb.value), ratio, factor, say(v, fa.value, fb.value)])
        out += [f"### {group}", "",
                tables.markdown([*names, "A (ms)", "B (ms)", "B/A", "factor", "verdict"], cells, "l" * width + "rrrr"),
                ""]
    return "\n".join(out).rstrip()


def header(result: dict, machine: str, commit: str) -> str:
    a, b = result["a"], result["b"]
    diff = differences(a.env, b.env)
    side = {s: ", ".join(f"{k} {(va, vb)[i]}" for k, va, vb in diff) for i, s in enumerate("AB")}
    what = next(w for f, w in FIGURES.values() if f == result["figure"])
    return "\n".join([
        f"Commit {commit} on {machine}: {what} ({result['figure']}), release B against release A.",
        f"A: {side['A']}  ({a.env_name})",
        f"B: {side['B']}  ({b.env_name})",
        "Verdicts as `fusion-kernels compare` gives them: beyond the figure's factor (asv.conf.json) and "
        "significant (asv's test on the recorded samples).",
    ])


# ---- correctness, from two `fusion-kernels report` JSON files ----

def _report_state(row) -> tuple[str, str]:
    """(state, detail) of one report row: correct, wrong, failed, skipped, unchecked; or absent."""
    if row is None:
        return "absent", "not in the report"
    if row.get("error"):
        return "failed", str(row["error"]).strip().splitlines()[0]
    if row.get("skip"):
        return "skipped", str(row["skip"])
    if row.get("correct") is True:
        return "correct", ""
    if row.get("correct") is False:
        return "wrong", ""
    return "unchecked", ""


def _change(a_row, b_row) -> str:
    (sa, da), (sb, db) = _report_state(a_row), _report_state(b_row)
    if sa == sb == "correct":
        return "correct with both"
    if sa == sb == "wrong":
        return "WRONG with both"
    if sb == "wrong":
        return "WRONG with B" + ("" if sa == "correct" else f" ({sa} with A)")
    if sa == "wrong" and sb == "correct":
        return "fixed with B (wrong with A)"
    parts = [f"{s} with {side}" + (f": {d}" if d and s in ("failed", "skipped") else "")
             for s, d, side in ((sa, da, "A"), (sb, db, "B")) if s != "correct"]
    return "; ".join(parts)


def _check_versions(meta: dict, env: dict, option: str, path: str) -> None:
    """A report made with another release than its side's asv environment is refused, naming both."""
    versions = meta.get("versions") or {}
    for report_name, env_name in REPORT_VERSIONS.items():
        made, ran = versions.get(report_name), env.get(env_name)
        if made and ran and made != "missing" and str(made) != str(ran):
            raise CompareError(f"--reports: {path} was made with {env_name} {made}, but the environment of {option} "
                               f"has {env_name} {ran}: give the reports in the order of --env-a and --env-b")


def correctness(path_a: str, path_b: str, result: dict | None = None) -> list[tuple]:
    """[(workload, strategy, shape, dtype, A row, B row)] of two report.json files (A's order, then B's new
    cases). With `result` (the asv comparison), each report must come from its side's release."""
    loaded = []
    for path, side, option in ((path_a, "a", "--env-a"), (path_b, "b", "--env-b")):
        try:
            rows, meta = report_plot.load(path, measured=False)
        except report_plot.ReportFileError as exc:
            raise CompareError(f"--reports: {exc}") from None
        if result is not None:
            _check_versions(meta, result[side].env, option, path)
        loaded.append({(r["workload"], r["strategy"], r["shape"], r["dtype"]): r for r in rows})
    a, b = loaded
    return [(*key, a.get(key), b.get(key)) for key in dict.fromkeys([*a, *b])]


def _err(row) -> str:
    e = row.get("relative_error") if row else None
    return "-" if e is None else f"{e:.2e}"


def correctness_table(rows: list[tuple], path_a: str, path_b: str) -> str:
    cells = []
    for workload, strategy, shape, dtype, ra, rb in rows:
        tol = (rb or ra or {}).get("tolerance")
        cells.append([workload, strategy, shape, dtype, _err(ra), _err(rb), "-" if tol is None else f"{tol:.0e}",
                      _change(ra, rb)])
    return "\n".join([
        f"### Correctness: relative error against the float64 oracle (A: {path_a}, B: {path_b})", "",
        tables.markdown(["workload", "strategy", "shape", "dtype", "A rel. error", "B rel. error", "tolerance",
                         "A -> B"], cells, "llllrrrl")])


def main(args, out=None, err=None) -> int:
    """Print the comparison (and the correctness table with --reports); the exit status of the module doc."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        conf = regressions.load_config(args.config)
        result = compare(conf, args.machine, args.commit, args.env_a, args.env_b, args.figure)
        checked = correctness(*args.reports, result) if args.reports else None
    except CompareError as exc:
        print(f"fusion-kernels compare-releases: {exc}", file=err)
        return BAD_ARGUMENTS
    print(header(result, args.machine, args.commit), file=out)
    print("", file=out)
    print(timing_table(result, args.changed) or "(no case changed)", file=out)
    rows = [(name, fa, fb, threshold, v) for _, _, name, fa, fb, threshold, v in result["rows"]]
    print(f"{regressions.counts_line(rows)}; {sum(1 for r in rows if r[4] == FIXED)} fixed; "
          f"{sum(1 for r in rows if r[4] == MISSING)} n/a", file=err)
    failed_b = any(r[2].value is None for r in rows)
    wrong_b = False
    if checked is not None:
        print("", file=out)
        print(correctness_table(checked, *args.reports), file=out)
        wrong_b = any(_report_state(rb)[0] == "wrong" for *_, rb in checked)
        failed_b = failed_b or any(_report_state(rb)[0] == "failed" for *_, rb in checked)
    if wrong_b:
        return WRONG_RESULT
    return CASE_FAILED if failed_b else OK
