#!/usr/bin/env bash
# asv's own path, as `asv run` takes it on a GPU machine with internet, checked on a
# CPU machine (CI runs this): asv makes a virtualenv, builds our wheel with
# asv.conf.json's build_command, installs it, discovers the suite and runs every
# benchmark once (--quick --dry-run, FUSION_KERNELS_QUICK=1, nothing saved). Without
# CuPy each parameter set skips with its reason. Exits non-zero if the build, the
# install, the discovery or a benchmark fails, or if the suite came out empty.
#
#   bash scripts/asv-online-check.sh [REV]     # REV defaults to HEAD; needs PyPI
#
# It runs a private copy of asv.conf.json that differs only where a CPU machine needs it:
#   install_command   {wheel_file} without the CUDA extra (no CuPy/nvmath to fetch)
#   branches          [REV] (a CI checkout may have no local main)
#   env_dir, results_dir, html_dir   in a temporary folder, removed at the end
# and with `-E virtualenv:X.Y` for the Python running this (not the config's 3.12).
# HOME is that temporary folder too: asv's machine file (~/.asv-machine.json), pip's
# and virtualenv's caches never touch the user's home.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
python=$(command -v python3)
ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# asv makes the virtualenv with the python$ver found on PATH; a missing or broken one
# (e.g. a pyenv shim of a version that is not active) ends asv 0.6.6 in a traceback.
if ! "python$ver" -c '' >/dev/null 2>&1; then
  echo "asv-online-check: python$ver (the version of $python) does not run from PATH; put it first on PATH" >&2
  exit 2
fi
tmp=$(mktemp -d)
# In the repository root: asv runs from the config's folder and reads pyproject.toml there.
conf=$(mktemp -p . .asv-online-XXXXXX.json)
trap 'rm -rf "$tmp" "$conf"' EXIT
sha=$(git rev-parse --verify "$rev^{commit}")
"$python" - "$tmp" "$conf" "$sha" <<'PY'
import json, json5, sys
tmp, conf, sha = sys.argv[1:]
c = json5.load(open("asv.conf.json"))
c.update(branches=[sha], install_command=["in-dir={env_dir} python -mpip install {wheel_file}"],
         env_dir=f"{tmp}/env", results_dir=f"{tmp}/results", html_dir=f"{tmp}/html")
json.dump(c, open(conf, "w"), indent=4)
PY
mkdir "$tmp/home"
export HOME="$tmp/home" FUSION_KERNELS_QUICK=1
unset PYTHONPATH ASV_PYTHONPATH  # the suite must import the installed wheel, not a source tree
"$python" -m asv machine --yes --machine ci >/dev/null
log="$tmp/asv.log"
rc=0
"$python" -m asv run --config "$conf" --machine ci -E "virtualenv:$ver" --quick --dry-run --show-stderr \
  "$sha^!" >"$log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  grep -v '^ ' "$log" | tail -n 40 >&2
  echo "asv-online-check: asv run failed (exit $rc); the lines above are the end of its log" >&2
  exit "$rc"
fi
grep -E '^·+ (Building|Installing|Running)' "$log" || true
# A suite that imported without fusion_kernels (benchmarks/common.py's safe_import) has
# empty parameter lists: the wheel installed but its package did not import.
"$python" - "$tmp/results/benchmarks.json" "$log" <<'PY'
import collections, json, re, sys
benchmarks = {k: v for k, v in json.load(open(sys.argv[1])).items() if k != "version"}
empty = [name for name, b in benchmarks.items() if any(len(axis) == 0 for axis in b.get("params", []))]
if not benchmarks or empty:
    sys.exit(f"asv-online-check: {len(benchmarks)} benchmarks, empty parameters in {empty[:3]}: "
             "fusion_kernels did not import from the installed wheel")
reasons = collections.Counter(re.match(r"\s*(?:\w+\(['\"]?)?([^(]*)", line.split("asv: skipped:", 1)[1]).group(1).strip()
                              for line in open(sys.argv[2]) if "asv: skipped:" in line)
print(f"asv-online-check: {len(benchmarks)} benchmarks discovered from the installed wheel, none failed; "
      f"skipped parameter sets by reason: {dict(reasons) or 'none'}")
PY
echo "asv-online-check: took ${SECONDS}s"
