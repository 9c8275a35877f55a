"""Did a figure get slower? One verdict for every comparison of two asv results.

`fusion-kernels compare A B` compares two commits (or, with --env-a/--env-b, two
environments at one commit: two nvmath-python releases, say) figure by figure,
with the threshold asv.conf.json gives that figure's family
(`regressions_thresholds`, the same regexes the published Regressions page
uses, calibrated on A/A runs: docs/measurements.md). A family listed with null in
`regressions_first_commits` is excluded from detection there and here. A change
counts only when it exceeds the factor AND asv's own test says the two sets of
samples differ (Mann-Whitney U on the recorded samples, else confidence
intervals), as `asv compare` decides.

Every figure asv tracks is lower-is-better, so "slower" always means worse.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from dataclasses import dataclass

from . import tables

SLOWER, FASTER, SAME, INCONCLUSIVE, FAILED, FIXED, MISSING, UNTRACKED = (
    "slower", "faster", "same", "inconclusive", "failed", "fixed", "n/a", "untracked")
DEFAULT_THRESHOLD = 0.05  # asv's own default


class CompareError(ValueError):
    """The comparison cannot be made (no such results, bad options); the message says why."""


@dataclass(frozen=True)
class Figure:
    """One benchmark at one parameter set, in one result."""

    value: float | None  # None: failed; NaN: skipped
    samples: list | None = None
    stats: dict | None = None


def missing(x) -> bool:
    """Whether an asv value is no figure: None (the case failed) or NaN (it skipped)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _differ(a: Figure, b: Figure) -> bool:
    """asv's significance test (asv compare's, p < 0.002); True where there is too little data to test."""
    from asv import _stats

    if not (a.stats and b.stats):
        return True
    if a.stats.get("repeat", 0) == 1 or b.stats.get("repeat", 0) == 1:
        return True
    return _stats.is_different(a.samples, b.samples, a.stats, b.stats)


def verdict(before: Figure, after: Figure, threshold: float) -> str:
    """same, slower, faster, inconclusive (beyond the threshold but not significant), failed
    (ran before, fails now), fixed, or n/a (skipped on either side)."""
    if not 0 <= threshold < math.inf:
        raise ValueError(f"threshold must be a non-negative finite number, got {threshold!r}")
    if before.value is not None and after.value is None:
        return FAILED
    if before.value is None and not missing(after.value):  # failed, now measured (skipped now is n/a)
        return FIXED
    if missing(before.value) or missing(after.value):
        return MISSING
    factor = 1.0 + threshold
    if after.value > before.value * factor:
        return SLOWER if _differ(before, after) else INCONCLUSIVE
    if after.value * factor < before.value:
        return FASTER if _differ(before, after) else INCONCLUSIVE
    return SAME


@dataclass(frozen=True)
class Policy:
    """Per-family thresholds and exclusions, from asv.conf.json."""

    thresholds: dict
    excluded: tuple

    @classmethod
    def from_config(cls, conf) -> "Policy":
        excluded = tuple(rx for rx, first in (getattr(conf, "regressions_first_commits", None) or {}).items()
                         if first is None)
        return cls(dict(getattr(conf, "regressions_thresholds", None) or {}), excluded)

    def threshold(self, name: str) -> float | None:
        """The largest threshold of the regexes matching `name` (as asv's Regressions page takes it);
        None if the figure is excluded from detection."""
        if any(re.match(rx, name) for rx in self.excluded):
            return None
        matching = [float(t) for rx, t in self.thresholds.items() if re.match(rx, name)]
        return max(matching) if matching else DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Result:
    """One asv results file, read with asv's own code."""

    figures: dict  # 'bench(params)' -> Figure
    cases: dict  # 'bench(params)' -> (bench, (parameter values as asv stores them: repr strings))
    env_name: str
    env: dict  # the environment's parameters asv recorded: machine, python, the GPU software fingerprint


def read(conf, machine: str, commit: str, env: str | None = None, option: str = "--env-a/--env-b") -> Result:
    """The result of `commit` on `machine` (in the one environment whose name is or contains `env`);
    CompareError if there is none, or several and `env` does not pick one (`option` names the choice)."""
    from asv import results as asv_results
    from asv import util

    try:
        found = list(asv_results.iter_results_for_machine_and_hash(conf.results_dir, machine, commit))
    except util.UserError as exc:
        raise CompareError(str(exc)) from None
    if not found:
        raise CompareError(f"no results of {commit!r} for machine {machine!r} under {conf.results_dir}")
    names = ", ".join(sorted(r.env_name for r in found))
    if env is not None:
        found = [r for r in found if r.env_name == env or env in r.env_name]
    if not found:
        raise CompareError(f"{option} {env!r} matches none of the environments of {commit!r} on {machine!r}: {names}")
    if len(found) > 1:
        names = ", ".join(sorted(r.env_name for r in found))
        raise CompareError(f"{commit!r} has results in several environments ({names}): choose one with {option}")
    result = found[0]
    figures, cases = {}, {}
    for key in result.get_all_result_keys():
        params = result.get_result_params(key)
        values = [result.get_result_value(key, params), result.get_result_stats(key, params),
                  result.get_result_samples(key, params)]
        combos = list(itertools.product(*params)) if params else [()]
        values = [v if isinstance(v, list) else [v] * len(combos) for v in values]
        for combo, value, stats, samples in zip(combos, *values):
            name = f"{key}({', '.join(combo)})" if combo else key
            figures[name] = Figure(value, samples, stats)
            cases[name] = (key, tuple(combo))
    return Result(figures, cases, result.env_name, dict(result.params))


