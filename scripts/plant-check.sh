#!/usr/bin/env bash
# Does the suite catch a 5% slowdown of a fused kernel, and not call a speedup a regression?
#
#   bash scripts/plant-check.sh [--python PY] [--machine NAME]
#
# scripts/plant/slowdown.patch adds an extra read-and-write pass over an eighth of the output to
# the planned FFT convolution (about 5% of the shared-filter convolution's device time at
# 2048x4096 complex128, a GPU-bound case). It is applied with `git apply` to HEAD in a temporary
# worktree and committed there (never on a branch); it fails loudly when it no longer applies.
# Then, with the factor asv.conf.json gives that figure's family:
#   1. `asv continuous HEAD PLANTED` must flag the slowdown (exit 1);
#   2. `fusion-kernels compare PLANTED HEAD` (the speedup back) must flag nothing (exit 0).
# Results go to a temporary folder, not results. Exit 0 when both hold.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=$(command -v python3 || true)
machine=
while [ $# -gt 0 ]; do
  case "$1" in
    --python|--machine)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "plant-check: $1 needs a value" >&2; exit 2; }
      if [ "$1" = --python ]; then python=$2; else machine=$2; fi
      shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "plant-check: unknown argument $1 (usage: bash scripts/plant-check.sh [--python PY] [--machine NAME])" >&2; exit 2 ;;
  esac
done
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
[ -n "$machine" ] || machine=$("$python" -m fusion_kernels fingerprint --machine) || exit 1
BENCH='FFTConvSharedFilter\.track_cold_device_seconds\(.fused_planned., .2048x4096., .complex128.\)'
NAME="bench_fftconv.FFTConvSharedFilter.track_cold_device_seconds('fused_planned', '2048x4096', 'complex128')"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plant-check.XXXXXX")
conf=$(mktemp -p . .plant-check-XXXXXX.json)
cleanup() {
  git worktree remove --force "$tmp/planted" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  git worktree prune
  rm -f "$conf"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

head=$(git rev-parse HEAD)
git worktree add -q --detach "$tmp/planted" "$head"
if ! git -C "$tmp/planted" apply --check "$root/scripts/plant/slowdown.patch"; then
  echo "plant-check: scripts/plant/slowdown.patch no longer applies to HEAD: update it" >&2
  exit 1
fi
git -C "$tmp/planted" apply "$root/scripts/plant/slowdown.patch"
git -C "$tmp/planted" -c user.name=plant-check -c user.email=plant-check@localhost \
  commit -qam "planted: an extra pass over an eighth of the planned FFT convolution's output"
planted=$(git -C "$tmp/planted" rev-parse HEAD)

# A private copy of the configuration: results in the temporary folder, branches that resolve here.
"$python" -c 'import json, json5, sys
c = json5.load(open("asv.conf.json")); c["results_dir"] = sys.argv[2]; c["branches"] = ["HEAD"]
json.dump(c, open(sys.argv[1], "w"), indent=4)' "$conf" "$tmp/results"
threshold=$("$python" -c 'import sys
from asv import config
from fusion_kernels.harness import regressions
print(regressions.Policy.from_config(config.Config.load(sys.argv[1])).threshold(sys.argv[2]))' "$conf" "$NAME")
factor=$("$python" -c "print(1 + $threshold)")
echo "plant-check: $NAME, factor $factor (asv.conf.json)"

"$python" -m asv machine --yes --machine "$machine" >/dev/null  # a fresh HOME knows no machine yet
status=0
set +e
"$python" -m asv continuous --config "$conf" -E "checkout:$python" --machine "$machine" --record-samples \
  --show-stderr --factor "$factor" --bench "$BENCH" "$head" "$planted" 2>&1 | tee "$tmp/continuous.log"
continuous=${PIPESTATUS[0]}
set -e
if [ "$continuous" -eq 1 ] && grep -q "PERFORMANCE DECREASED" "$tmp/continuous.log" \
   && grep -qF "track_cold_device_seconds('fused_planned', '2048x4096', 'complex128')" "$tmp/continuous.log"; then
  echo "plant-check: the planted slowdown is flagged by asv continuous"
else
  echo "plant-check: FAILED: asv continuous did not flag the planted slowdown (exit $continuous)" >&2
  status=1
fi
if "$python" -m fusion_kernels compare --config "$conf" --machine "$machine" --all "$planted" "$head"; then
  echo "plant-check: the speedup back (planted -> HEAD) is not a regression"
else
  echo "plant-check: FAILED: the speedup back was flagged as a regression" >&2
  status=1
fi
exit $status
