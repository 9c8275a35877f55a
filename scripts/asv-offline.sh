#!/usr/bin/env bash
# asv across commits on a GPU machine whose Python already has CuPy/nvmath-python and no
# internet: nothing is built or downloaded. asv itself walks the commits, in the `checkout`
# environment (src/fusion_kernels/harness/asv_env.py): each commit's src/ is imported by the benchmarks,
# and the environment records the GPU software fingerprint (driver, CUDA, cuBLASLt, cuFFT,
# nvmath-python, CuPy, numba-cuda, SM clock policy) with every result. Raw samples are kept
# (--record-samples), for asv's statistical tests.
#
#   bash scripts/asv-offline.sh [--machine NAME] [--python PY] [--wheels DIR]... [--quick] REVS [-- ASV_RUN_ARGS...]
#   REVS: a range (HEAD~3..HEAD) or commits separated by spaces
#   e.g. bash scripts/asv-offline.sh HEAD -- --bench MatmulBiasReLU
#
# --wheels DIR (repeatable): one library release per run. The wheels in DIR (e.g. nvmath-python 0.9.0's)
# are installed (pip --target, no index, no dependencies) into a private temporary folder, put on the
# benchmarks' import path after the commit's src/ and ahead of site-packages. The fingerprint, and so
# asv's environment name and result file, then names that release: run once per release, then compare
# them with `fusion-kernels compare-releases` (docs/asv.md, "Across library releases"). Without it,
# nothing changes.
#
# --quick: a smoke test that every benchmark runs (asv --quick, nothing saved): each workload at
# its first shape and first dtype with few samples (FUSION_KERNELS_QUICK=1, benchmarks/common.py).
#
# The machine is named after the GPU ("h200") unless --machine is given. At the end it lists
# why cases were skipped and which failed. Interrupted (Ctrl-C, SIGTERM, SIGHUP), it stops asv
# and its benchmark processes, keeps the results of commits that finished and removes a result
# file that was being written, and its temporary files.
set -euo pipefail
caller=$PWD  # a relative --wheels folder is the caller's
cd "$(dirname "$0")/.."
usage="usage: bash scripts/asv-offline.sh [--machine NAME] [--python PY] [--wheels DIR]... [--quick] REVS [-- ASV_RUN_ARGS...]"
die() { echo "asv-offline: $1" >&2; [ "${2:-}" = usage ] && echo "$usage" >&2; exit 2; }
. scripts/wheel-site.sh
python=$(command -v python3 || true)
machine=
revs=()
quick=()
wheels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --machine|--python|--wheels)
      [ $# -ge 2 ] && [ -n "$2" ] && [[ "$2" != --* ]] || die "$1 needs a value" usage
      case "$1" in
        --machine) machine=$2 ;;
        --python) python=$2 ;;
        *) dir=$2; [[ "$dir" = /* ]] || dir="$caller/$dir"
           [ -d "$dir" ] || die "--wheels expects a folder of wheels, got '$2' (no such folder)"
           wheels+=("$dir") ;;
      esac
      shift 2 ;;
    --quick) quick=(--quick --dry-run); export FUSION_KERNELS_QUICK=1; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" usage ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || die "no commits given" usage

commits=()
for r in "${revs[@]}"; do
  if [[ "$r" == *..* ]]; then
    mapfile -t more < <(git rev-list --reverse "$r" 2>/dev/null) || die "not a range of this repository: $r"
    commits+=("${more[@]}")
  else
    commits+=("$(git rev-parse -q --verify "$r^{commit}" 2>/dev/null)") || die "not a commit of this repository: $r"
  fi
done
[ ${#commits[@]} -gt 0 ] || die "the range ${revs[*]} holds no commit"
[ -n "$python" ] && command -v "$python" >/dev/null || die "no Python at '${python:-python3}' (--python PY)"
"$python" -m asv --version >/dev/null 2>&1 || die "asv is not importable by $python (pip install 'fusion-kernels[test]')"
[ ${#wheels[@]} -eq 0 ] || check_wheel_dirs "asv-offline: --wheels" "${wheels[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asv-offline.XXXXXX")
conf=asv.conf.json
cleanup() {
  rm -rf "$tmp"
  [ "$conf" = asv.conf.json ] || rm -f "$conf"
}
trap cleanup EXIT
mkdir "$tmp/asv-tmp"  # asv's own temporary folders (its benchmark server's), removed with ours
printf '%s\n' "${commits[@]}" > "$tmp/commits"
site=
if [ ${#wheels[@]} -gt 0 ]; then
  # A private folder, removed with $tmp: a fixed, shared one would run whatever another user put there.
  site="$tmp/site"
  install_wheels asv-offline "$python" "$site" "${wheels[@]}" || exit 1
  echo "asv-offline: from --wheels, ahead of site-packages: $(cd "$site" && ls -d -- *.dist-info 2>/dev/null \
    | sed 's/\.dist-info$//' | tr '\n' ' ')" >&2
fi
# The commit's src/ comes first all the same (the checkout environment puts it there).
export PYTHONPATH="$PWD/src${site:+:$site}${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "$machine" ]; then
  machine=$("$python" -m fusion_kernels fingerprint --machine) || exit 1  # it says why (no GPU: pass --machine)
fi

results_dir=$("$python" -c 'import json5; print(json5.load(open("asv.conf.json")).get("results_dir", ".results"))')
# asv resolves the configured branches even when told the commits; a CI checkout (detached HEAD,
# no local main) has none, so a private copy of the config points at HEAD.
if ! "$python" -c 'import json5, subprocess, sys
branches = json5.load(open("asv.conf.json")).get("branches", ["main"])
sys.exit(any(subprocess.run(["git", "rev-parse", "-q", "--verify", b + "^{commit}"], capture_output=True).returncode for b in branches))'; then
  conf=$(mktemp -p . .asv-offline-XXXXXX.json)
  "$python" -c 'import json, json5, sys
c = json5.load(open("asv.conf.json")); c["branches"] = ["HEAD"]; json.dump(c, open(sys.argv[1], "w"), indent=4)' "$conf"
  echo "asv-offline: a configured branch is missing here; benchmarking against HEAD's history" >&2
fi

asv_pid=
drop_half_written() {
  "$python" - "$results_dir/$machine" <<'PY'
import json, pathlib, sys
for path in pathlib.Path(sys.argv[1]).glob("*.json"):
    try:
        json.loads(path.read_text())
    except ValueError:
        path.unlink()
        print(f"asv-offline: removed half-written {path}", file=sys.stderr)
PY
}
on_signal() {
  trap - INT TERM HUP
  echo "asv-offline: interrupted ($1); results of finished commits are kept" >&2
  if [ -n "$asv_pid" ]; then
    kill -TERM -- "-$asv_pid" 2>/dev/null || true  # asv and its benchmark server: one process group
    for _ in $(seq 50); do kill -0 -- "-$asv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$asv_pid" 2>/dev/null || true
    wait "$asv_pid" 2>/dev/null || true
  fi
  drop_half_written
  cleanup
  exit "$2"
}
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM
trap 'on_signal SIGHUP 129' HUP

"$python" -m asv machine --yes --machine "$machine" >/dev/null
samples=(--record-samples)
[ ${#quick[@]} -eq 0 ] || samples=()
# setsid: asv in its own process group, so an interrupt can end it and its benchmark processes together.
TMPDIR="$tmp/asv-tmp" setsid "$python" -m asv run --config "$conf" -E "checkout:$python" --machine "$machine" --show-stderr \
  ${samples[@]+"${samples[@]}"} ${quick[@]+"${quick[@]}"} "HASHFILE:$tmp/commits" "$@" > >(tee "$tmp/log") 2>&1 &
asv_pid=$!
status=0
wait "$asv_pid" || status=$?
asv_pid=
"$python" -m fusion_kernels asv-summary "$tmp/log" || true
exit "$status"
