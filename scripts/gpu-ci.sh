#!/usr/bin/env bash
# GPU CI: every test on the GPU, then a quick benchmark pass. Run from anywhere:
#   bash scripts/gpu-ci.sh [--logdir DIR] [--wheels DIR]
# --wheels DIR: install the wheels in DIR (no index, no dependencies) into a private
#   site folder first, for GPU machines without internet (see README).
# Logs: DIR/pytest.log, DIR/junit.xml, DIR/bench.log, DIR/bench.json (default: gpu-ci-logs/).
set -uo pipefail
cd "$(dirname "$0")/.."
logdir=gpu-ci-logs
wheels=
while [ $# -gt 0 ]; do
  case "$1" in
    --logdir) logdir=$2; shift 2 ;;
    --wheels) wheels=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$logdir"
if [ -n "$wheels" ]; then
  site=${FK_SITE:-/tmp/fusion-kernels-site}
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl || exit 1
  export PYTHONPATH="$site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
  # libmathdx (the dx extra) lands under the --target folder, where nvmath's library finder
  # does not look; the dynamic loader does, through LD_LIBRARY_PATH.
  if [ -d "$site/nvidia/cu13/lib" ]; then
    export LD_LIBRARY_PATH="$site/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
else
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
python3 -m fusion_kernels info | tee "$logdir/info.log"

status=0
# Every test but the browser one (it needs Chromium; CPU CI runs it) and the multi-process ones
# (tests/test_distributed_gpu.py: torchrun, cuBLASMp/cuFFTMp, 2+ GPUs; run on their own). On a GPU
# machine nothing else may skip.
python3 -m pytest -q -p no:cacheprovider -m "not browser and not distributed" --junitxml="$logdir/junit.xml" -rs 2>&1 | tee "$logdir/pytest.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
if grep -qE '[0-9]+ skipped' "$logdir/pytest.log"; then
  echo "gpu-ci: tests were skipped on a GPU machine (see reasons above)" >&2
  status=1
fi

# Quick benchmark pass (pytest-benchmark, GPU-synchronised): compared with the stored
# baseline of this GPU when there is one; a median slower by more than 10% fails.
baseline=gpubench/baseline
machine=$(python3 -c 'from fusion_kernels import backend; print(backend.machine_name())' 2>/dev/null || echo unknown)
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
