"""The quick asv run (FUSION_KERNELS_QUICK=1): first shape, few repeats, other parameters skip saying so (CPU only)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_asv_offline import asv_available

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.path.insert(0, '.')
from benchmarks import common
from fusion_kernels import workloads
out = {"quick": common.QUICK, "fft": common.quick_options("fft_conv"), "mm": common.quick_options("matmul_bias_relu")}
try:
    common._Suite.case({}, "unfused", "16384x4096", "complex64")
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
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_quick_run_measures_the_first_shape_with_few_repeats():
    from fusion_kernels import suite

    got = probe(quick=True)
    assert got["quick"] is True
    assert got["fft"] == {"shapes": [list(suite.FFT_SHAPES["small"])], "dtypes": [suite.FFT_DTYPES[0]], "repeat": 5}
    assert got["mm"] == {"shapes": [list(suite.MATMUL_SHAPES["small"])], "dtypes": [suite.MATMUL_DTYPES[0]],
                         "repeat": 5}
    assert "quick run" in got["missing"]
    assert "quick run" in got["cold"]  # the cold start at the other dtypes skips, saying why
    assert "cold start of unfused, fused_planned only" in got["cold_strategy"]


def test_a_full_run_measures_everything():
    got = probe(quick=False)
    assert got["quick"] is False and got["fft"] == {} and got["mm"] == {}
    assert "not in this commit's suite" in got["missing"]
    assert "quick run" not in got.get("cold", "") and "quick run" not in got.get("cold_strategy", "")


@pytest.mark.skipif(shutil.which("git") is None or not asv_available(), reason="needs git and asv")
def test_quick_asv_run_saves_nothing(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(repo / "src"), os.environ.get("PYTHONPATH")])))
    out = subprocess.run(
        ["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, "--quick", "HEAD",
         "--", "--bench", "MatmulBiasReLUColdStart.track_first_call_seconds"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "track_first_call_seconds" in out.stdout and "Running 1 total benchmarks" in out.stdout
    saved = [p.name for p in (repo / "asv" / "results" / "ci-test").glob("*.json") if p.name != "machine.json"]
    assert saved == []  # a quick run is a smoke test: its figures are not kept
