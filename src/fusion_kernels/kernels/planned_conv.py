"""A complex FFT convolution planned once, the filter multiply fused as a cuFFT callback.

``ifftn(fftn(a, axes) * filter, axes)``: the forward and inverse nvmath-python
FFTs are planned once; the multiply (and the 1/size normalization cuFFT leaves
out) runs either as the forward FFT's epilog (store callback) or as the inverse
FFT's prolog (load callback). A filter with fewer dimensions than `a` (the
transformed ones only) is shared by every transform of the batch and read at
``offset % size``. Callers validate shapes and dtypes first (see `checks`).
"""

from __future__ import annotations

import math

from ..gpu import backend
from ..suite import checks
from . import fft_callbacks
from ..suite.strategy import Call


class PlannedConv(Call):
    """Call to execute; each call returns a new array. Use as a context manager or call `close()`.

    kind="epilog": forward FFT with the multiply as its epilog, inverse FFT in place.
    kind="prolog": plain forward FFT, inverse FFT (out of place) with the multiply as its prolog.
    The callback reads `filter` through a raw pointer, so the object keeps a reference to it.
    """

    def __init__(self, a, filter, *, axes, kind: str = "epilog"):
        if kind not in fft_callbacks.KINDS:
            raise ValueError(f"kind must be one of {fft_callbacks.KINDS}, got {kind!r}")
        checks.on_gpu(a=a, filter=filter)
        backend.require_callbacks()
        self.kind, self.axes = kind, [int(x) for x in axes]
        self.dtype, self.filter_dtype = a.dtype, filter.dtype  # the spectrum (and callbacks) have the filter's dtype
        self.shape, self.filter_shape = tuple(a.shape), tuple(filter.shape)
        self.size = math.prod(a.shape[x] for x in self.axes)
        self._fwd = self._inv = self._filter = None
        try:
            if kind == "epilog":
                self._fwd = self._with_filter(lambda: self._make_forward(a), filter)
                self._inv = self._make_inverse()
                self._inv.plan()
            else:
                self._fwd = self._make_forward(a)
                self._fwd.plan()
                self._inv = self._with_filter(self._make_inverse, filter)
        except Exception:
            self.close()
            raise

    def _inverse_options(self) -> dict:
        # The epilog form owns the spectrum it transforms back: in place. The prolog
        # form's inverse reads the spectrum and the filter and writes a new array.
        return {"inplace": True} if self.kind == "epilog" else {}

    @property
    def shared(self) -> bool:
        return len(self.filter_shape) < len(self.shape)

    def _make_forward(self, signals):
        return backend.nvmath().fft.FFT(signals, axes=self.axes)

    def _make_inverse(self):
        """The inverse FFT, planned on an array with the forward FFT's output layout."""
        cp = backend.cupy()
        shape, strides = self._fwd.get_output_layout()
        item = self.filter_dtype.itemsize
        like = cp.ndarray(shape, dtype=self.filter_dtype, strides=[s * item for s in strides])
        return backend.nvmath().fft.FFT(like, axes=self.axes, options=self._inverse_options())

    def _with_filter(self, make_fft, filter):
        """A new FFT planned with the callback reading `filter`; on failure nothing changes."""
        fft = make_fft()
        try:
            if self.kind == "epilog":
                layout, what = fft.get_output_layout(), "forward FFT's output"
            else:
                layout, what = fft.get_input_layout(), "inverse FFT's input"
            if self.shared:
                if not filter.flags.c_contiguous:
                    raise ValueError(f"a shared filter must be C-contiguous, got strides {filter.strides}")
                period = fft_callbacks.check_shared_layout(layout, what, len(self.axes))
            else:
                fft_callbacks.check_filter_layout(filter, layout, what)
                period = None
            ltoir = fft_callbacks.ltoir_for(self.kind, self.filter_dtype, self.size, period)
            fft_callbacks.plan_with(fft, f"filter-multiply {self.kind} on the {what}",
                                    **{self.kind: {"ltoir": ltoir, "data": filter.data.ptr}})
        except Exception:
            fft.free()
            raise
        self._filter = filter
        return fft

    def _run(self):
        spectrum = self._fwd.execute()
        # Same shape, dtype and layout as planned by construction: skip the checks.
        self._inv.reset_operand_unchecked(spectrum)
        return self._inv.execute(direction="inverse")

    def reset_operands(self, a=None, filter=None) -> None:
        """New signals (no re-plan) or a new filter (re-plans the FFT that holds the callback)."""
        for name, x, shape, dtype in (("a", a, self.shape, self.dtype), ("filter", filter, self.filter_shape,
                                                                               self.filter_dtype)):
            if x is None:
                continue
            checks.array(name, x, len(shape), (dtype.name,))
            if tuple(x.shape) != shape:
                raise ValueError(f"{name} must have the planned shape {shape}, got {tuple(x.shape)}")
            checks.on_gpu(**{name: x})
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        if a is not None and (filter is None or self.kind == "prolog"):
            self._fwd.reset_operand(a)
        if filter is None:
            return
        if self.kind == "epilog":
            signals = a if a is not None else self._fwd.operand.tensor
            new = self._with_filter(lambda: self._make_forward(signals), filter)
            self._fwd.free()
            self._fwd = new
        else:
            new = self._with_filter(self._make_inverse, filter)
            self._inv.free()
            self._inv = new

    def _release(self) -> None:
        for fft in (self._fwd, self._inv):
            if fft is not None:
                fft.free()
        self._fwd = self._inv = self._filter = None
