#!/usr/bin/env bash
# The asv suite imports, its benchmarks are well-formed, and on a machine
# without a GPU every parameter set is skipped, not failed (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
export ASV_PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
python -m asv check --python=same
python - <<'PY'
import importlib, inspect, sys
sys.path.insert(0, ".")
counts = {"time": 0, "track_bytes": 0}
for mod in ("benchmarks.bench_matmul", "benchmarks.bench_fftconv", "benchmarks.bench_matmul_family"):
    m = importlib.import_module(mod)
    for _, cls in inspect.getmembers(m, inspect.isclass):
        if cls.__module__ != m.__name__:
            continue
        for name, _ in inspect.getmembers(cls, inspect.isfunction):
            counts["time"] += name.startswith("time_") or name.endswith("_seconds")
            counts["track_bytes"] += name.startswith("track_") and name.endswith("_bytes")
print(f"asv suite: {counts['time']} time benchmarks, {counts['track_bytes']} device-memory benchmarks")
assert counts["time"] >= 8 and counts["track_bytes"] >= 4, counts
PY
