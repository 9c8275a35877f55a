#!/usr/bin/env bash
# `asv publish` (extra arguments go to it, e.g. --html-dir DIR), then make the
# site load its JavaScript/CSS libraries from DIR/vendor/ instead of CDNs, so it
# also works with no internet (`fusion-kernels site vendor`), and give it what it needs
# to read without a manual (`fusion-kernels site guide`: memory summaries that are not
# flat at 0, a start-here note on the grid, a hint on error.html; docs/site.md).
# The libraries are fetched once with npm into .asv/vendor-cache/ (git-ignored;
# $FUSION_KERNELS_VENDOR_CACHE overrides it); copy that folder to publish on a
# machine without the npm registry. A library file that does not match its
# pinned hash stops the publish (non-zero exit).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"  # the package, installed or not
python -m asv publish "$@"
case " $* " in *" -h "*|*" --help "*) exit 0 ;; esac  # asv only printed its help
python -m fusion_kernels site vendor "$@"
python -m fusion_kernels site guide "$@"
