# Sourced by scripts/gpu-ci.sh and scripts/asv-offline.sh: wheels installed into a private folder, for GPU
# machines without internet (one nvmath-python release per folder: docs/asv.md, "Across library releases").
#
#   check_wheel_dirs PREFIX DIR...      exit 2, saying which, unless every DIR holds a wheel
#   install_wheels PREFIX PYTHON SITE DIR...
#       every *.whl of each DIR into SITE (which the caller made with mktemp -d and removes) with PYTHON's
#       pip: no index, no dependencies. Then NVIDIA libraries under SITE are put on LD_LIBRARY_PATH; the
#       caller puts SITE on PYTHONPATH. Returns 1 if pip fails (pip says why).

check_wheel_dirs() {
  local prefix=$1 dir
  shift
  for dir in "$@"; do
    compgen -G "$dir/*.whl" >/dev/null || { echo "$prefix: no wheels in $dir (expected *.whl files)" >&2; exit 2; }
  done
}

install_wheels() {
  local prefix=$1 python=$2 site=$3 dir
  shift 3
  local wheels=()
  for dir in "$@"; do
    wheels+=("$dir"/*.whl)
  done
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "${wheels[@]}" || {
    echo "$prefix: installing the wheels of $* into $site failed (above)" >&2
    return 1
  }
  # libmathdx (the dx extra) lands under the --target folder, where nvmath's library finder
  # does not look; the dynamic loader does, through LD_LIBRARY_PATH.
  if [ -d "$site/nvidia/cu13/lib" ]; then
    export LD_LIBRARY_PATH="$site/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
}
