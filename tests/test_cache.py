"""The on-disk cache, remembered algorithms and remembered strategy decisions, without a GPU."""

import base64
import contextlib
import fcntl
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fusion_kernels.gpu import cache
from fusion_kernels.kernels import autoselect, tuning
from fusion_kernels.suite import roofline
from subprocess_env import with_src


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_KERNELS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_directory_follows_the_environment(cache_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == cache_dir  # $FUSION_KERNELS_CACHE first
    monkeypatch.delenv("FUSION_KERNELS_CACHE")
    assert cache.directory() == tmp_path / "xdg" / "fusion-kernels"
    for ignored in ("", "relative/path"):  # the XDG spec: relative means unset
        monkeypatch.setenv("XDG_CACHE_HOME", ignored)
        assert cache.directory() == Path(os.path.expanduser("~")) / ".cache" / "fusion-kernels"


def test_store_then_load_and_write_leaves_no_temporary_file(cache_dir):
    assert cache.load("things") == {}
    assert cache.store("things", "k1", {"x": 1})
    assert cache.store("things", "k2", [1, 2])
    assert cache.load("things") == {"k1": {"x": 1}, "k2": [1, 2]}
    assert sorted(p.name for p in cache_dir.iterdir()) == ["things.json", "things.json.lock"]


def test_a_failed_write_keeps_the_old_file(cache_dir, monkeypatch):
    cache.store("things", "k1", 1)

    def broken_replace(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cache.os, "replace", broken_replace)
    with pytest.warns(RuntimeWarning, match="cannot write the cache file .*disk full"):
        assert cache.store("things", "k2", 2) is False
    monkeypatch.undo()
    assert json.loads((cache_dir / "things.json").read_text()) == {"k1": 1}
    assert sorted(p.name for p in cache_dir.iterdir()) == ["things.json", "things.json.lock"]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_corrupt_file_is_ignored_with_a_warning_then_replaced(cache_dir, text):
    cache_dir.mkdir(parents=True)
    (cache_dir / "things.json").write_text(text)
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        assert cache.load("things") == {}
    with pytest.warns(RuntimeWarning):
        assert cache.store("things", "k", 3)
    assert cache.load("things") == {"k": 3}


def test_key_is_order_free_and_separates_every_part():
    assert cache.make_key(a=1, b="x") == cache.make_key(b="x", a=1)
    base = dict(device="H100", versions={"nvmath": "1.0.0"}, shape=(2, 3, 4), dtype="float16", epilog="RELU_BIAS")
    keys = {tuning.algorithm_key(**base)}
    for part, other in [("device", "A100"), ("versions", {"nvmath": "1.0.1"}), ("shape", (2, 3, 5)),
                        ("dtype", "float32"), ("epilog", "BIAS")]:
        keys.add(tuning.algorithm_key(**dict(base, **{part: other})))
    keys.add(tuning.algorithm_key(**base, inplace=True))
    assert len(keys) == 7
    assert tuning.algorithm_key(**dict(base, dtype=np.float16)) == tuning.algorithm_key(**base)


def test_structured_array_round_trip():
    dtype = np.dtype([("algo", np.uint64, (8,)), ("workspace_size", np.uint64), ("state", np.int32), ("waves", np.float32)])
    arr = np.zeros(1, dtype=dtype)
    arr["algo"] = np.arange(8)
    arr["workspace_size"] = 1 << 20
    arr["waves"] = 0.75
    back = cache.decode_array(cache.encode_array(arr))
    assert back.dtype == dtype and back.tobytes() == arr.tobytes()


def test_remembered_algorithm_and_corrupt_entry(cache_dir):
    arr = np.frombuffer(bytes(range(48)), dtype=np.dtype([("raw", np.uint8, (48,))]))
    key = tuning.algorithm_key("H100", {}, (8, 8, 8), "float32", "RELU_BIAS")
    assert tuning.remembered(key) is None
    tuning.remember(key, arr)
    assert tuning.remembered(key).tobytes() == arr.tobytes()
    with pytest.raises(ValueError, match="not a valid matmul_algorithms entry"):
        cache.store(tuning.KIND, key, "not base64 at all!")
    (cache_dir / f"{tuning.KIND}.json").write_text(json.dumps({key: "not base64 at all!"}))
    with pytest.warns(RuntimeWarning, match="corrupt tuned-algorithm entry"):
        assert tuning.remembered(key) is None


def test_an_array_header_claiming_more_than_its_bytes_is_corrupt():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    text = base64.b64encode(buf.getvalue() + bytes(8)).decode()  # np.load would allocate 8 TB first
    with pytest.raises(ValueError, match="header claims"):
        cache.decode_array(text)


@pytest.mark.parametrize("mode", [None, "yes", 1, 0.5])
def test_autotune_mode_is_checked(mode):
    with pytest.raises(ValueError, match="autotune must be"):
        tuning.check_mode(mode)


class FakeMeasure:
    def __init__(self, seconds):
        self.seconds = seconds
        self.calls = []

    def __call__(self, name, factory, args):
        self.calls.append(name)
        if isinstance(self.seconds[name], Exception):
            raise self.seconds[name]
        return self.seconds[name]


CANDIDATES = {"unfused": object(), "partial": object(), "fused_planned": object(), "fused_graph": object()}
KEY = autoselect.decision_key("H100", {"cupy": "14"}, "matmul_bias_relu", (8, 8, 8), "float16")


def test_decide_measures_once_then_reads_the_cache():
    fake = FakeMeasure({"unfused": 3e-3, "partial": 2e-3, "fused_planned": 1.5e-3, "fused_graph": 1e-3})
    first = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert first.choice == "fused_graph" and not first.from_cache
    assert fake.calls == list(CANDIDATES)
    again = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert again.choice == "fused_graph" and again.from_cache
    assert fake.calls == list(CANDIDATES)  # not measured again
    assert again.seconds == first.seconds
    text = again.explain()
    assert "chose fused_graph" in text and "from the cache" in text
    assert "3000.0 us" in text and "3.00x" in text


def test_a_failing_candidate_is_reported_not_chosen():
    fake = FakeMeasure({"unfused": 3e-3, "partial": 2e-3, "fused_planned": RuntimeError("no algorithm"), "fused_graph": 5e-3})
    d = autoselect.decide(KEY, CANDIDATES, (), unavailable={"fused_onecall": "nvmath missing"}, measure=fake)
    assert d.choice == "partial"
    assert "RuntimeError: no algorithm" in d.failed["fused_planned"] and d.failed["fused_onecall"] == "nvmath missing"
    assert "fused_planned" in d.explain() and "not measured" in d.explain()


def test_nothing_measurable_raises():
    fake = FakeMeasure({n: RuntimeError("broken") for n in CANDIDATES})
    with pytest.raises(RuntimeError, match="no candidate strategy could be measured"):
        autoselect.decide(KEY, CANDIDATES, (), measure=fake)


def test_other_keys_and_other_candidates_measure_again():
    fake = FakeMeasure({"unfused": 1e-3, "partial": 2e-3, "fused_planned": 3e-3, "fused_graph": 4e-3})
    autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    other = autoselect.decision_key("H100", {"cupy": "14"}, "matmul_bias_relu", (8, 8, 8), "float32")
    autoselect.decide(other, CANDIDATES, (), measure=fake)
    assert len(fake.calls) == 8
    # the remembered choice (unfused) is no longer a candidate: decide among the others
    fewer = {k: v for k, v in CANDIDATES.items() if k != "unfused"}
    assert autoselect.decide(KEY, fewer, (), measure=fake).choice == "partial"
    assert len(fake.calls) == 11


def test_malformed_decision_is_ignored_with_a_warning(cache_dir):
    with pytest.raises(ValueError, match="not a valid strategy_choices entry"):
        cache.store(autoselect.KIND, KEY, {"choice": "partial"})
    write_raw(cache_dir, autoselect.KIND, json.dumps({KEY: {"choice": "partial"}}))  # no seconds
    fake = FakeMeasure({"unfused": 1e-3, "partial": 2e-3, "fused_planned": 3e-3, "fused_graph": 4e-3})
    with pytest.warns(RuntimeWarning, match="corrupt decision"):
        d = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert d.choice == "unfused" and not d.from_cache


# --- a cache shared by processes and users, and whatever ends up in its place ---


def write_raw(cache_dir, kind, content):
    """Put `content` (text or bytes) where the cache file of `kind` goes, bypassing every check."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    p = cache_dir / f"{kind}.json"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


@contextlib.contextmanager
def no_hang(seconds=5):
    """Fail, rather than wait forever, if the block blocks (a FIFO read) for `seconds`."""
    def hung(signum, frame):
        raise TimeoutError(f"hung for {seconds} s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


RACE_WORKER = """
import os, sys, time
from fusion_kernels.gpu import cache
worker, ready, go = sys.argv[1:]
open(ready, "w").close()
while not os.path.exists(go):  # all start storing together
    time.sleep(0.001)
for j in range(200):
    assert cache.store("race", f"{worker}-{j}", j)
"""


def test_concurrent_writers_lose_nothing(cache_dir, tmp_path):
    src = str(Path(cache.__file__).parents[2])
    env = with_src(Path(src).parent)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACE_WORKER, str(w), str(tmp_path / f"ready{w}"), str(go)],
                              env=env, stderr=subprocess.PIPE, text=True) for w in range(8)]
    try:
        deadline = time.time() + 60
        while not all((tmp_path / f"ready{w}").exists() for w in range(8)):
            assert time.time() < deadline and all(p.poll() is None for p in procs), "a writer did not start"
            time.sleep(0.01)
        go.touch()
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert cache.load("race") == {f"{w}-{j}": j for w in range(8) for j in range(200)}
    assert not list(cache_dir.glob("*.tmp"))


def test_a_writer_holding_the_lock_delays_a_store_but_never_hangs_it(cache_dir, monkeypatch):
    cache.store("things", "k1", 1)
    monkeypatch.setattr(cache, "LOCK_TIMEOUT", 0.2)
    with open(cache_dir / "things.json.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a writer stopped (Ctrl-Z) inside store would
        with no_hang(), pytest.warns(RuntimeWarning, match="cannot write the cache file .*held"):
            assert cache.store("things", "k2", 2) is False
    assert cache.store("things", "k2", 2)
    assert cache.load("things") == {"k1": 1, "k2": 2}


@pytest.mark.parametrize("content", [b'{"k": "caf\xe9"}', b"[" * 100_000 + b"]" * 100_000,
                                     b'{"k": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
                         ids=["invalid-utf8", "nested-100000-deep", "entry-nested-100000-deep"])
def test_undecodable_file_is_ignored_with_a_warning_then_replaced(cache_dir, content):
    write_raw(cache_dir, "things", content)
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        assert cache.load("things") == {}
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        assert cache.get("things", "k") is None
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        assert cache.store("things", "k", 3)
    assert cache.load("things") == {"k": 3}


GOOD_PEAKS = {"bandwidth": 3e12, "flops": {"float16": 7e14, "float32": 5e13}, "device": "GPU0"}


@pytest.mark.parametrize("bad", [
    dict(GOOD_PEAKS, bandwidth="fast"), dict(GOOD_PEAKS, bandwidth=-1.0), dict(GOOD_PEAKS, bandwidth=True),
    dict(GOOD_PEAKS, flops=[7e14]), dict(GOOD_PEAKS, flops={"float32": "5e13"}), dict(GOOD_PEAKS, flops={}),
    {k: v for k, v in GOOD_PEAKS.items() if k != "device"}, 42,
], ids=["bandwidth-str", "bandwidth-negative", "bandwidth-bool", "flops-list", "flops-rate-str", "flops-empty",
        "no-device", "not-an-object"])
def test_wrong_typed_peaks_entry_is_measured_again(cache_dir, monkeypatch, bad):
    measured = []
    monkeypatch.setattr(roofline.backend, "device_name", lambda: "GPU0")
    monkeypatch.setattr(roofline.backend, "versions", lambda: {"cupy": "14"})
    monkeypatch.setattr(roofline, "_measure_peaks",
                        lambda: measured.append(1) or {k: GOOD_PEAKS[k] for k in ("bandwidth", "flops")})
    key = "GPU0|cupy 14"
    write_raw(cache_dir, "peaks", json.dumps({key: bad}))
    roofline.device_peaks.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="corrupt peaks entry"):
            assert roofline.device_peaks() == GOOD_PEAKS
    finally:
        roofline.device_peaks.cache_clear()
    assert measured == [1]
    assert cache.get("peaks", key) == GOOD_PEAKS  # the measured value replaced the bad one
    assert roofline.bound_seconds(1e9, 1e9, "float32", GOOD_PEAKS) > 0


@pytest.mark.parametrize("seconds", ["0.0", "-0.001", "NaN", "Infinity", "true"])
def test_decision_with_bad_seconds_is_measured_again(cache_dir, seconds):
    write_raw(cache_dir, autoselect.KIND, '{%s: {"choice": "partial", "seconds": {"unfused": 0.003, "partial": %s}}}'
              % (json.dumps(KEY), seconds))
    fake = FakeMeasure({"unfused": 1e-3, "partial": 2e-3, "fused_planned": 3e-3, "fused_graph": 4e-3})
    with pytest.warns(RuntimeWarning, match="corrupt decision"):
        d = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert d.choice == "unfused" and not d.from_cache and fake.calls == list(CANDIDATES)
    assert "chose unfused" in d.explain()
    assert autoselect.decide(KEY, CANDIDATES, (), measure=fake).from_cache  # the bad one was replaced


def test_explain_survives_zero_seconds():
    text = autoselect.Decision("partial", {"partial": 0.0, "unfused": 1e-3}).explain()
    assert "chose partial" in text and "1000.0 us" in text


def test_a_broken_measurement_is_reported_not_chosen_nor_stored():
    fake = FakeMeasure({"unfused": 3e-3, "partial": 0.0, "fused_planned": -1e-3, "fused_graph": math.nan})
    d = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert d.choice == "unfused" and list(d.seconds) == ["unfused"]
    assert "measured 0.0 seconds" in d.failed["partial"] and "measured nan seconds" in d.failed["fused_graph"]
    assert autoselect.decide(KEY, CANDIDATES, (), measure=fake).from_cache  # what was stored reads back


@pytest.mark.parametrize("special", ["fifo", "directory", "dev-zero"])
def test_special_file_in_place_of_the_cache_is_left_alone(cache_dir, special):
    cache_dir.mkdir(parents=True)
    p = cache_dir / "things.json"
    {"fifo": lambda: os.mkfifo(p), "directory": p.mkdir, "dev-zero": lambda: p.symlink_to("/dev/zero")}[special]()
    with no_hang():
        with pytest.warns(RuntimeWarning, match="not a regular file; not using it"):
            assert cache.load("things") == {}
        with pytest.warns(RuntimeWarning, match="not a regular file; not using it"):
            assert cache.get("things", "k") is None
        with pytest.warns(RuntimeWarning, match="not a regular file; not storing the new entry") as got:
            assert cache.store("things", "k", 1) is False
    assert len(got) == 1
    assert {"fifo": p.is_fifo, "directory": p.is_dir, "dev-zero": p.is_symlink}[special]()


@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root reads every file: nothing is unreadable")
def test_unreadable_file_is_left_alone(cache_dir):
    p = write_raw(cache_dir, "things", json.dumps({"k": 1}))
    p.chmod(0)
    try:
        with pytest.warns(RuntimeWarning, match="cannot read the cache file .*Permission denied.*not using it"):
            assert cache.get("things", "k") is None
        with pytest.warns(RuntimeWarning, match="Permission denied.*not storing the new entry") as got:
            assert cache.store("things", "k2", 2) is False
        assert len(got) == 1
    finally:
        p.chmod(0o644)
    assert json.loads(p.read_text()) == {"k": 1}


def test_unwritable_directory_gives_a_warning(cache_dir, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("FUSION_KERNELS_CACHE", str(tmp_path / "a-file" / "cache"))  # unwritable even by root
    with pytest.warns(RuntimeWarning, match="cannot write the cache file"):
        assert cache.store("things", "k", 1) is False


def test_stale_temporary_files_are_removed(cache_dir):
    cache_dir.mkdir(parents=True)
    hour_ago = time.time() - 2 * 3600
    stale = [cache_dir / "things.jsonab12cd.tmp", cache_dir / "things.json.123.deadbeef.tmp"]  # old and new names
    for t in stale:
        t.write_bytes(b"x" * 1000)
        os.utime(t, (hour_ago, hour_ago))
    fresh = cache_dir / "things.json.456.cafebabe.tmp"  # a writer may be at work on it
    fresh.write_bytes(b"x")
    other = cache_dir / "notes.tmp"
    other.write_bytes(b"x")
    os.utime(other, (hour_ago, hour_ago))
    assert cache.store("things", "k", 1)
    assert not any(t.exists() for t in stale) and fresh.exists() and other.exists()


def test_an_oversized_file_is_ignored_then_replaced(cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "MAX_BYTES", 1000)
    write_raw(cache_dir, "things", json.dumps({f"k{i}": "x" * 50 for i in range(30)}))
    with pytest.warns(RuntimeWarning, match="over the limit of 1000"):
        assert cache.get("things", "k1") is None
    with pytest.warns(RuntimeWarning, match="over the limit of 1000"):
        assert cache.store("things", "k", 1)
    assert cache.load("things") == {"k": 1}


def test_entries_and_bytes_stay_bounded(cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 5)
    for i in range(8):
        cache.store("things", f"k{i}", i)
    cache.store("things", "k3", 33)  # written again: now the newest
    assert list(cache.load("things")) == ["k4", "k5", "k6", "k7", "k3"]
    monkeypatch.setattr(cache, "MAX_BYTES", 1000)
    for i in range(30):
        cache.store("things", f"big{i}", "x" * 90)
        assert (cache_dir / "things.json").stat().st_size <= 1000
    assert "big29" in cache.load("things")
    with pytest.raises(ValueError, match="value must fit in the 1000-byte cache file"):
        cache.store("things", "huge", "x" * 1000)
