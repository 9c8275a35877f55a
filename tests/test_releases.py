"""Across nvmath-python releases, without a GPU: the version gate (fake version strings), the shims
(fake nvmath objects), the fingerprint and asv's environment name of a wheel folder, the offline
path run once per release, and `fusion-kernels compare-releases` on synthetic asv results and reports."""

import dataclasses
import json
import math
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import release_results as rr
from subprocess_env import with_src
from test_asv_offline import asv_available, script_env

from fusion_kernels.gpu import backend, releases
from fusion_kernels.harness import compare_releases, measure, regressions, report
from fusion_kernels.suite import shapes
from fusion_kernels.suite.strategy import Need

ROOT = Path(__file__).resolve().parents[1]
FFT = "bench_fftconv.FFTConv.track_cold_device_seconds"
SMALL = ("256x1024", "complex64")


# ---- the version gate ----

@pytest.mark.parametrize("text, parsed", [
    ("1.0.0", (1, 0, 0)), ("0.9.0", (0, 9, 0)), ("0.9", (0, 9, 0)), ("0.9.0rc1", (0, 9, 0)),
    ("1.0.0.dev3+g12ab", (1, 0, 0)), ("v1.2.3", (1, 2, 3)), ("missing", None), ("", None), (None, None),
])
def test_release_strings_parse_as_their_release(text, parsed):
    assert releases.parse(text) == parsed


@pytest.mark.parametrize("version, skips", [("0.8.0", True), ("0.8.9", True), ("0.9.0rc1", False), ("0.9.0", False),
                                            ("1.0.0", False), ("missing", False)])
def test_the_multi_gpu_workloads_need_nvmath_0_9(version, skips):
    why = releases.reason("distributed", version)
    if skips:
        assert why == ("needs nvmath-python >= 0.9.0 (nvmath.distributed joined through torch.distributed "
                       f"(TorchProcessGroup)); this is nvmath-python {version}")
    else:
        assert why is None
    assert releases.reason("gpu", version) is None  # a piece no release gates


def test_every_gated_piece_is_a_need_or_the_multi_gpu_workloads():
    assert set(releases.NEEDS) <= {n.value for n in Need} | {"distributed"}
    for oldest, what in releases.NEEDS.values():
        assert releases.parse(".".join(map(str, oldest))) == oldest and what


@pytest.fixture
def gpu_ready(monkeypatch):
    """Every piece present, as on a GPU machine: only the release decides."""
    for name in ("gpu_reason", "nvmath_reason", "callbacks_reason", "dx_reason", "torch_reason",
                 "_torch_distributed_reason"):
        monkeypatch.setattr(backend, name, lambda: None)
    monkeypatch.setattr(backend, "_distributed_piece_reason", lambda piece: None)


def test_an_old_release_skips_the_multi_gpu_workloads_before_their_pieces_are_tried(gpu_ready, monkeypatch):
    monkeypatch.setattr(backend, "nvmath_version", lambda: "0.8.0")
    monkeypatch.setattr(backend, "_distributed_piece_reason", lambda piece: pytest.fail("tried a piece"))
    assert backend.distributed_reason(("cublasmp",)).startswith("needs nvmath-python >= 0.9.0")
    monkeypatch.setattr(backend, "nvmath_version", lambda: "1.0.0")
    monkeypatch.setattr(backend, "_distributed_piece_reason", lambda piece: None)
    assert backend.distributed_reason(("cublasmp",)) is None


def test_a_strategy_skips_with_the_release_it_needs(gpu_ready, monkeypatch):
    """A gate on a strategy's Need (as a future API would add one) reaches Need.reason() and the suite's skip."""
    monkeypatch.setitem(releases.NEEDS, "callbacks", ((9, 1, 0), "a planted API"))
    monkeypatch.setattr(backend, "nvmath_version", lambda: "1.0.0")
    why = "needs nvmath-python >= 9.1.0 (a planted API); this is nvmath-python 1.0.0"
    assert Need.CALLBACKS.reason() == why and Need.NVMATH.reason() is None and Need.GPU.reason() is None
    res = measure.measure_case("fft_conv", "fused_planned", shapes.FFT_SHAPES["small"], "complex64")
    assert res.skip == why and res.error is None  # a skip, never a crash
    monkeypatch.setattr(backend, "nvmath_version", lambda: "9.1.0")
    assert Need.CALLBACKS.reason() is None


