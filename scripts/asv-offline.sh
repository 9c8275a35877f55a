#!/usr/bin/env bash
# asv across commits on a GPU machine with CuPy/nvmath-python already installed
# and no internet: nothing is downloaded. Each commit is checked out into a
# temporary worktree and put first on the benchmarks' import path; asv runs in
# the "existing" environment (this Python) and saves results under the commit.
#
#   bash scripts/asv-offline.sh [--machine NAME] [--python PY] [--quick] REVS [-- ASV_RUN_ARGS...]
#   REVS: a range (HEAD~3..HEAD) or commits separated by spaces
#   e.g. bash scripts/asv-offline.sh HEAD~2^..HEAD -- --bench MatmulBiasReLU
#
# --quick: a smoke test that every benchmark runs (asv --quick, nothing saved): each
# workload at its first shape and first dtype with few repeats (FUSION_KERNELS_QUICK=1,
# see benchmarks/common.py); other parameters skip, saying so.
#
# The machine is named after the GPU ("h100-80gb-hbm3") unless --machine is given.
# Interrupted (Ctrl-C), it keeps the results of every commit that finished (asv
# saves a commit's results when the commit is done) and removes a result file
# that was being written and does not parse, so nothing is left half-written.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(command -v python3)
machine=
revs=()
quick=()
while [ $# -gt 0 ]; do
  case "$1" in
    --machine) machine=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --quick) quick=(--quick --dry-run); export FUSION_KERNELS_QUICK=1; shift ;;
    --) shift; break ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || { echo "usage: $0 [--machine NAME] [--python PY] [--quick] REVS [-- ASV_RUN_ARGS]" >&2; exit 2; }
if [ -z "$machine" ]; then
  machine=$(PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" "$python" -c \
    'from fusion_kernels import backend; print(backend.machine_name())')
fi
"$python" -m asv machine --yes --machine "$machine" >/dev/null

commits=()
for r in "${revs[@]}"; do
  if [[ "$r" == *..* ]]; then
    mapfile -t more < <(git rev-list --reverse "$r"); commits+=("${more[@]}")
  else
    commits+=("$(git rev-parse --verify "$r^{commit}")")
  fi
done

tmp=$(mktemp -d)
# asv resolves the configured branches even when told the commit; a CI checkout
# (detached HEAD, no local main) has none, so point a private copy of the config at HEAD.
conf=asv.conf.json
if ! "$python" -c 'import json5, subprocess, sys
branches = json5.load(open("asv.conf.json")).get("branches", ["main"])
sys.exit(any(subprocess.run(["git", "rev-parse", "-q", "--verify", b + "^{commit}"], capture_output=True).returncode for b in branches))'; then
  conf=$(mktemp -p . .asv-offline-XXXXXX.json)
  "$python" -c 'import json, json5, sys
c = json5.load(open("asv.conf.json")); c["branches"] = ["HEAD"]; json.dump(c, open(sys.argv[1], "w"), indent=4)' "$conf"
  echo "asv-offline: a configured branch is missing here; benchmarking against HEAD's history" >&2
fi
results_dir=$("$python" -c 'import json5, sys; print(json5.load(open("asv.conf.json")).get("results_dir", ".asv/results"))' 2>/dev/null || echo asv/results)
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
trap 'git worktree prune; rm -rf "$tmp"; [ "$conf" = asv.conf.json ] || rm -f "$conf"' EXIT
trap 'echo "asv-offline: interrupted; results of finished commits are kept" >&2; drop_half_written; exit 130' INT TERM
for sha in "${commits[@]}"; do
  wt="$tmp/$sha"
  git worktree add --detach -f "$wt" "$sha" >/dev/null
  echo "== $(git log -1 --format='%h %s' "$sha")"
  ASV_PYTHONPATH="$wt/src${PYTHONPATH:+:$PYTHONPATH}" \
    "$python" -m asv run --config "$conf" --environment "existing:$python" --set-commit-hash "$sha" --machine "$machine" ${quick[@]+"${quick[@]}"} "$@"
  git worktree remove --force "$wt"
done