def verdict_rows(before: dict, after: dict, policy: Policy, names) -> list[tuple]:
    """[(name, before, after, threshold or None, verdict)] for each of `names` (a figure missing on a side is n/a)."""
    rows = []
    for name in names:
        a, b = before.get(name, Figure(math.nan)), after.get(name, Figure(math.nan))
        threshold = policy.threshold(name)
        rows.append((name, a, b, threshold, UNTRACKED if threshold is None else verdict(a, b, threshold)))
    return rows


def compare(conf, machine: str, commit_a: str, commit_b: str, env_a=None, env_b=None, machine_b=None) -> list[tuple]:
    """[(name, before, after, threshold or None, verdict)] for every figure either result has."""
    before = read(conf, machine, commit_a, env_a).figures
    after = read(conf, machine_b or machine, commit_b, env_b).figures
    return verdict_rows(before, after, Policy.from_config(conf), sorted(set(before) | set(after)))


def add_arguments(parser: argparse.ArgumentParser, first="before", second="after",
                  first_help="the reference commit (a prefix of its hash, as asv's results name it)",
                  second_help="the commit compared with it (the same one, with --env-a/--env-b)") -> None:
    """The options that name two asv results: `compare` and `quality aa` take the same."""
    parser.add_argument(first, help=first_help)
    parser.add_argument(second, help=second_help)
    parser.add_argument("--machine", required=True, help="asv machine name, e.g. h200")
    parser.add_argument("--machine-b", help=f"the machine of {second.upper()}, if not --machine (e.g. one commit run "
                                            "with two cache structures, scripts/asv-cache-time.sh)")
    parser.add_argument("--env-a", help=f"the environment of {first.upper()} (a substring of its name: e.g. "
                                        "nvmath-python0.9.0)")
    parser.add_argument("--env-b", help=f"the environment of {second.upper()}")
    parser.add_argument("--config", default="asv.conf.json", help="asv configuration (default: asv.conf.json)")


def _fmt(f: Figure) -> str:
    if f.value is None:
        return "failed"
    if missing(f.value):
        return "n/a"
    return f"{f.value:.4g}"


def load_config(path: str):
    """asv's configuration at `path`; CompareError if asv is missing or the file does not load."""
    try:
        from asv import config
    except ImportError:
        raise CompareError("needs asv (pip install 'fusion-kernels[test]')") from None
    try:
        return config.Config.load(path)
    except Exception as exc:
        raise CompareError(f"--config: cannot read {path}: {exc}") from None


def counts_line(rows) -> str:
    """How many figures got each verdict: the last line of compare and compare-releases."""
    counts = {v: sum(1 for r in rows if r[4] == v) for v in (SLOWER, FAILED, FASTER, INCONCLUSIVE, SAME, UNTRACKED)}
    return "; ".join(f"{n} {v}" for v, n in counts.items())


def compare_main(args) -> int:
    """Print the comparison; exit 1 if a figure got slower or started failing, else 0."""
    conf = load_config(args.config)
    rows = compare(conf, args.machine, args.before, args.after, args.env_a, args.env_b, args.machine_b)
    shown = [r for r in rows if args.all or r[4] not in (SAME, MISSING, UNTRACKED)]
    print(f"{'verdict':12} {'before':>11} {'after':>11} {'ratio':>7} {'factor':>7}  benchmark (parameters)")
    for name, a, b, threshold, v in shown:
        ratio = (f"{b.value / a.value:7.3f}" if not (missing(a.value) or missing(b.value)) and a.value else
                 "      -")
        factor = "   -   " if threshold is None else f"{1 + threshold:7.3f}"
        print(f"{v:12} {_fmt(a):>11} {_fmt(b):>11} {ratio} {factor}  {name}")
    print(counts_line(rows), file=sys.stderr)
    return 1 if any(r[4] in (SLOWER, FAILED) for r in rows) else 0


def aa_rows(conf, machine: str, commit_a: str, commit_b: str, env_a=None, env_b=None, machine_b=None) -> list[dict]:
    """Two runs of one commit (an A/A test), per benchmark: how many cases, the largest change either
    way (as a factor >= 1), the tightest threshold any of its cases has, and how many exceed theirs."""
    before = read(conf, machine, commit_a, env_a).figures
    after = read(conf, machine_b or machine, commit_b, env_b).figures
    policy = Policy.from_config(conf)
    out = {}
    for name in sorted(set(before) & set(after)):
        a, b = before[name].value, after[name].value
        if missing(a) or missing(b) or not a or not b:
            continue
        bench = name.split("(")[0]
        row = out.setdefault(bench, {"benchmark": bench, "cases": 0, "worst": 1.0, "worst_case": "",
                                     "tightest": None, "excluded": False, "over": 0})
        change = max(b / a, a / b)
        threshold = policy.threshold(name)
        row["cases"] += 1
        if change > row["worst"]:
            row["worst"], row["worst_case"] = change, name[len(bench):]
        if threshold is None:
            row["excluded"] = True
            continue
        row["tightest"] = threshold if row["tightest"] is None else min(row["tightest"], threshold)
        if change > 1 + threshold:
            row["over"] += 1
    return list(out.values())


def aa_table(rows: list[dict]) -> str:
    cells = [[r["benchmark"], r["cases"], f"{r['worst']:.3f}", r["worst_case"],
              "not detected" if r["excluded"] and r["tightest"] is None else f"{1 + r['tightest']:.2f}", r["over"]]
             for r in rows]
    lines = [tables.markdown(["benchmark", "cases", "largest change (x)", "at", "tightest factor", "over their factor"],
                             cells)]
    total = sum(r["over"] for r in rows)
    lines += ["", f"{total} of {sum(r['cases'] for r in rows)} cases change by more than their factor."]
    return "\n".join(lines)
