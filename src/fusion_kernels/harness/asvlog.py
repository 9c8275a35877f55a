"""Why cases were skipped or failed, from the output of `asv run --show-stderr` (-e).

asv prints n/a for a skipped case and "failed" for a failed one, and the reason
only with -e, scattered over thousands of lines; this gathers them: each skip
reason once with its count, each failure with its benchmark, parameters and
the exception's last line (asv's own line for a process that died without one,
under the benchmark alone where asv does not say which case).
"""

from __future__ import annotations

import re
from collections import Counter

_BENCH = re.compile(r"·+\s+(\S+\.\S+\.(?:track|time|peakmem|mem|timeraw)_\w+)\b")
_PARAMS = re.compile(r"For parameters:\s*(.*)$")
_SKIP = re.compile(r"asv: skipped: (?:NotImplementedError|SkipNotImplemented)\((['\"])(.*)\1\)\s*$")
_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Failed|Unavailable)\w*):\s?(.*)$")


def summarize(text: str) -> tuple[Counter, list]:
    """(Counter of skip reasons over distinct cases, [(benchmark(params), error line)]). asv may
    print a case's output more than once; each case counts once."""
    skipped, failed = {}, {}
    bench = params = None
    in_trace = False
    last_error = None
    for line in text.splitlines():
        m = _BENCH.search(line)
        if m:
            bench, params = m.group(1), None
        m = _PARAMS.search(line)
        if m:
            if in_trace and last_error:
                failed[_case(bench, params)] = last_error
            params, in_trace, last_error = m.group(1).strip(), False, None
            continue
        m = _SKIP.search(line)
        if m:
            skipped[_case(bench, params)] = m.group(2)
            continue
        if "Traceback (most recent call last)" in line:
            in_trace, last_error = True, None
            continue
        if not in_trace and "asv: benchmark timed out" in line:  # in the output of the case it ended
            failed[_case(bench, params)] = line.strip()
            continue
        if not in_trace and "asv: benchmark failed" in line:
            # asv prints one exit status for a benchmark, the last case's that failed, after the output
            # of all its cases. Status 1 is an exception, its traceback counted above; any other is a
            # process that died (a signal), and which case it ran is not in the log.
            counted = any(case.startswith(f"{bench}(") for case in failed)
            if not (counted and "exit status 1)" in line):
                failed.setdefault(_case(bench, None), line.strip())
            continue
        if in_trace:
            m = _ERROR_LINE.match(line)
            if m:
                last_error = f"{m.group(1)}: {m.group(2)}".strip()
            elif "asv: benchmark failed" in line or "asv: benchmark timed out" in line:
                failed[_case(bench, params)] = last_error or line.strip()
                in_trace, last_error = False, None
    if in_trace and last_error:
        failed[_case(bench, params)] = last_error
    return Counter(skipped.values()), list(failed.items())


def _case(bench, params) -> str:
    return f"{bench or '?'}({params})" if params else (bench or "?")


def report(text: str) -> str:
    skips, failures = summarize(text)
    lines = []
    if skips:
        lines.append(f"skipped: {sum(skips.values())} cases")
        lines += [f"  {n:5d} x {reason}" for reason, n in skips.most_common()]
    if failures:
        lines.append(f"FAILED: {len(failures)} cases")
        lines += [f"  {case}: {error}" for case, error in failures]
    return "\n".join(lines) or "no case skipped or failed"
