#!/usr/bin/env bash
# asv across commits on a GPU machine with CuPy/nvmath-python already installed
# and no internet: nothing is downloaded. Each commit is checked out into a
# temporary worktree and put first on the benchmarks' import path; asv runs in
# the "existing" environment (this Python) and saves results under the commit.
#
#   bash scripts/asv-offline.sh [--machine NAME] [--python PY] REVS [-- ASV_RUN_ARGS...]
#   REVS: a range (HEAD~3..HEAD) or commits separated by spaces
#   e.g. bash scripts/asv-offline.sh HEAD~2^..HEAD -- --bench MatmulBiasReLU
#
# The machine is named after the GPU ("h100-80gb-hbm3") unless --machine is given.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(command -v python3)
machine=
revs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --machine) machine=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --) shift; break ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || { echo "usage: $0 [--machine NAME] [--python PY] REVS [-- ASV_RUN_ARGS]" >&2; exit 2; }
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
trap 'git worktree prune; rm -rf "$tmp"' EXIT
for sha in "${commits[@]}"; do
  wt="$tmp/$sha"
  git worktree add --detach -f "$wt" "$sha" >/dev/null
  echo "== $(git log -1 --format='%h %s' "$sha")"
  ASV_PYTHONPATH="$wt/src${PYTHONPATH:+:$PYTHONPATH}" \
    "$python" -m asv run --environment "existing:$python" --set-commit-hash "$sha" --machine "$machine" "$@"
  git worktree remove --force "$wt"
done
