"""Plant a ~10% slowdown into fftconv.unfused, to check that asv flags regressions.

Run it in a throwaway branch, never on main:
  git checkout -b planted && python scripts/plant_slowdown.py && git commit -qam planted
  bash scripts/asv-offline.sh HEAD -- --bench 'FFTConv\\.track_(device|call)_seconds'
  python -m asv compare --factor 1.05 --split --only-changed main planted
It adds a one-thread spin kernel lasting 10% of the call, sized from the third call of each shape.
"""
p = "src/fusion_kernels/fftconv.py"
s = open(p).read()
s = s.replace('''    cp = backend.cupy()
    return cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)
''', '''    cp = backend.cupy()
    key = (a.shape, a.dtype.str)
    if _PLANT.get(key, (0, 0))[1] < 3:
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        out = cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)
        end.record()
        end.synchronize()
        khz = cp.cuda.Device().attributes["ClockRate"]
        _PLANT[key] = (int(cp.cuda.get_elapsed_time(start, end) * khz * 0.10), _PLANT.get(key, (0, 0))[1] + 1)
        return out
    out = cp.fft.ifft(cp.fft.fft(a, axis=-1) * filter, axis=-1)
    _spin()((1,), (1,), (cp.int64(_PLANT[key][0]),))
    return out


_PLANT = {}


@functools.cache
def _spin():
    cp = backend.cupy()
    return cp.RawKernel(r"""extern "C" __global__ void spin(long long n) {
        long long t = clock64(); while (clock64() - t < n) {} }""", "spin")
''')
open(p, "w").write(s)
