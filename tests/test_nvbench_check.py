"""The nvbench agreement's verdicts, on made-up rows (no GPU, no cuda-bench)."""

from fusion_kernels.harness.nvbench_check import Agreement, all_pass, table


def row(**kw):
    base = dict(workload="fft_conv", strategy="fused_graph", shape="256x1024", dtype="complex64", mode="blocked",
                ours_cold=20e-6, nvbench_cold=20.2e-6, ours_warm=10e-6, nvbench_batch=10.1e-6, host=5e-6,
                ours_loop=10.05e-6, ours_cold_after=20.1e-6)
    base.update(kw)
    return Agreement(**base)


def test_a_device_bound_row_is_held_to_cold_and_warm():
    assert row().passes and row().verdict() == "cold within 3%; warm within 3%"
    assert not row(nvbench_batch=11e-6).passes  # warm 9% under nvbench's batch
    assert not row(nvbench_cold=22e-6).passes


def test_a_host_bound_loop_compares_nvbench_batch_with_the_loop_time():
    # the free-running loop is host-limited (30 us against 10 us of GPU time): nvbench's batch is too
    r = row(ours_loop=30e-6, nvbench_batch=30.5e-6)
    assert r.host_bound and r.passes and "against our loop time within 3%" in r.verdict()
    assert not row(ours_loop=30e-6, nvbench_batch=40e-6).passes


def test_rows_without_a_loop_time_fall_back_to_host_over_warm():
    assert row(ours_loop=None, host=50e-6, nvbench_batch=60e-6).host_bound
    assert not row(ours_loop=None, host=5e-6).host_bound


def test_a_synchronising_call_is_shown_with_its_own_spread_and_not_held():
    # Neither tool can keep its host planning out of its time: the figure drifts by itself.
    r = row(mode="synchronizing", ours_cold=950e-6, nvbench_cold=660e-6, ours_cold_after=670e-6, nvbench_batch=None)
    assert not r.held and "own two measurements of it: -29%" in r.verdict() and "cold +43.9%" in r.verdict()
    assert "not held to the bar" in r.verdict()
    assert all_pass([row(), r]) and not all_pass([row(nvbench_cold=22e-6), r])
    text = table([row(), r, row(nvbench_cold=22e-6)])
    assert "1 of 2 cases" in text and "1 synchronising calls shown, not held" in text


def test_the_table_shows_clocks_when_recorded_and_keeps_old_columns_otherwise():
    assert "cold MHz" not in table([row()])
    with_clock = table([row(ours_cold_mhz=1890.0, nvbench_cold_mhz=1885.0)])
    assert "cold MHz (ours / nvbench)" in with_clock and "1890 / 1885" in with_clock


def test_under_ten_microseconds_is_not_held():
    small = row(ours_cold=9e-6, nvbench_cold=12e-6)
    assert not small.held and small.passes


def test_the_loop_columns_appear_when_measured():
    assert "loop us (ours)" in table([row()]) and "10.1 |" in table([row()])
    assert "loop us over 1 s" not in table([row()])
    long = table([row(ours_long_loop=10.4e-6, ours_long_loop_mhz=1840.0)])
    assert "loop us over 1 s (ours, MHz)" in long and "10.4 (1840)" in long