# ---- the shims, on fake nvmath objects (checked once against the real wheels: docs/strategies.md) ----

def test_reset_operands_unchecked_falls_back_to_the_checked_reset():
    calls = []
    new = types.SimpleNamespace(reset_operands_unchecked=lambda **kw: calls.append(("unchecked", kw)),
                                reset_operands=lambda **kw: calls.append(("checked", kw)))
    old = types.SimpleNamespace(reset_operands=lambda **kw: calls.append(("checked", kw)))  # 0.8
    releases.reset_operands_unchecked(new, a=1, c=None)
    releases.reset_operands_unchecked(old, a=2, c=None)
    assert calls == [("unchecked", {"a": 1, "c": None}), ("checked", {"a": 2, "c": None})]


RECORD = np.dtype([("algo", "u1", (64,)), ("workspace_size", "u8"), ("waves_count", "f4")])


class _Heuristic:
    """cuBLASLt's MatmulHeuristicResult as 0.8/0.9 have it: the record in `_data`, `from_data`."""

    def __init__(self, data):
        self._data = data

    @classmethod
    def from_data(cls, data):
        return cls(data)


class _OldAlgorithm:
    def __init__(self, heuristic):
        self.algorithm = heuristic


class _NewAlgorithm(_OldAlgorithm):
    def as_numpy(self):
        return np.frombuffer(self.algorithm._data.tobytes(), dtype=RECORD)

    @classmethod
    def from_numpy(cls, array):
        return cls(_Heuristic(np.copy(array)))


@pytest.mark.parametrize("algorithm", [_OldAlgorithm, _NewAlgorithm], ids=["0.8-0.9", "1.0"])
def test_a_tuned_algorithm_round_trips_through_its_record(algorithm, monkeypatch):
    import importlib

    binding = types.SimpleNamespace(MatmulHeuristicResult=_Heuristic)
    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: binding if name == "nvmath.bindings.cublasLt" else real_import(name, *a))
    record = np.zeros(1, dtype=RECORD)
    record["workspace_size"], record["waves_count"] = 4096, 1.5
    stored = releases.algorithm_as_numpy(algorithm(_Heuristic(record)))
    assert stored.dtype == RECORD and stored.tobytes() == record.tobytes()
    assert stored is not record and not np.shares_memory(stored, record)  # a copy: the cache keeps it
    advanced = types.SimpleNamespace(Algorithm=algorithm)
    back = releases.algorithm_from_numpy(advanced, stored)
    assert isinstance(back, algorithm) and back.algorithm._data.tobytes() == record.tobytes()


def test_workspace_bytes_of_each_release():
    assert releases.workspace_bytes(types.SimpleNamespace(workspace=types.SimpleNamespace(size=1 << 20))) == 1 << 20
    assert releases.workspace_bytes(types.SimpleNamespace(workspace_size=4096, workspace_ptr=None)) == 4096  # < 1.0
    assert releases.workspace_bytes(types.SimpleNamespace(workspace_size=None)) == 0  # not planned
    assert releases.workspace_bytes(object()) == 0


def test_the_distributed_fft_keeps_its_slabs_on_each_release():
    @dataclasses.dataclass
    class Options10:
        redistribute: bool = True

    @dataclasses.dataclass
    class Options09:
        reshape: bool = True

    @dataclasses.dataclass
    class Unknown:
        blocking: str = "auto"

    assert releases.keep_slabs(Options10) == {"redistribute": False}
    assert releases.keep_slabs(Options09) == {"reshape": False}
    with pytest.raises(RuntimeError, match="neither 'redistribute' nor 'reshape'"):
        releases.keep_slabs(Unknown)


# ---- a release folder: the fingerprint and asv's environment name ----

