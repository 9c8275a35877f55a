#!/usr/bin/env bash
# How long asv takes at HEAD with one cache structure (FUSION_KERNELS_ASV_CACHE, benchmarks/common.py):
# one line of elapsed seconds, for choosing the structure (docs/asv.md, "Choosing the cache structure").
#
#   bash scripts/asv-cache-time.sh STRUCTURE MODE [--limit SECONDS] [--machine NAME] [--python PY]
#   STRUCTURE: workload, strategy or case
#   MODE:      full       the whole suite, results kept under the machine NAME-cache-STRUCTURE
#              one        FFTConv's fused_planned figures only (the `one` regex below), nothing saved
#              quick      the quick run (asv-offline.sh --quick), nothing saved
#              quick-one  the quick run of the `one` selection
#   --limit S  stop the run after S seconds (it ends as an interrupted asv-offline.sh does) and say so
#   e.g. bash scripts/asv-cache-time.sh strategy one --limit 590
#
# Prints: asv-cache-time: structure=S mode=M elapsed_s=N exit=E [cut off at the limit]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bash scripts/asv-cache-time.sh workload|strategy|case full|one|quick|quick-one [--limit SECONDS] [--machine NAME] [--python PY]"
die() { echo "asv-cache-time: $1" >&2; echo "$usage" >&2; exit 2; }
# asv selects by re.search on "name('strategy', 'shape', 'dtype')"; `.` stands for the quotes
# (tests/test_asv_runner_structure.py checks that this selects exactly those parameter sets)
one='^bench_fftconv\.FFTConv\.track_[a-z_]+\(.fused_planned.,'
[ $# -ge 2 ] || die "needs STRUCTURE and MODE"
structure=$1 mode=$2
shift 2
case "$structure" in workload|strategy|case) ;; *) die "unknown structure $structure" ;; esac
limit= machine= python=
while [ $# -gt 0 ]; do
  case "$1" in
    --limit|--machine|--python)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
      case "$1" in --limit) limit=$2 ;; --machine) machine=$2 ;; --python) python=$2 ;; esac
      shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -z "$limit" ] || [[ "$limit" =~ ^[0-9]+$ ]] || die "--limit takes whole seconds"
opts=()
[ -z "$python" ] || opts+=(--python "$python")
case "$mode" in
  full)
    # Each structure's results in a folder of its own (not for committing): `fusion-kernels quality aa
    # --machine NAME-cache-workload --machine-b NAME-cache-strategy SHA SHA` (SHA: git rev-parse HEAD)
    # compares their figures.
    if [ -z "$machine" ]; then
      machine=$("${python:-python3}" -m fusion_kernels fingerprint --machine) || exit 1
    fi
    args=(${opts[@]+"${opts[@]}"} --machine "$machine-cache-$structure" HEAD) ;;
  one|quick|quick-one)
    [ -z "$machine" ] || opts+=(--machine "$machine")
    case "$mode" in
      one) args=(${opts[@]+"${opts[@]}"} HEAD -- --bench "$one" --dry-run) ;;
      quick) args=(${opts[@]+"${opts[@]}"} --quick HEAD) ;;
      quick-one) args=(${opts[@]+"${opts[@]}"} --quick HEAD -- --bench "$one") ;;
    esac ;;
  *) die "unknown mode $mode" ;;
esac

export FUSION_KERNELS_ASV_CACHE=$structure
start=$(date +%s)
status=0
if [ -n "$limit" ]; then
  # SIGTERM: asv-offline.sh ends asv and its benchmark processes and cleans up (exit 143); timeout says 124.
  timeout --signal=TERM --kill-after=60 "$limit" bash scripts/asv-offline.sh "${args[@]}" || status=$?
else
  bash scripts/asv-offline.sh "${args[@]}" || status=$?
fi
elapsed=$(( $(date +%s) - start ))
note=
[ "$status" -ne 124 ] || note=" cut off at the limit"
printf "\nasv-cache-time: structure=%s mode=%s elapsed_s=%s exit=%s%s\n" "$structure" "$mode" "$elapsed" "$status" "$note"
exit "$status"
