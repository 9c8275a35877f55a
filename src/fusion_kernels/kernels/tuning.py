"""Planning nvmath `Matmul`s, with autotuned algorithms remembered on disk across processes.

`autotune` is False (cuBLASLt's heuristic first choice), True (measure every
algorithm the heuristic offers, keep the fastest, and remember it), or
"cached" (plan with the remembered algorithm if this device, these library
versions, shape, dtype and epilogue have one; otherwise autotune and remember).
The key holds everything a remembered algorithm depends on; a stale or corrupt
entry is ignored with a warning, never trusted.
"""

from __future__ import annotations

import numpy as np

from ..gpu import backend, cache, releases

KIND = "matmul_algorithms"
AUTOTUNE_MODES = (False, True, "cached")


def algorithm_key(device: str, versions: dict, shape, dtype, epilog: str | None, inplace: bool = False) -> str:
    return cache.make_key(device=device, versions=versions, shape=list(shape), dtype=np.dtype(dtype).name,
                          epilog=epilog or "NONE", inplace=bool(inplace))


def _check_algorithm(text) -> None:
    if not isinstance(text, str):
        raise TypeError(f"expected base64 text, got {type(text).__name__}")
    cache.decode_array(text)  # bad base64, not a .npy, an object dtype, a size the bytes do not hold


cache.register(KIND, _check_algorithm, "tuned-algorithm entry")


def remembered(key: str) -> np.ndarray | None:
    """The algorithm stored under `key` (Algorithm.as_numpy() form), or None (a corrupt one with a warning)."""
    text = cache.get(KIND, key)
    return None if text is None else cache.decode_array(text)


def remember(key: str, algorithm: np.ndarray) -> bool:
    return cache.store(KIND, key, cache.encode_array(algorithm))


def check_mode(autotune) -> None:
    if not any(autotune is m or (isinstance(m, str) and autotune == m) for m in AUTOTUNE_MODES):
        raise ValueError(f"autotune must be False, True or 'cached', got {autotune!r}")


def planned_matmul(a, b, *, epilog: str | None = None, epilog_inputs=None, out=None, autotune=False):
    """An nvmath `Matmul` of a @ b planned with `epilog` (a MatmulEpilog name) and tuned as `autotune` says.

    With `out` (an F-contiguous (m, n) array of the operands' dtype) the product
    is written into it (inplace, beta = 0: C is not read). Returns (mm, how),
    how in {"heuristic", "autotuned", "from_cache"}. The caller frees `mm`.
    """
    check_mode(autotune)
    nvmath = backend.nvmath()
    adv = nvmath.linalg.advanced
    if out is None:
        mm = adv.Matmul(a, b)
    else:
        mm = adv.Matmul(a, b, c=out, beta=0.0, options={"inplace": True})
    try:
        kwargs = {"epilog": adv.MatmulEpilog[epilog] if epilog else None, "epilog_inputs": epilog_inputs}
        if not autotune:
            mm.plan(**kwargs)
            return mm, "heuristic"
        key = algorithm_key(backend.device_name(), backend.versions(), (a.shape[0], a.shape[1], b.shape[1]),
                            a.dtype, epilog, inplace=out is not None)
        saved = remembered(key) if autotune == "cached" else None
        if saved is not None:
            mm.plan(algorithms=[releases.algorithm_from_numpy(adv, saved)], **kwargs)
            return mm, "from_cache"
        mm.plan(**kwargs)
        mm.autotune(iterations=5)
        remember(key, releases.algorithm_as_numpy(mm.algorithms[0]))
        return mm, "autotuned"
    except Exception:
        mm.free()
        raise
