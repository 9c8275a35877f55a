#!/usr/bin/env bash
# GPU CI: every test on the GPU, the planted-slowdown check, then a quick benchmark pass. Run from anywhere:
#   bash scripts/gpu-ci.sh [--logdir DIR] [--wheels DIR]
# --wheels DIR: install the wheels in DIR (no index, no dependencies) into a private
#   site folder first (a new temporary folder, removed at the end), for GPU machines without
#   internet (see docs/testing.md).
# It stops at once, with `fusion-kernels info`'s message, when this machine cannot run the GPU tests.
# Logs: DIR/pytest.log, DIR/junit.xml, DIR/plant.log, DIR/bench.log, DIR/bench.json (default: gpu-ci-logs/).
set -uo pipefail
cd "$(dirname "$0")/.."
logdir=gpu-ci-logs
wheels=
while [ $# -gt 0 ]; do
  case "$1" in
    --logdir|--wheels)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "gpu-ci: $1 needs a value (usage: bash scripts/gpu-ci.sh [--logdir DIR] [--wheels DIR])" >&2; exit 2; }
      if [ "$1" = --logdir ]; then logdir=$2; else wheels=$2; fi
      shift 2 ;;
    *) echo "gpu-ci: unknown argument: $1 (usage: bash scripts/gpu-ci.sh [--logdir DIR] [--wheels DIR])" >&2; exit 2 ;;
  esac
done
mkdir -p "$logdir"
if [ -n "$wheels" ]; then
  . scripts/wheel-site.sh
  check_wheel_dirs gpu-ci "$wheels"
  # A private folder: a fixed, shared one first on PYTHONPATH would run whatever another user put there.
  site=$(mktemp -d "${TMPDIR:-/tmp}/fusion-kernels-site.XXXXXX")
  trap 'rm -rf "$site"' EXIT
  install_wheels gpu-ci python3 "$site" "$wheels" || exit 1
  export PYTHONPATH="$site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
if ! python3 -m fusion_kernels info > "$logdir/info.log" 2>&1; then
  cat "$logdir/info.log"
  echo "gpu-ci: this machine cannot run the GPU tests (above); nothing was run" >&2
  exit 1
fi
cat "$logdir/info.log"

status=0
# Every test but the browser one (it needs Chromium; CPU CI runs it) and the multi-process ones
# (tests/test_distributed_gpu.py: torchrun, cuBLASMp/cuFFTMp, 2+ GPUs; run on their own). On a GPU
# machine no GPU test may skip.
python3 -m pytest -q -p no:cacheprovider -m "not browser and not distributed" --junitxml="$logdir/junit.xml" -rs 2>&1 | tee "$logdir/pytest.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# A skip for want of a GPU library (its reason starts with the marker: strategy.Need's values) fails
# here; other skips (no npm for the site's libraries offline, a root user) are reported above.
needs=$(python3 -c 'from fusion_kernels.suite.strategy import Need; print("|".join(n.value for n in Need))') || status=1
if grep -qE "^SKIPPED .*: (${needs:-gpu}): " "$logdir/pytest.log"; then
  echo "gpu-ci: GPU tests were skipped on a GPU machine (see reasons above)" >&2
  status=1
fi

# The regression signal catches a planted 5% slowdown of a fused kernel, and not the speedup back.
bash scripts/plant-check.sh 2>&1 | tee "$logdir/plant.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Quick benchmark pass (pytest-benchmark, GPU-synchronised): compared with the stored
# baseline of this GPU when there is one; a median slower by more than 10% fails.
baseline=gpubench/baseline
machine=$(python3 -c 'from fusion_kernels.gpu import backend; print(backend.machine_name())' 2>/dev/null || echo unknown)
compare=()
if ls "$baseline"/*/*"$machine".json >/dev/null 2>&1; then
  compare=(--benchmark-compare="$(basename "$(ls "$baseline"/*/*"$machine".json | tail -1)" .json)" --benchmark-compare-fail=median:10%)
else
  echo "gpu-ci: no gpubench baseline for $machine: nothing to compare with; record one with FK_BENCH_ARGS=--benchmark-save=$machine" >&2
fi
python3 -m pytest -q -p no:cacheprovider gpubench --benchmark-only --benchmark-storage="file://$baseline" \
  --benchmark-json="$logdir/bench.json" --benchmark-columns=median,iqr,min,rounds "${compare[@]}" ${FK_BENCH_ARGS:-} 2>&1 | tee "$logdir/bench.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
