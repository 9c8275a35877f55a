"""The quick asv run (FUSION_KERNELS_QUICK=1): first shape, few repeats, other parameters skip saying so (CPU only)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from subprocess_env import with_src
from test_asv_offline import asv_available, asv_env

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.path.insert(0, '.')
from benchmarks import common
from fusion_kernels.suite import workloads
def show(options):
    return {k: (v.__dict__ if hasattr(v, "__dict__") else v) for k, v in options.items()}
out = {"quick": common.QUICK, "fft": show(common.quick_options("fft_conv")), "mm": show(common.quick_options("matmul_bias_relu"))}
try:
    common._Suite().case({}, "unfused", "16384x4096", "complex64")
except NotImplementedError as exc:
    out["missing"] = str(exc)
class Cold(common._ColdStart):
    workload_name = "fft_conv"
try:
    Cold().setup("unfused", workloads.WORKLOADS["fft_conv"].dtypes[-1])
except NotImplementedError as exc:
    out["cold"] = str(exc)
try:
    Cold().setup("fused_graph", workloads.WORKLOADS["fft_conv"].dtypes[0])
except NotImplementedError as exc:
    out["cold_strategy"] = str(exc)
print(json.dumps(out))
"""


def probe(quick):
    env = {k: v for k, v in os.environ.items() if k != "FUSION_KERNELS_QUICK"}
    if quick:
        env["FUSION_KERNELS_QUICK"] = "1"
    env["PYTHONPATH"] = with_src()["PYTHONPATH"]
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_quick_run_measures_the_first_shape_with_few_repeats():
    from fusion_kernels.suite import shapes

    got = probe(quick=True)
    assert got["quick"] is True
    assert got["fft"]["shapes"] == [list(shapes.FFT_SHAPES["small"])] and got["fft"]["dtypes"] == [shapes.FFT_DTYPES[0]]
    assert got["mm"]["shapes"] == [list(shapes.MATMUL_SHAPES["small"])] and got["mm"]["dtypes"] == [shapes.MATMUL_DTYPES[0]]
    for criterion in (got["fft"]["device_criterion"], got["mm"]["wall_criterion"]):  # few samples, a small budget
        assert criterion["min_samples"] <= 3 and criterion["max_seconds"] <= 0.05
    assert "quick run" in got["missing"]
    assert "quick run" in got["cold"]  # the cold start at the other dtypes skips, saying why
    assert "cold start of unfused, fused_planned only" in got["cold_strategy"]


def test_a_full_run_measures_everything():
    got = probe(quick=False)
    assert got["quick"] is False and got["fft"] == {} and got["mm"] == {}
    assert "not in this commit's suite" in got["missing"]
    assert "quick run" not in got.get("cold", "") and "quick run" not in got.get("cold_strategy", "")


@pytest.fixture(scope="module")
def quick_asv_run(tmp_path_factory):
    """`scripts/asv-offline.sh --quick` in a clone, with HOME an empty temporary folder: (output, clone, that HOME)."""
    if shutil.which("git") is None or not asv_available():
        pytest.skip("needs git and asv")
    tmp_path = tmp_path_factory.mktemp("asv-quick")
    repo, home = tmp_path / "repo", tmp_path / "home"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    out = subprocess.run(
        ["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, "--quick", "HEAD",
         "--", "--bench", "MatmulBiasReLUColdStart.track_first_call_seconds"],
        cwd=repo, env=asv_env(repo, home), capture_output=True, text=True, timeout=300)
    return out, repo, home


def test_quick_asv_run_saves_nothing(quick_asv_run):
    out, repo, *_ = quick_asv_run
    assert out.returncode == 0, out.stdout + out.stderr
    assert "track_first_call_seconds" in out.stdout and "Running 1 total benchmarks" in out.stdout
    saved = [p.name for p in (repo / "results" / "ci-test").glob("*.json") if p.name != "machine.json"]
    assert saved == []  # a quick run is a smoke test: its figures are not kept
    assert "skipped:" in out.stdout  # the run ends with why cases were skipped


def test_asv_runs_never_write_the_users_home(quick_asv_run):
    out, _, home = quick_asv_run
    assert out.returncode == 0, out.stdout + out.stderr
    # asv writes its machine file to $HOME/.asv-machine.json: that it is in the temporary HOME, which was
    # empty, shows the user's was not written. (The user's own file is not compared before and after:
    # other asv runs on the machine may write it meanwhile.)
    # On a GPU machine the benchmarks also fill CUDA's JIT cache and CuPy's kernel cache there.
    assert {p.name for p in home.iterdir()} - {".nv", ".cupy"} == {".asv-machine.json"}
    assert "ci-test" in json.loads((home / ".asv-machine.json").read_text())
