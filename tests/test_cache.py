"""The on-disk cache, remembered algorithms and remembered strategy decisions, without a GPU."""

import json
import os

import numpy as np
import pytest

from fusion_kernels import autoselect, cache, tuning


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_KERNELS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_directory_follows_the_environment(cache_dir, monkeypatch):
    assert cache.directory() == cache_dir
    monkeypatch.delenv("FUSION_KERNELS_CACHE")
    assert cache.directory() == cache.Path(os.path.expanduser("~")) / ".cache" / "fusion-kernels"


def test_store_then_load_and_write_leaves_no_temporary_file(cache_dir):
    assert cache.load("things") == {}
    assert cache.store("things", "k1", {"x": 1})
    assert cache.store("things", "k2", [1, 2])
    assert cache.load("things") == {"k1": {"x": 1}, "k2": [1, 2]}
    assert sorted(p.name for p in cache_dir.iterdir()) == ["things.json"]


def test_a_failed_write_keeps_the_old_file(cache_dir, monkeypatch):
    cache.store("things", "k1", 1)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cache.json, "dump", broken_dump)
    assert cache.store("things", "k2", 2) is False
    monkeypatch.undo()
    assert json.loads((cache_dir / "things.json").read_text()) == {"k1": 1}
    assert [p.name for p in cache_dir.iterdir()] == ["things.json"]


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
    cache.store(tuning.KIND, key, "not base64 at all!")
    with pytest.warns(RuntimeWarning, match="corrupt tuned-algorithm entry"):
        assert tuning.remembered(key) is None


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


def test_malformed_decision_is_ignored_with_a_warning():
    cache.store(autoselect.KIND, KEY, {"choice": "partial"})  # no seconds
    fake = FakeMeasure({"unfused": 1e-3, "partial": 2e-3, "fused_planned": 3e-3, "fused_graph": 4e-3})
    with pytest.warns(RuntimeWarning, match="malformed decision"):
        d = autoselect.decide(KEY, CANDIDATES, (), measure=fake)
    assert d.choice == "unfused" and not d.from_cache
