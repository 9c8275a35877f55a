"""The strategy model: what a strategy is (`Strategy`, declared once) and what it builds (`Call`).

A workload module declares its strategies with `declare(Strategy(...), ...)`;
measure, report, roofline, auto, the asv suite and the tests' markers read those
declarations and nothing else. See docs/strategies.md, "Adding a strategy".
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Callable

from ..gpu import backend


class Need(enum.Enum):
    """What a strategy needs beyond the CPU; its value is the pytest marker of the same name."""

    GPU = "gpu"  # CuPy on a CUDA device
    NVMATH = "nvmath"
    CALLBACKS = "callbacks"  # nvmath-python with numba-cuda (FFT callbacks)
    DX = "dx"  # nvmath.device (cuFFTDx)
    TORCH = "torch"

    def reason(self) -> str | None:
        """Why this need is not met here, or None: a missing piece, else an nvmath-python release
        older than the need's (`releases.NEEDS`)."""
        # Looked up at call time: tests replace backend's functions.
        return {Need.GPU: backend.gpu_reason, Need.NVMATH: backend.nvmath_reason,
                Need.CALLBACKS: backend.callbacks_reason, Need.DX: backend.dx_reason,
                Need.TORCH: backend.torch_reason}[self]() or backend.release_reason(self.value)


def _refuse(name):
    raise RuntimeError(f"{name} is closed")


class Call:
    """A strategy bound to its inputs: call it to run once; `close()` frees what it holds.

    Subclasses give `_run` (one call) and `_release` (free, run once). `close()` is
    idempotent, a call after it raises RuntimeError, and the object is a context manager.
    """

    closed = False

    def __call__(self):
        return self._run()

    def _run(self):
        raise NotImplementedError

    def _release(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # No check on the call path: the instance's _run is swapped for one that refuses.
        self._run = functools.partial(_refuse, type(self).__name__)
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Bound(Call):
    """`fn(*args)` on every call."""

    def __init__(self, fn, *args):
        self._fn = fn
        self._args = args
        self._run = functools.partial(fn, *args)  # a C-level call: no Python frame more than fn's

    def _release(self) -> None:
        self._args = ()


class Planned(Call):
    """An nvmath stateful object (`_mm`, with execute() and free()) and what planning it chose."""

    def __init__(self, mm, tuning_done):
        self._mm, self.tuning = mm, tuning_done

    def _run(self):
        return self._mm.execute()

    def _release(self) -> None:
        self._mm.free()
        self._mm = None


def _check(name: str, value, ok: bool, expected: str) -> None:
    if not ok:
        raise TypeError(f"Strategy {name}: expected {expected}, got {value!r}")


def _passes_ok(passes) -> bool:
    def count(x):
        return isinstance(x, int) and not isinstance(x, bool) and x > 0

    return count(passes) or (isinstance(passes, tuple) and bool(passes) and all(count(x) for x in passes))


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One strategy of one workload, declared once with all that the suite asks of it.

    Calling it calls `factory`: `STRATEGIES[name](*inputs)` is a `Call`.
    """

    name: str  # the name users type (--strategy, asv params)
    factory: Callable  # (*inputs) -> Call
    _: dataclasses.KW_ONLY
    needs: Need
    passes: int | tuple  # passes over memory in its workload's byte model (roofline): an int, or a tuple of ints
    in_report: bool = True  # a default `fusion-kernels report` runs it (False: slow to build; run when named)
    auto_candidate: bool = False  # matmul `auto` may pick it
    epilogue: bool = False  # its result is the workload's cuBLASLt epilogue's (tolerances.verdict)

    def __post_init__(self):
        _check("name", self.name, isinstance(self.name, str) and self.name.isidentifier(), "an identifier (str)")
        _check(f"{self.name}.factory", self.factory, callable(self.factory), "a callable")
        _check(f"{self.name}.needs", self.needs, isinstance(self.needs, Need), "a strategy.Need")
        _check(f"{self.name}.passes", self.passes, _passes_ok(self.passes),
               "a positive int or a tuple of positive ints")
        for flag in ("in_report", "auto_candidate", "epilogue"):
            value = getattr(self, flag)
            _check(f"{self.name}.{flag}", value, isinstance(value, bool), "True or False")

    def __call__(self, *args, **kwargs):
        return self.factory(*args, **kwargs)


def declare(*strategies: Strategy) -> dict:
    """{name: Strategy} in the order given (the report's and asv's order); names must be unique."""
    out = {}
    for s in strategies:
        if not isinstance(s, Strategy):
            raise TypeError(f"declare: expected Strategy objects, got {type(s).__name__} {s!r}")
        if s.name in out:
            raise ValueError(f"declare: strategy {s.name!r} is declared twice")
        out[s.name] = s
    return out
