"""Strong-scaling table (markdown) and asv results from distributed_bench.py runs at several world sizes.

    python3 scripts/distributed_scaling.py results/distributed/h200-x4/n*.json \\
        --markdown results/distributed/h200-x4/scaling.md --asv-results asv/results

Efficiency is t1 / (N tN) against the 1-GPU run of the same case. With
--asv-results it writes the machine's results file for the runs' commit (one
file per machine and commit, asv 0.6 format) and files the two distributed
benchmarks in that directory's benchmarks.json so `asv publish` shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from fusion_kernels import scaling  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="JSON files written by distributed_bench.py")
    p.add_argument("--markdown", help="write the table here (default: print it)")
    p.add_argument("--asv-results", help="asv results directory (e.g. asv/results)")
    p.add_argument("--machine", help="asv machine name (default: the runs' machine)")
    p.add_argument("--commit", help="commit the results belong to (default: the runs' commit)")
    args = p.parse_args(argv)

    runs = []
    for path in args.runs:
        with open(path) as f:
            runs.append(json.load(f))
    rows = scaling.scaling_rows(runs)
    table = scaling.markdown_table(rows)
    for run in runs:
        for workload, why in run.get("skipped", {}).items():
            table += f"\n{run['world_size']} GPU run skipped {workload}: {why}\n"
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    else:
        print(table)

    if args.asv_results:
        def one(field, given):
            values = {run.get(field) for run in runs}
            if given:
                return given
            if len(values) != 1 or None in values:
                raise SystemExit(f"the runs disagree on or lack '{field}' ({sorted(map(str, values))}); pass --{field}")
            return values.pop()

        path = scaling.write_asv(
            args.asv_results, rows, machine=one("machine", args.machine), commit_hash=one("commit", args.commit),
            date_ms=max(run["date_ms"] for run in runs), python=runs[0].get("python", sys.executable),
            env_vars=runs[0].get("env") or {},
        )
        print(f"asv results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
