"""The timers against a kernel of known length: a single thread spinning on the SM clock.

The spin lasts at least `cycles / max SM clock`; a timer that missed the GPU
work (no synchronisation) would read a few microseconds instead.
"""

import pytest

from fusion_kernels import timing

pytestmark = pytest.mark.gpu

SPIN = r'''extern "C" __global__ void spin(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {}
}'''


@pytest.fixture
def spin(cp):
    """(launch, least_seconds): launch() queues one spin of `least_seconds` or more."""
    kernel = cp.RawKernel(SPIN, "spin")
    max_hz = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["clockRate"] * 1e3
    cycles = int(200e-6 * max_hz)

    def launch():
        kernel((1,), (1,), (cp.int64(cycles),))

    return launch, cycles / max_hz


def test_call_and_event_times_include_the_gpu_work(spin):
    launch, least = spin
    for times in (timing.call_times(launch, repeat=10), timing.event_times(launch, repeat=10)):
        assert least <= timing.median(times) < 3 * least


def test_same_call_wall_exceeds_events_by_a_small_fixed_cost(spin):
    launch, least = spin
    walls, events = timing.wall_and_event_times(launch, repeat=20)
    assert all(w >= e >= least for w, e in zip(walls, events))
    assert timing.median([w - e for w, e in zip(walls, events)]) < 100e-6


def test_device_times_are_per_call(spin):
    launch, least = spin
    per_call = timing.median(timing.device_times(launch, batch=10, samples=3))
    assert least <= per_call < 2 * least


def test_host_time_excludes_the_gpu_work(spin):
    launch, least = spin
    assert timing.median(timing.host_times(launch, repeat=10)) < least
