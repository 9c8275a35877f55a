"""Input validation shared by the public functions: it runs before any GPU work.

Checks read only `.shape`, `.ndim`, `.dtype` and the array's type, so they run
(and are tested) on machines without CuPy.
"""

from __future__ import annotations

import numpy as np

MATMUL_DTYPES = ("float16", "float32", "float64")
FFT_DTYPES = ("complex64", "complex128")


def parse_shape(text: str, option: str = "--shape", ranks: tuple[int, ...] = (2, 3)) -> tuple[int, ...]:
    """The one parser of shapes given as text: '2000x1000x4000' -> (2000, 1000, 4000), with one of
    `ranks` positive sizes; a ValueError names `option`, what it expects and what it got."""
    examples = " or ".join({1: "4096", 2: "256x1024", 3: "2000x1000x4000"}.get(r, "x".join(["8"] * r)) for r in ranks)
    try:
        shape = tuple(int(x) for x in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"{option} must look like {examples}, got {text!r}") from None
    if len(shape) not in ranks or min(shape) <= 0:
        sizes = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{option} must have {sizes} positive sizes joined by 'x' (e.g. {examples}), got {text!r}")
    return shape


class Unsupported(ValueError):
    """Valid input that a strategy does not handle (e.g. an FFT size out of its range): measured cases skip it."""


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "ndim")


def array(name: str, x, ndim: int, dtypes: tuple[str, ...]):
    """Check that `x` is an array of rank `ndim`, no empty dimension, dtype in `dtypes`."""
    if not _is_array(x):
        raise TypeError(f"{name} must be an array (numpy.ndarray or cupy.ndarray), got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {x.ndim}-D with shape {tuple(x.shape)}")
    if 0 in x.shape:
        raise ValueError(f"{name} has an empty dimension: shape {tuple(x.shape)}")
    if np.dtype(x.dtype).name not in dtypes:
        raise TypeError(f"{name} has unsupported dtype {x.dtype}; expected one of {', '.join(dtypes)}")


def same_dtype(**arrays) -> np.dtype:
    """All arrays share one dtype; name the first one that differs."""
    items = list(arrays.items())
    first_name, first = items[0]
    for name, x in items[1:]:
        if x.dtype != first.dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but {first_name} has dtype {first.dtype}; mixed dtypes are not supported"
            )
    return np.dtype(first.dtype)


def on_gpu(**arrays) -> None:
    """Each array given (None: an operand not used) is a cupy.ndarray: we never copy host data silently into a timed call."""
    for name, x in arrays.items():
        if x is None:
            continue
        module = type(x).__module__.split(".")[0]
        if module != "cupy":
            raise TypeError(
                f"{name} must be a cupy.ndarray on the GPU, got {type(x).__module__}.{type(x).__name__}; "
                f"move it with cupy.asarray({name}) first"
            )


def matmul_ab(a, b) -> tuple[int, int, int]:
    """Shapes and dtypes of a @ b; returns (m, k, n)."""
    array("a", a, 2, MATMUL_DTYPES)
    array("b", b, 2, MATMUL_DTYPES)
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: a has shape {tuple(a.shape)}, b has shape {tuple(b.shape)} (a.shape[1] != b.shape[0])")
    same_dtype(a=a, b=b)
    return m, k, n


def matmul_operands(a, b, bias) -> tuple[int, int, int]:
    """Shapes and dtypes of ReLU(a @ b + bias[:, None]); returns (m, k, n)."""
    m, k, n = matmul_ab(a, b)
    array("bias", bias, 1, MATMUL_DTYPES)
    if bias.shape[0] != m:
        raise ValueError(f"bias must have length m = a.shape[0] = {m} (one value per row), got shape {tuple(bias.shape)}")
    same_dtype(a=a, bias=bias)
    return m, k, n


def fft_operands(a, filter) -> tuple[int, int]:
    """Shapes and dtypes of ifft(fft(a) * filter); returns (batch, n)."""
    array("a", a, 2, FFT_DTYPES)
    array("filter", filter, 2, FFT_DTYPES)
    if tuple(filter.shape) != tuple(a.shape):
        raise ValueError(f"filter must have the shape of a {tuple(a.shape)}, got {tuple(filter.shape)}")
    same_dtype(a=a, filter=filter)
    return tuple(a.shape)


def c_contiguous(name: str, x) -> None:
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (the callback indexes it by the output's flat offset), got strides {x.strides}")


def power_of_two(name: str, value: int, low: int, high: int) -> None:
    """`value` is a power of two in [low, high]; Unsupported (a ValueError) otherwise."""
    if not (low <= value <= high and value & (value - 1) == 0):
        raise Unsupported(f"{name} must be a power of two in [{low}, {high}], got {value}")


def output(name: str, out, shape: tuple, dtype) -> None:
    """`out` is a C-contiguous array of the result's shape and dtype."""
    array(name, out, len(shape), (np.dtype(dtype).name,))
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{name} must have the result's shape {tuple(shape)}, got {tuple(out.shape)}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous, got strides {out.strides}")


REAL_FFT_DTYPES = ("float32", "float64")


def fft_shared_operands(a, filter) -> tuple[int, int]:
    """ifft(fft(a) * filter[None, :]) with one filter of length n for every signal; returns (batch, n)."""
    array("a", a, 2, FFT_DTYPES)
    array("filter", filter, 1, FFT_DTYPES)
    if filter.shape[0] != a.shape[1]:
        raise ValueError(f"filter must have length n = a.shape[1] = {a.shape[1]} (shared by every signal), "
                         f"got shape {tuple(filter.shape)}")
    same_dtype(a=a, filter=filter)
    return tuple(a.shape)


def rfft_operands(a, filter) -> tuple[int, int]:
    """irfft(rfft(a) * filter, n): a real (batch, n), filter complex (batch, n // 2 + 1); returns (batch, n)."""
    array("a", a, 2, REAL_FFT_DTYPES)
    array("filter", filter, 2, FFT_DTYPES)
    batch, n = a.shape
    if tuple(filter.shape) != (batch, n // 2 + 1):
        raise ValueError(f"filter must have shape (batch, n // 2 + 1) = {(batch, n // 2 + 1)} for a of shape "
                         f"{tuple(a.shape)}, got {tuple(filter.shape)}")
    want = np.result_type(a.dtype, np.complex64)
    if np.dtype(filter.dtype) != want:
        raise TypeError(f"filter has dtype {filter.dtype} but a has dtype {a.dtype}; the filter must be {want}")
    return tuple(a.shape)


def fft2_operands(a, filter) -> tuple[int, int, int]:
    """ifft2(fft2(a) * filter) over the last two axes: a (batch, h, w), filter (batch, h, w) or shared (h, w)."""
    array("a", a, 3, FFT_DTYPES)
    if not _is_array(filter) or filter.ndim not in (2, 3):
        array("filter", filter, 3, FFT_DTYPES)  # raises the rank or type error
    array("filter", filter, filter.ndim, FFT_DTYPES)
    if tuple(filter.shape) != tuple(a.shape)[-filter.ndim:]:
        raise ValueError(f"filter must have the shape of a {tuple(a.shape)} or of one image {tuple(a.shape[1:])}, "
                         f"got {tuple(filter.shape)}")
    same_dtype(a=a, filter=filter)
    return tuple(a.shape)