def fake_wheel(folder: Path, version: str) -> Path:
    """A wheel of 'nvmath-python' `version` holding only a module `nvmath` (what pip and the fingerprint see)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"nvmath_python-{version}.dist-info"
    files = {"nvmath/__init__.py": f'__version__ = "{version}"\n',
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: nvmath-python\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{dist}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{dist}/RECORD"])
    path = folder / f"nvmath_python-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def unpacked(tmp_path, version) -> Path:
    site = tmp_path / f"site-{version}"
    with zipfile.ZipFile(fake_wheel(tmp_path / f"wheels-{version}", version)) as z:
        z.extractall(site)
    return site


def test_fingerprint_without_a_gpu_names_the_release_on_the_path(tmp_path):
    env = with_src(CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{unpacked(tmp_path, '0.9.0')}:{env['PYTHONPATH']}"
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "fingerprint", "--json"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["nvmath-python"] == "0.9.0"
    assert facts["gpu"].startswith("none (")
    assert {facts[k] for k in ("cuda", "driver", "sm_clock")} == {"none"}  # no GPU: nothing read
    assert facts["cublaslt"] == facts["cufft"] == "unknown"  # this nvmath cannot load them


def test_the_default_path_keeps_its_environment_name(monkeypatch):
    """On the H200 as committed (every fingerprint field read from the GPU), the environment's name, and so
    the result files' history, is the one its committed results carry."""
    pytest.importorskip("asv", reason="needs asv")
    from asv.environment import get_env_name

    from fusion_kernels.harness import asv_env as checkout

    committed = json.loads((ROOT / "results" / "h200" / "b3c08a0f-env-b08b7acd073a9628b6794c9fc23eef34.json").read_text())
    runtime = types.SimpleNamespace(runtimeGetVersion=lambda: 13020)
    monkeypatch.setattr(backend, "gpu_reason", lambda: None)
    monkeypatch.setattr(backend, "device_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(backend, "cupy", lambda: types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime)))
    monkeypatch.setattr(backend, "_nvml_facts", lambda: {"driver": "580.159.04", "sm_clock": "default-1980MHz"})
    monkeypatch.setattr(backend, "_nvmath_or_reason", lambda: (object(), None))
    monkeypatch.setattr(backend, "_library_version", lambda module: {"nvmath.bindings.cublasLt": "13.1.0",
                                                                      "nvmath.bindings.cufft": "12.0.0"}[module])
    versions = {"nvmath-python": "1.0.0", "cupy-cuda13x": "14.2.0", "numba-cuda": "0.30.4"}
    monkeypatch.setattr(backend, "_dist_version", lambda name: versions.get(name, "missing"))
    monkeypatch.setattr(backend, "nvmath_version", lambda: versions["nvmath-python"])
    requirements = checkout.requirements_of(backend.fingerprint())
    assert get_env_name("checkout", "3.12", requirements, {}) == committed["env_name"]


def test_two_release_folders_give_two_asv_environment_names(tmp_path, monkeypatch):
    pytest.importorskip("asv", reason="needs asv")
    from asv.environment import get_env_name

    from fusion_kernels.harness import asv_env as checkout

    names = []
    for version in ("0.9.0", "1.0.0"):
        monkeypatch.setattr(checkout, "_FINGERPRINTS", {})
        monkeypatch.delenv("ASV_PYTHONPATH", raising=False)
        monkeypatch.setenv("PYTHONPATH", str(unpacked(tmp_path, version)))
        requirements = checkout.fingerprint_requirements(sys.executable, str(ROOT / "src"))
        assert requirements["nvmath-python"] == version
        names.append(get_env_name("checkout", "3.12", requirements, {}))
    assert names[0] != names[1] and "nvmath-python0.9.0" in names[0] and "nvmath-python1.0.0" in names[1]


@pytest.mark.skipif(shutil.which("git") is None or not asv_available(), reason="needs git and asv")
def test_the_offline_path_once_per_release_keeps_the_runs_apart(tmp_path):
    """scripts/asv-offline.sh --wheels DIR, once per release: one result file per release, in environments
    named after it; the default path keeps its own; compare-releases reads the two."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    env = script_env(tmp_path, repo)  # a private TMPDIR, to see the wheel folder go
    bench = "MatmulBiasReLUColdStart.track_first_call_seconds"
    for args in ([], ["--wheels", str(fake_wheel(tmp_path / "r09", "0.9.0").parent)],
                 ["--wheels", str(fake_wheel(tmp_path / "r10", "1.0.0").parent)]):
        out = subprocess.run(["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable,
                              *args, "HEAD", "--", "--bench", bench], cwd=repo, env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        if args:
            assert "from --wheels, ahead of site-packages: nvmath_python-" in out.stderr
    names = sorted(json.loads(p.read_text())["env_name"] for p in (repo / "results" / "ci-test").glob("*-*.json"))
    assert len(names) == 3
    assert [n for n in names if "nvmath-python0.9.0" in n] and [n for n in names if "nvmath-python1.0.0" in n]
    assert list((tmp_path / "tmp").iterdir()) == []  # the private wheel folder went with the run's temporary folder
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout[:8]
    cmp = subprocess.run([sys.executable, "-m", "fusion_kernels", "compare-releases", head, "--machine", "ci-test",
                          "--env-a", "nvmath-python0.9.0", "--env-b", "nvmath-python1.0.0"], cwd=repo,
                         env=with_src(repo), capture_output=True, text=True, timeout=120)
    # Without a GPU the cold start has no device time: nothing to compare, and nothing failed.
    assert cmp.returncode == report.OK, cmp.stderr
    assert "A: nvmath-python 0.9.0" in cmp.stdout and "B: nvmath-python 1.0.0" in cmp.stdout


def test_a_wheel_folder_without_wheels_is_refused(tmp_path):
    if not asv_available():
        pytest.skip("needs asv")
    (tmp_path / "empty").mkdir()
    out = subprocess.run(["bash", "scripts/asv-offline.sh", "--machine", "m", "--python", sys.executable, "--wheels",
                          str(tmp_path / "empty"), "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"--wheels: no wheels in {tmp_path / 'empty'} (expected *.whl files)" in out.stderr


# ---- compare-releases on synthetic asv results ----

def args(conf, **kw):
    ns = dict(commit=rr.COMMIT, machine=rr.MACHINE, env_a="nvmath-python0.9.0", env_b="nvmath-python1.0.0",
              figure="cold", changed=False, reports=None, config=str(conf))
    ns.update(kw)
    return types.SimpleNamespace(**ns)


def run_main(ns):
    import io

    out, err = io.StringIO(), io.StringIO()
    code = compare_releases.main(ns, out, err)
    return code, out.getvalue(), err.getvalue()


def line_of(text, section, *cells):
    """The cells of the row of `section`'s table (### heading) that starts with `cells`."""
    part = text.split(f"### {section}", 1)[1].split("\n### ", 1)[0]
    found = [ln for ln in part.splitlines() if ln.startswith("| " + " | ".join(cells) + " |")]
    assert len(found) == 1, (cells, found)
    return [c.strip() for c in found[0].strip("|").split("|")]


CLASS = "bench_fftconv.FFTConv\n"
CHECK = "Correctness"


@pytest.fixture
def changed(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    return rr.write(tmp_path, [(FFT, ("fused_planned", *SMALL), 1.3), (FFT, ("fused_graph", *SMALL), 0.7),
                               (FFT, ("fused_prolog", *SMALL), "skip"), (FFT, ("single_kernel", *SMALL), "fail"),
                               (FFT, ("fused_prolog_graph", *SMALL), 1.02)])


def test_compare_releases_gives_compares_verdict_for_every_case(changed):
    code, out, err = run_main(args(changed))
    assert code == report.CASE_FAILED  # single_kernel fails with B
    assert "A: nvmath-python 0.9.0" in out and "B: nvmath-python 1.0.0" in out
    assert "### bench_fftconv.FFTConv\n" in out and "### bench_matmul.MatmulBiasReLU\n" in out
    assert "| strategy | shape | dtype | A (ms) | B (ms) | B/A | factor | verdict |" in out
    assert "| epilog | strategy | shape | dtype |" in out  # each class's own parameter names
    assert line_of(out, CLASS, "fused_planned", *SMALL)[-3:] == ["1.300", "1.10", "slower"]
    assert line_of(out, CLASS, "fused_graph", *SMALL)[-3:] == ["0.700", "1.10", "faster"]
    assert line_of(out, CLASS, "fused_prolog_graph", *SMALL)[-3:] == ["1.020", "1.10", "same"]  # within the factor
    assert line_of(out, CLASS, "fused_prolog", *SMALL)[-4:] == ["skipped", "-", "1.10", "n/a: skipped with B"]
    assert line_of(out, CLASS, "single_kernel", *SMALL)[-4:] == ["failed", "-", "1.10", "failed with B"]
    assert "1 slower; 1 failed; 1 faster;" in err and "; 1 n/a" in err
    # the verdicts are compare's own, row for row
    rows = {r[2]: r[6] for r in compare_releases.compare(regressions.load_config(str(changed)), rr.MACHINE,
                                                          rr.COMMIT, "nvmath-python0.9.0", "nvmath-python1.0.0")["rows"]}
    same = regressions.compare(regressions.load_config(str(changed)), rr.MACHINE, rr.COMMIT, rr.COMMIT,
                               "nvmath-python0.9.0", "nvmath-python1.0.0")
    assert rows == {name: v for name, _, _, _, v in same if name in rows}


def test_compare_releases_changed_only_and_warm(changed):
    code, out, _ = run_main(args(changed, changed=True))
    assert code == report.CASE_FAILED
    table = [ln for ln in out.splitlines() if ln.startswith("| ") and not ln.startswith("| strategy")]
    assert len(table) == 4 and "### bench_matmul.MatmulBiasReLU" not in out
    code, out, _ = run_main(args(changed, figure="warm", changed=True))  # the changes were to cold device time
    assert code == report.OK and "warm device time (track_warm_device_seconds)" in out and "(no case changed)" in out


def test_a_slower_release_is_reported_not_an_error(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path, [(FFT, ("fused_planned", *SMALL), 1.5), (FFT, ("unfused", *SMALL), "skip")])
    code, out, _ = run_main(args(conf))
    assert code == report.OK and line_of(out, CLASS, "fused_planned", *SMALL)[-1] == "slower"


def test_skipped_with_a_and_failed_with_a(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path, [(FFT, ("fused_planned", *SMALL), "skip")], versions=("1.0.0", "0.9.0"))
    code, out, _ = run_main(args(conf, env_a="nvmath-python0.9.0", env_b="nvmath-python1.0.0"))
    assert code == report.OK and line_of(out, CLASS, "fused_planned", *SMALL)[-1] == "n/a: skipped with A"
    conf = rr.write(tmp_path / "f", [(FFT, ("fused_planned", *SMALL), "fail")], versions=("1.0.0", "0.9.0"))
    code, out, _ = run_main(args(conf))
    assert code == report.OK and line_of(out, CLASS, "fused_planned", *SMALL)[-1] == "fixed with B (failed with A)"


def test_a_case_that_failed_and_now_skips_is_not_fixed():
    nan = regressions.Figure(math.nan)
    assert regressions.verdict(regressions.Figure(None), nan, 0.04) == regressions.MISSING
    assert compare_releases.say(regressions.MISSING, None, math.nan) == "n/a: failed with A, skipped with B"
    assert compare_releases.say(regressions.MISSING, math.nan, math.nan) == "n/a: skipped with both"
    assert compare_releases.say(regressions.FAILED, math.nan, None) == "failed with B (skipped with A)"


@pytest.mark.parametrize("change, message", [
    (dict(env_a="nvmath-python0.8.0"), "--env-a 'nvmath-python0.8.0' matches none of the environments of 'b3c08a0f' "
                                        "on 'h200': checkout-py3.12-"),
    (dict(env_b="nvmath-python0.9.0"), "--env-a and --env-b must name two environments, got 'nvmath-python0.9.0' for both"),
    (dict(env_b="nvmath-python0.9"), "match the same environment"),
    (dict(env_a="checkout"), "'b3c08a0f' has results in several environments (checkout-py3.12-"),
    (dict(env_a="checkout"), "): choose one with --env-a"),
    (dict(commit="deadbeef"), "deadbeef"),
    (dict(machine="h300"), "no results of 'b3c08a0f' for machine 'h300'"),
    (dict(config="/no/such/asv.conf.json"), "--config: cannot read /no/such/asv.conf.json"),
])
def test_compare_releases_refuses_what_it_cannot_compare(tmp_path, change, message):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path)
    code, out, err = run_main(args(conf, **change))
    assert code == report.BAD_ARGUMENTS and message in err and out == "", err


def test_asv_publish_draws_one_series_per_release(tmp_path):
    """Without a browser (tests/test_site_browser.py opens the chart): asv publish keeps a graph file per
    release, its environments differing only by nvmath-python, each with the same points."""
    pytest.importorskip("asv", reason="needs asv")
    from asv.graph import Graph

    conf = rr.with_release(tmp_path, "0.9.0")
    out = subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(conf)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    html = tmp_path / "html"
    index = json.loads((html / "index.json").read_text())
    h200 = [p for p in index["graph_param_list"] if p["machine"] == rr.MACHINE]
    assert sorted(p["nvmath-python"] for p in h200) == ["0.9.0", "1.0.0"]
    assert {k for k in h200[0] if h200[0][k] != h200[1][k]} == {"nvmath-python"}
    graphs = [json.loads((html / f"{Graph.get_file_path(p, FFT)}.json").read_text()) for p in h200]
    assert graphs[0] and graphs[0] == graphs[1]


# ---- correctness from two reports ----

def report_file(path: Path, nvmath: str, changes=()) -> str:
    """A report.json of two cases with nvmath-python `nvmath`; `changes` {strategy: {column: value}}."""
    rows = []
    for strategy, err in (("unfused", 1e-7), ("fused_planned", 2e-7), ("fused_graph", 2e-7)):
        row = dict.fromkeys(report.COLUMNS)
        row.update(workload="fft_conv", shape="256x1024", dtype="complex64", strategy=strategy, cold_ms=0.02,
                   relative_error=err, tolerance=1e-5, correct=True)
        row.update(dict(changes).get(strategy, {}))
        rows.append(row)
    path.write_text(json.dumps({"meta": {"device": "NVIDIA H200", "versions": {"nvmath": nvmath, "cupy": "14.2.0"}},
                                "rows": rows}))
    return str(path)


def test_compare_releases_with_reports_names_a_wrong_result(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path)
    a = report_file(tmp_path / "a.json", "0.9.0")
    b = report_file(tmp_path / "b.json", "1.0.0", {"fused_planned": dict(relative_error=3e-2, correct=False),
                                                  "fused_graph": dict(skip="needs nvmath-python >= 9.0.0 (x)",
                                                                      cold_ms=None, relative_error=None,
                                                                      correct=None)})
    code, out, _ = run_main(args(conf, reports=[a, b]))
    assert code == report.WRONG_RESULT  # wins over nothing failing
    assert f"### Correctness: relative error against the float64 oracle (A: {a}, B: {b})" in out
    assert line_of(out, CHECK, "fft_conv", "unfused", *SMALL)[-4:] == ["1.00e-07", "1.00e-07", "1e-05", "correct with both"]
    assert line_of(out, CHECK, "fft_conv", "fused_planned", *SMALL)[-4:] == ["2.00e-07", "3.00e-02", "1e-05", "WRONG with B"]
    assert line_of(out, CHECK, "fft_conv", "fused_graph", *SMALL)[-1] == "skipped with B: needs nvmath-python >= 9.0.0 (x)"
    failed = report_file(tmp_path / "c.json", "1.0.0", {"fused_graph": dict(error="RuntimeError: boom\ntrace",
                                                                             cold_ms=None, correct=None)})
    code, out, _ = run_main(args(conf, reports=[a, failed]))
    assert code == report.CASE_FAILED and line_of(out, CHECK, "fft_conv", "fused_graph", *SMALL)[-1] == (
        "failed with B: RuntimeError: boom")


def test_reports_must_come_from_their_sides_release(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path)
    a, b = report_file(tmp_path / "a.json", "0.9.0"), report_file(tmp_path / "b.json", "1.0.0")
    code, _, err = run_main(args(conf, reports=[b, a]))
    assert code == report.BAD_ARGUMENTS
    assert f"--reports: {b} was made with nvmath-python 1.0.0, but the environment of --env-a has nvmath-python " \
           "0.9.0" in err
    (tmp_path / "bad.json").write_text("{")
    code, _, err = run_main(args(conf, reports=[a, str(tmp_path / "bad.json")]))
    assert code == report.BAD_ARGUMENTS and "--reports: " in err and "is not JSON" in err


def test_compare_releases_command_line(tmp_path):
    pytest.importorskip("asv", reason="needs asv")
    conf = rr.write(tmp_path, [(FFT, ("fused_planned", *SMALL), 1.3)])
    base = [sys.executable, "-m", "fusion_kernels", "compare-releases", rr.COMMIT, "--machine", rr.MACHINE]
    out = subprocess.run([*base, "--env-a", "nvmath-python0.9.0", "--env-b", "nvmath-python1.0.0", "--changed",
                          "--config", str(conf)], cwd=ROOT, env=with_src(), capture_output=True, text=True, timeout=120)
    assert out.returncode == report.OK, out.stderr
    assert "| fused_planned | 256x1024 | complex64 |" in out.stdout and "slower" in out.stdout
    bad = subprocess.run([*base, "--env-a", "nvmath-python0.9.0"], cwd=ROOT, env=with_src(), capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == report.BAD_ARGUMENTS and "the following arguments are required: --env-b" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
