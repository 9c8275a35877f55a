"""Distributed strategies under torchrun on 1 and 2 GPUs, checked against a float64 single-GPU result.

Each case launches `fusion-kernels distributed-bench` on a small problem; the command
gathers every strategy's result and compares it with fusion_kernels' single-GPU
computation of the same seeded inputs in float64 (the tolerance is the dtype's).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fusion_kernels.gpu import backend
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parents[1]
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "NVSHMEM_DISABLE_NVLS": "1", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1"}

CASES = [
    pytest.param("matmul", ["--matmul-shape", "256x128x192", "--matmul-dtype", "float32"],
                 marks=pytest.mark.distributed("cublasmp"), id="matmul"),
    pytest.param("matmul", ["--matmul-shape", "128x64x64", "--matmul-dtype", "float64"],
                 marks=pytest.mark.distributed("cublasmp"), id="matmul-f64"),
    pytest.param("fftconv_rows", ["--fft-shape", "64x256", "--fft-dtype", "complex64"],
                 marks=pytest.mark.distributed(), id="fftconv_rows"),
    pytest.param("fftconv_2d", ["--fft-shape", "64x128", "--fft-dtype", "complex128"],
                 marks=pytest.mark.distributed("cufftmp"), id="fftconv_2d"),
]


def gpu_count() -> int:
    return backend.cupy().cuda.runtime.getDeviceCount()


@pytest.mark.gpu
@pytest.mark.parametrize("nproc", [1, 2])
@pytest.mark.parametrize("workload, options", CASES)
def test_torchrun_matches_single_gpu(tmp_path, workload, options, nproc):
    if nproc > gpu_count():
        pytest.skip(f"needs {nproc} GPUs, this machine has {gpu_count()}")
    out = tmp_path / "run.json"
    env = with_src(**MULTICAST_OFF)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "-m", "fusion_kernels", "distributed-bench", "--workloads", workload, "--repeat", "20", "--out", str(out), *options]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    run = json.loads(out.read_text())
    assert run["world_size"] == nproc
    assert run["env"] == MULTICAST_OFF
    assert not run["skipped"], run["skipped"]
    cases = run["cases"]
    assert {c["strategy"] for c in cases} >= {"unfused"}
    for c in cases:
        assert c["relative_error"] <= c["tolerance"], c
        assert c["correct"] is True
        assert c["seconds"] > 0 and len(c["samples"]) == 20
        assert c["peak_bytes"] > 0
    if workload == "matmul":
        assert {c["fusion"] for c in cases if c["strategy"] == "fused"} <= {"epilog", "partial"}
