"""A strategy bound to its inputs: what benchmarks, the report and tests run."""

from __future__ import annotations


class Bound:
    """`call()` runs the strategy once on the bound inputs; `close()` frees what it planned."""

    def __init__(self, fn, *args):
        self._fn = fn
        self._args = args

    def __call__(self):
        return self._fn(*self._args)

    def close(self) -> None:
        self._args = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
