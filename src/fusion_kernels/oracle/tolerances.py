"""Correctness tolerances, in one table, and the error measure they bound.

Relative Frobenius error ||x - ref|| / ||ref|| against the float64 oracle computed
from the same (already rounded) inputs. Measured worst cases on the H100 are in
docs/measurements.md; the table keeps a margin above them and is never loosened
to make a test pass.
"""

from __future__ import annotations

import numpy as np

# Worst measured on an H100 (5 seeds, test shapes and the seed size; docs/measurements.md):
# float16 3.4e-4, float32 5.7e-7, float64 1.1e-15, complex64 2.8e-7, complex128 5.3e-16.
RELATIVE_TOLERANCE = {
    "float16": 3e-3,
    "float32": 5e-6,
    "float64": 1e-12,
    "complex64": 3e-6,
    "complex128": 1e-12,
}


# cuBLASLt's float64 GELU epilogue is not accurate to float64 rounding: on the H100 its
# absolute error reached 1.7e-10 (relative 1.6e-10 at worst over the test shapes), so
# results of that kernel get their own bound. The unfused CuPy GELU meets the dtype's.
EPILOG_TOLERANCE = {
    ("GELU", "float64"): 2e-9,
    ("GELU_BIAS", "float64"): 2e-9,
}


def tolerance(dtype, epilog: str | None = None) -> float:
    """The bound for `dtype`; `epilog` names a cuBLASLt epilogue whose own accuracy is coarser."""
    name = np.dtype(dtype).name
    return EPILOG_TOLERANCE.get((epilog, name), RELATIVE_TOLERANCE[name])


def to_numpy(x) -> np.ndarray:
    if type(x).__module__.startswith("torch"):  # the PyTorch peers' results
        return x.detach().cpu().numpy()
    get = getattr(x, "get", None)  # cupy.ndarray -> host copy
    return np.asarray(get() if callable(get) and type(x).__module__.startswith("cupy") else x)


def relative_error(result, reference) -> float:
    """||result - reference||_F / ||reference||_F in float64; inf if either has NaN or shapes differ."""
    x = to_numpy(result)
    ref = to_numpy(reference)
    if x.shape != ref.shape:
        return float("inf")
    wide = np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(ref) else np.float64
    x = x.astype(wide)
    ref = ref.astype(wide)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(ref))):
        return float("inf")
    denom = np.linalg.norm(ref)
    num = np.linalg.norm(x - ref)
    return float(num / denom) if denom > 0 else float(num)


def verdict(error: float, dtype, epilog: str | None = None) -> bool:
    """THE correct/incorrect verdict: a relative error within the bound of `dtype` (and of the
    cuBLASLt `epilog` that computed the result). NaN or inf is never correct."""
    return bool(np.isfinite(error) and error <= tolerance(dtype, epilog))


def is_close(result, reference, dtype, epilog: str | None = None) -> bool:
    return verdict(relative_error(result, reference), dtype, epilog)
