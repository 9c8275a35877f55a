"""What differs between the nvmath-python releases the package runs on, in one place.

One commit of ours can be measured against several nvmath-python releases (docs/asv.md,
"Across library releases"; the differences: docs/strategies.md, "Across nvmath-python releases").
Where an older release lacks an API and a small shim carries it, the shim is here and decides by
what the object has. Where no shim can, `NEEDS` names the oldest release a piece needs, and
`reason` says so: `strategy.Need.reason()` and `backend.distributed_reason()` ask it, so what
needs the piece skips with that reason instead of crashing.

Imports no GPU library: callers pass nvmath's modules and objects.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

# piece -> (the oldest nvmath-python release that has what it needs, what that is). A piece is a
# `strategy.Need` value or "distributed" (the multi-GPU workloads); tests/test_releases.py checks it.
NEEDS = {
    # 0.8 bootstraps nvmath.distributed from an MPI communicator only (and imports mpi4py); the
    # workloads join it through torch.distributed (TorchProcessGroup, from 0.9).
    "distributed": ((0, 9, 0), "nvmath.distributed joined through torch.distributed (TorchProcessGroup)"),
}


def parse(version) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release string; a pre-release or local build counts as its release
    ('0.9.0rc1', '1.0.0.dev3+g12ab' -> (0, 9, 0), (1, 0, 0)). None where there is no version ('missing')."""
    m = re.match(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(version or ""))
    return tuple(int(x or 0) for x in m.groups()) if m else None


def reason(piece: str, version) -> str | None:
    """Why `piece` cannot run on nvmath-python `version`, or None. None also for an unknown version:
    the backend's other reasons say when nvmath-python is missing."""
    if piece not in NEEDS:
        return None
    oldest, what = NEEDS[piece]
    found = parse(version)
    if found is None or found >= oldest:
        return None
    return f"needs nvmath-python >= {'.'.join(map(str, oldest))} ({what}); this is nvmath-python {version}"


# ---- shims: each works on every release from 0.8; the newest API first ----

def reset_operands_unchecked(mm, **operands) -> None:
    """`Matmul.reset_operands_unchecked` (from 0.9); on 0.8, which lacks it, the checked `reset_operands`:
    the same operands, with the validation's host time."""
    getattr(mm, "reset_operands_unchecked", mm.reset_operands)(**operands)


def algorithm_as_numpy(algorithm) -> np.ndarray:
    """A planned `Algorithm` as the record the tuning cache stores: `Algorithm.as_numpy()` (from 1.0);
    before, a copy of the record the cuBLASLt binding keeps (`MatmulHeuristicResult._data`), the same bytes."""
    if hasattr(algorithm, "as_numpy"):
        return algorithm.as_numpy()
    return np.array(algorithm.algorithm._data, copy=True)


def algorithm_from_numpy(advanced, record: np.ndarray):
    """The `Algorithm` of a stored record: `advanced.Algorithm.from_numpy` (from 1.0); before, built from the
    cuBLASLt binding's `MatmulHeuristicResult.from_data`, as 1.0 does. `advanced` is nvmath.linalg.advanced."""
    if hasattr(advanced.Algorithm, "from_numpy"):
        return advanced.Algorithm.from_numpy(record)
    import importlib  # only for releases before 1.0; nvmath is loaded by now (`advanced` is its module)

    cublaslt = importlib.import_module("nvmath.bindings.cublasLt")
    return advanced.Algorithm(cublaslt.MatmulHeuristicResult.from_data(np.copy(record)))


def workspace_bytes(mm) -> int:
    """The cuBLASLt workspace a planned `Matmul` needs: `workspace.size` (from 1.0), `workspace_size` before;
    0 where neither is set (not planned)."""
    workspace = getattr(mm, "workspace", None)
    size = getattr(workspace, "size", None) if workspace is not None else getattr(mm, "workspace_size", None)
    return int(size or 0)


def keep_slabs(fft_options) -> dict:
    """Options of a distributed FFT that leave its result on the other slab (no all-to-all back): the
    option is `redistribute` from 1.0, `reshape` in 0.9. `fft_options` is nvmath.distributed.fft.FFTOptions."""
    names = {f.name for f in dataclasses.fields(fft_options)}
    for name in ("redistribute", "reshape"):
        if name in names:
            return {name: False}
    raise RuntimeError(f"nvmath.distributed.fft.FFTOptions has neither 'redistribute' nor 'reshape' "
                       f"(its fields: {', '.join(sorted(names))}): a release this package does not know")
