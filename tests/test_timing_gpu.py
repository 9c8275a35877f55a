"""The timing engine against kernels of known length: a single thread spinning on the SM clock.

A spin lasts at least `cycles / max SM clock`; a timer that missed the GPU work
(no synchronisation) would read a few microseconds instead. A call that spends
far longer on the host than on the GPU shows what the blocking kernel is for:
its device time must be its GPU time, not the host's.
"""

import time

import pytest

from fusion_kernels.gpu import timing

pytestmark = pytest.mark.gpu

SPIN = r'''extern "C" __global__ void spin(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {}
}'''

QUICK = timing.Criterion(min_samples=10, max_seconds=0.2)


@pytest.fixture
def spinner(cp):
    """spinner(seconds) -> (launch, least): launch() queues one spin of `least` seconds or more."""
    kernel = cp.RawKernel(SPIN, "spin")
    max_hz = cp.cuda.Device().attributes["ClockRate"] * 1e3
    timing.warm_up(0.3)

    def make(seconds):
        cycles = int(seconds * max_hz)

        def launch():
            kernel((1,), (1,), (cp.int64(cycles),))

        return launch, cycles / max_hz

    return make


def busy_wait(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_call_and_event_times_include_the_gpu_work(spinner):
    launch, least = spinner(200e-6)
    assert least <= timing.median(timing.call_times(launch, criterion=QUICK)) < 3 * least
    walls, events = timing.wall_and_event_times(launch, repeat=20)
    assert all(w >= e >= least for w, e in zip(walls, events))
    assert timing.median([w - e for w, e in zip(walls, events)]) < 100e-6


def test_cold_and_warm_device_times_are_per_call(spinner):
    launch, least = spinner(200e-6)
    cold = timing.cold_device_times(launch, criterion=QUICK)
    warm = timing.warm_device_times(launch, criterion=QUICK, batch=10)
    assert cold.mode == warm.mode == "blocked" and warm.batch == 10
    assert least <= cold.median < 1.3 * least
    assert least <= warm.median < 1.3 * least


def test_device_time_keeps_the_host_out(spinner):
    """Two 20 us kernels with 500 us of host work before each: a loop of such calls is host-bound
    (what back-to-back events would have reported), but their device time is 40 us."""
    launch, least = spinner(20e-6)

    def host_bound():
        busy_wait(500e-6)
        launch()
        busy_wait(500e-6)
        launch()

    cold = timing.cold_device_times(host_bound, criterion=QUICK)
    warm = timing.warm_device_times(host_bound, criterion=QUICK)
    loop = timing.median(timing.loop_times(host_bound, batch=5, samples=3))
    assert 2 * least <= cold.median < 4 * least, cold.median
    assert 2 * least <= warm.median < 4 * least, warm.median
    assert loop > 1e-3  # the host's throughput: >= 1 ms per call


def test_a_call_that_waits_for_the_gpu_is_detected_and_timed_without_the_blocking_kernel(cp, spinner):
    launch, least = spinner(100e-6)

    def synchronizing():
        launch()
        cp.cuda.runtime.deviceSynchronize()

    assert timing.waits_for_gpu(synchronizing) and not timing.waits_for_gpu(launch)
    cold = timing.cold_device_times(synchronizing, criterion=QUICK)
    assert cold.mode == "synchronizing" and least <= cold.median < 3 * least


def test_the_clock_probe_reads_the_sm_clock(spinner):
    launch, least = spinner(500e-6)
    cold = timing.cold_device_times(launch, criterion=QUICK)  # leaves the probe's last window: >= 500 us of spin
    probe = timing._probe()
    hz = probe.clock_hz()
    assert hz is not None and 0.3 * probe.max_hz < hz < 1.1 * probe.max_hz
    # every kept sample's window is over 500 us: each has its clock, and their mean is a clock too
    assert len(cold.clocks) == len(cold.seconds) and 0.3 * probe.max_hz < cold.clock_hz < 1.1 * probe.max_hz


def test_sampling_stops_on_noise_or_the_budget(spinner):
    launch, _ = spinner(300e-6)
    steady = timing.cold_device_times(launch, criterion=timing.Criterion(min_samples=10, max_noise=0.01, max_seconds=5))
    assert len(steady.seconds) < 200 and steady.noise <= 0.01  # a spin is steady: stops early

    state = {"i": 0}

    def noisy():  # 100 us or 300 us, alternating: never under 1% noise
        state["i"] += 1
        (spinner(100e-6) if state["i"] % 2 else spinner(300e-6))[0]()

    t0 = time.perf_counter()
    ragged = timing.cold_device_times(noisy, criterion=timing.Criterion(min_samples=10, max_noise=0.01, max_seconds=0.3))
    assert ragged.noise > 0.01 and 0.3 <= time.perf_counter() - t0 < 3


def test_host_time_excludes_the_gpu_work(spinner):
    launch, least = spinner(200e-6)
    assert timing.median(timing.host_times(launch, criterion=QUICK)) < least


def test_a_sustained_loop_gives_the_gpu_time_per_call_and_its_clock(spinner):
    launch, least = spinner(200e-6)
    per_call, hz = timing.sustained_loop(launch, seconds=0.2)
    assert least <= per_call < 1.5 * least
    assert hz is not None and 0 < hz <= 1.05 * timing._probe().max_hz
    with pytest.raises(ValueError, match="seconds must be > 0, got 0"):
        timing.sustained_loop(launch, seconds=0)
