"""Replaying a planned call from a CUDA graph: no Python, no planning, ~2 us of host time a call."""

from __future__ import annotations

from . import backend
from ..suite.strategy import Call


class CapturedCall:
    """`fn` captured once into a CUDA graph; calling the object replays it on the current stream.

    The replay writes into the buffers the captured call allocated: every call
    returns the SAME output array, overwritten. Copy it if you need to keep a
    result across calls. The graph reads its inputs through the pointers it was
    captured with: to feed new data, write into the same input arrays.

    Everything allocated during the capture (outputs, and intermediates the
    captured code drops, such as the spectrum between two FFTs) comes from a
    memory pool this object owns and frees only on close(): the graph keeps
    using those addresses after Python has let go of the arrays.
    """

    def __init__(self, fn):
        cp = backend.cupy()
        fn()  # eager first: planning, workspaces and lazy initialisation stay out of the graph
        cp.cuda.Device().synchronize()
        self._stream = cp.cuda.Stream(non_blocking=True)
        self._pool = cp.cuda.MemoryPool()
        mode = getattr(cp.cuda.runtime, "streamCaptureModeRelaxed", None)
        with self._stream, cp.cuda.using_allocator(self._pool.malloc):
            self._stream.begin_capture(mode) if mode is not None else self._stream.begin_capture()
            try:
                self.output = fn()
            finally:
                self._graph = self._stream.end_capture()
        # One more eager call: libraries that remember their last event (nvmath's free() waits on it)
        # must not hold an event recorded inside the capture.
        fn()
        cp.cuda.Device().synchronize()

    def __call__(self):
        if self._graph is None:
            raise RuntimeError("the captured call is closed")
        self._graph.launch(stream=backend.cupy().cuda.get_current_stream())
        return self.output

    def close(self) -> None:
        if self._graph is not None:
            backend.cupy().cuda.Device().synchronize()
            self._graph = None
            self.output = None
            self._pool.free_all_blocks()


class Replayed(Call):
    """A planned strategy object (a `Call`) whose call is replayed from a CUDA graph.

    Same ownership rules as `CapturedCall`. Closing closes the planned object too.
    """

    def __init__(self, planned):
        self._planned = planned
        try:
            self._captured = CapturedCall(planned)
        except Exception:
            planned.close()
            raise
        self._run = self._captured  # calls go straight to the replay

    def _release(self) -> None:
        self._captured.close()
        self._planned.close()
