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


class Planned:
    """An nvmath stateful object (`_mm`, with execute() and free()) and what planning it chose.

    `_execute()` runs it; `close()` frees it (idempotent); calling after close raises.
    """

    def __init__(self, mm, tuning_done):
        self._mm, self.tuning = mm, tuning_done

    def _execute(self):
        if self._mm is None:
            raise RuntimeError(f"{type(self).__name__} is closed")
        return self._mm.execute()

    def close(self) -> None:
        if self._mm is not None:
            self._mm.free()
            self._mm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
