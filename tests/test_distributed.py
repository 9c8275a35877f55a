"""Distributed pieces that run without a GPU: validation, scaling math, the asv results writer, the launchers."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fusion_kernels.distributed import scaling, workloads as distributed
from fusion_kernels.gpu import backend
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parents[1]


class FakeCupy:
    """Metadata of a cupy.ndarray (checks read only these), so validation is tested without a GPU."""

    __module__ = "cupy._core.core"

    def __init__(self, shape, dtype="float32", order="F"):
        self.shape, self.ndim, self.dtype = tuple(shape), len(shape), np.dtype(dtype)
        self.strides = np.empty(shape, dtype=dtype, order=order).strides
        self.flags = np.empty(shape, dtype=dtype, order=order).flags


FakeCupy.__module__ = "cupy._core.core"


def test_import_loads_no_gpu_library():
    code = ("import sys; import fusion_kernels.distributed.workloads, fusion_kernels.distributed.scaling; "
            "print([m for m in ('cupy', 'torch', 'nvmath', 'nccl') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=with_src())
    assert out.stdout.strip() == "[]"


def test_multicast_off_sets_all_three(monkeypatch):
    for k in distributed.MULTICAST_OFF:
        monkeypatch.setenv(k, "1" if k == "NCCL_NVLS_ENABLE" else "0")
    distributed.multicast_off()
    assert {k: os.environ[k] for k in distributed.MULTICAST_OFF} == {
        "NCCL_NVLS_ENABLE": "0", "NVSHMEM_DISABLE_NVLS": "1", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1"}


@pytest.mark.parametrize("path", ["scripts/distributed-run.sh", "tests/test_distributed_gpu.py"])
def test_every_launcher_turns_multicast_off(path):
    text = (ROOT / path).read_text()
    for k, v in distributed.MULTICAST_OFF.items():
        assert re.search(rf"{k}[\"']?\s*[:=]\s*[\"']?{v}", text), f"{path} does not set {k}={v}"
    assert "cuMulticastCreate" not in text


def test_run_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "scripts/distributed-run.sh")], check=True)


def test_init_checks_backends_and_launcher(monkeypatch):
    with pytest.raises(ValueError, match=r"backends must be drawn from .*'mpi'"):
        distributed.init(("nccl", "mpi"))
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun"):
        distributed.init(())


def test_distributed_reason_names_what_is_missing():
    with pytest.raises(ValueError, match=r"needs must be drawn from .*'cufft'"):
        backend.distributed_reason(("cufft",))
    why = backend.distributed_reason()
    if backend.gpu_reason():
        assert why == backend.gpu_reason()
    elif why:  # a GPU machine without the distributed libraries names the pip packages
        assert "pip install" in why or "torch" in why


def test_row_and_column_blocks():
    x = np.arange(24.0).reshape(6, 4)
    parts = [distributed.row_block(x, r, 3, order="F") for r in range(3)]
    assert all(p.flags.f_contiguous for p in parts)
    np.testing.assert_array_equal(np.vstack(parts), x)
    np.testing.assert_array_equal(np.hstack([distributed.col_block(x, r, 2) for r in range(2)]), x)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: distributed.row_block(np.ones((5, 2)), 0, 2), ValueError, r"number of rows = 5 is not divisible by the 2"),
    (lambda: distributed.col_block(np.ones((4, 3)), 0, 2), ValueError, r"number of columns = 3"),
    (lambda: distributed.row_block(np.ones((4, 2)), 2, 2), ValueError, r"rank must be an int in \[0, 2\), got 2"),
    (lambda: distributed.row_block(np.ones((4, 2)), 0, 0), ValueError, r"nranks must be a positive int"),
    (lambda: distributed.row_block(np.ones((4, 2)), 0, 2, order="K"), ValueError, r"order must be 'C' or 'F'"),
    (lambda: distributed.matmul_blocks(np.ones((6, 4)), np.ones((4, 8)), np.ones(6), 0, 4), ValueError, r"m = a.shape\[0\] = 6"),
    (lambda: distributed.matmul_blocks(np.ones((8, 4)), np.ones((4, 6)), np.ones(8), 0, 4), ValueError, r"n = b.shape\[1\] = 6"),
    (lambda: distributed.matmul_blocks(np.ones((8, 4)), np.ones((4, 8)), np.ones(4), 0, 4), ValueError, r"bias must have length m"),
    (lambda: distributed.fft2_blocks(np.ones((8, 6), np.complex64), np.ones((8, 6), np.complex64), 0, 4), ValueError, r"a.shape\[1\] = 6"),
    (lambda: distributed.fft2_blocks(np.ones((8, 8), np.complex64), np.ones((8, 4), np.complex64), 0, 4), ValueError, r"filter must have the shape of a"),
])
def test_block_validation(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("cls", [distributed.DistributedFusedMatmul, distributed.DistributedUnfusedMatmul])
def test_matmul_validation_before_gpu_work(cls):
    with pytest.raises(TypeError, match=r"a must be a cupy.ndarray on the GPU"):
        cls(np.ones((4, 3), order="F"), np.ones((3, 2), order="F"), np.ones(4))
    with pytest.raises(ValueError, match=r"bias must have length m = a.shape\[0\] = 4"):
        cls(FakeCupy((4, 3)), FakeCupy((3, 2)), FakeCupy((2,)))
    with pytest.raises(ValueError, match=r"b must be this rank's block in column-major"):
        cls(FakeCupy((4, 3)), FakeCupy((3, 2), order="C"), FakeCupy((4,)))
    if backend.distributed_reason(("cublasmp",)):  # valid blocks: then the missing library is named
        with pytest.raises(backend.GPUUnavailable):
            cls(FakeCupy((4, 3)), FakeCupy((3, 2)), FakeCupy((4,)))


@pytest.mark.parametrize("cls", [distributed.DistributedFFTConv, distributed.DistributedUnfusedFFTConv])
def test_fft2_validation_before_gpu_work(cls):
    with pytest.raises(TypeError, match=r"filter has dtype complex128 but a has dtype complex64"):
        cls(FakeCupy((2, 8), "complex64", "C"), FakeCupy((4, 4), "complex128", "C"))
    with pytest.raises(TypeError, match=r"a must be a cupy.ndarray"):
        cls(np.ones((2, 8), np.complex64), np.ones((4, 4), np.complex64))
    with pytest.raises(TypeError, match=r"a has unsupported dtype float32"):
        cls(FakeCupy((2, 8), "float32", "C"), FakeCupy((4, 4), "float32", "C"))


def test_row_split_validation():
    with pytest.raises(TypeError, match=r"fused must be True or False, got str"):
        distributed.RowSplitFFTConv(FakeCupy((2, 8), "complex64", "C"), FakeCupy((2, 8), "complex64", "C"), fused="yes")
    with pytest.raises(ValueError, match=r"filter must have the shape of a"):
        distributed.RowSplitFFTConv(FakeCupy((2, 8), "complex64", "C"), FakeCupy((2, 4), "complex64", "C"))


# ---------------------------------------------------------------- scaling


def run(n, *cases):
    return {"world_size": n, "cases": [dict(workload="matmul", strategy=s, shape="64x64x64", dtype="float32",
                                            seconds=t, peak_bytes=b, correct=True) for s, t, b in cases]}


RUNS = [run(1, ("fused", 8.0, 100), ("unfused", 10.0, 300)),
        run(2, ("fused", 5.0, 60), ("unfused", 5.0, 150)),
        run(4, ("fused", 4.0, 40))]


def test_speedup_and_efficiency():
    assert scaling.speedup(8.0, 4.0) == 2.0
    assert scaling.efficiency(8.0, 4.0, 2) == 1.0
    assert scaling.efficiency(8.0, 4.0, 4) == 0.5
    with pytest.raises(ValueError, match="positive"):
        scaling.speedup(0.0, 1.0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        scaling.efficiency(1.0, 1.0, 0)


def test_scaling_rows():
    rows = {(r["strategy"], r["gpus"]): r for r in scaling.scaling_rows(RUNS)}
    assert rows[("fused", 2)]["speedup"] == pytest.approx(1.6)
    assert rows[("fused", 4)]["efficiency"] == pytest.approx(8.0 / (4 * 4.0))
    assert rows[("unfused", 2)]["efficiency"] == pytest.approx(1.0)
    assert rows[("fused", 1)]["efficiency"] == 1.0
    assert rows[("unfused", 2)]["peak_bytes"] == 150
    no_base = {(r["strategy"], r["gpus"]): r for r in scaling.scaling_rows(RUNS[1:])}
    assert no_base[("fused", 4)]["speedup"] is None


def test_scaling_rejects_duplicate_world_size_and_bad_runs():
    with pytest.raises(ValueError, match="two runs with 2 GPUs"):
        scaling.scaling_rows([RUNS[1], RUNS[1]])
    with pytest.raises(ValueError, match="world_size"):
        scaling.scaling_rows([{"cases": []}])
    with pytest.raises(ValueError, match="lacks seconds"):
        scaling.scaling_rows([{"world_size": 1, "cases": [{"workload": "w", "strategy": "s", "shape": "1", "dtype": "f"}]}])


def test_markdown_table():
    table = scaling.markdown_table(scaling.scaling_rows(RUNS))
    lines = table.strip().splitlines()
    assert lines[0].startswith("| workload | strategy | shape | dtype | GPUs | time (ms)")
    assert len(lines) == 2 + 5
    assert "| matmul | fused | 64x64x64 | float32 | 4 | 4000.000 | 2.00 | 0.50 | 40 | yes |" in lines
    assert "n/a" in scaling.markdown_table(scaling.scaling_rows(RUNS[1:]))


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_asv_writer_rejects_bad_names(tmp_path):
    rows = scaling.scaling_rows(RUNS)
    with pytest.raises(ValueError, match="commit_hash"):
        scaling.write_asv(str(tmp_path), rows, machine="h200-x4", commit_hash="abc", date_ms=1, python="py")
    with pytest.raises(ValueError, match="machine"):
        scaling.write_asv(str(tmp_path), rows, machine="../x", commit_hash=COMMIT, date_ms=1, python="py")


def test_asv_results_load_with_asv(tmp_path):
    results_mod = pytest.importorskip("asv.results")
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    suite = ROOT / "results" / "benchmarks.json"
    existing = json.loads(suite.read_text())
    (results_dir / "benchmarks.json").write_text(suite.read_text())
    rows = scaling.scaling_rows(RUNS)
    path = scaling.write_asv(str(results_dir), rows, machine="h200-x4", commit_hash=COMMIT, date_ms=1795575280000,
                             python="/usr/bin/python3")
    assert path == str(results_dir / "h200-x4" / f"{COMMIT[:8]}-{scaling.ASV_ENV_NAME}.json")
    assert json.loads((results_dir / "h200-x4" / "machine.json").read_text()) == {"machine": "h200-x4", "version": 1}
    benchmarks = json.loads((results_dir / "benchmarks.json").read_text())
    for name, entry in existing.items():  # the suite's own entries are untouched
        assert benchmarks[name] == entry
    loaded = results_mod.Results.load(path, machine_name="h200-x4")
    assert loaded.commit_hash == COMMIT
    keys = loaded.get_result_keys(benchmarks)
    assert keys == set(scaling.ASV_BENCHMARKS)
    name = "distributed.StrongScaling.track_seconds_per_call"
    params = benchmarks[name]["params"]
    values = loaded.get_result_value(name, params)
    grid = [(c, s, d, g) for c in params[0] for s in params[1] for d in params[2] for g in params[3]]
    got = dict(zip(grid, values))
    assert got[("'matmul:fused'", "'64x64x64'", "'float32'", "'4'")] == 4.0
    assert got[("'matmul:unfused'", "'64x64x64'", "'float32'", "'1'")] == 10.0
    assert got[("'matmul:unfused'", "'64x64x64'", "'float32'", "'4'")] is None  # not run
    peaks = loaded.get_result_value("distributed.StrongScaling.track_peak_bytes_per_gpu", params)
    assert dict(zip(grid, peaks))[("'matmul:fused'", "'64x64x64'", "'float32'", "'2'")] == 60.0
    # A second machine's rows widen the filed parameters; the first machine's results still map.
    more = scaling.scaling_rows([run(8, ("fused", 2.0, 20))])
    scaling.write_asv(str(results_dir), more, machine="h200-x8", commit_hash=COMMIT, date_ms=1, python="p")
    benchmarks = json.loads((results_dir / "benchmarks.json").read_text())
    assert benchmarks[name]["params"][3] == ["'1'", "'2'", "'4'", "'8'"]
    widened = benchmarks[name]["params"]
    values = dict(zip([(c, s, d, g) for c in widened[0] for s in widened[1] for d in widened[2] for g in widened[3]],
                      loaded.get_result_value(name, widened)))
    assert values[("'matmul:fused'", "'64x64x64'", "'float32'", "'4'")] == 4.0


def test_scaling_script_end_to_end(tmp_path):
    paths = []
    for r in RUNS:
        p = tmp_path / f"n{r['world_size']}.json"
        p.write_text(json.dumps({**r, "machine": "h200-x4", "commit": COMMIT, "date_ms": 5, "python": "py",
                                 "skipped": {"fftconv_2d": "cufftmp is not usable; pip install nvidia-cufftmp-cu13"}}))
        paths.append(str(p))
    md = tmp_path / "scaling.md"
    subprocess.run([sys.executable, "-m", "fusion_kernels", "distributed-scaling", *paths, "--markdown", str(md),
                    "--asv-results", str(tmp_path / "asv")], check=True, capture_output=True,
                   env=with_src())
    text = md.read_text()
    assert "| matmul | unfused | 64x64x64 | float32 | 2 | 5000.000 | 2.00 | 1.00 | 150 | yes |" in text
    assert "skipped fftconv_2d: cufftmp" in text
    assert (tmp_path / "asv" / "h200-x4" / f"{COMMIT[:8]}-{scaling.ASV_ENV_NAME}.json").exists()
