"""The package, its CLI and its tables work on a machine without CuPy or a GPU (CPU only)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fusion_kernels
from fusion_kernels.gpu import backend
from fusion_kernels.oracle import tolerances
from fusion_kernels.suite import roofline, shapes, workloads
from fusion_kernels.suite.strategy import Need


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)


SUBPACKAGES = ("gpu", "kernels", "oracle", "suite", "harness", "distributed")


def test_import_does_not_import_gpu_libraries():
    packages = ", ".join(f"fusion_kernels.{p}" for p in SUBPACKAGES)
    code = (f"import sys, fusion_kernels, {packages}, fusion_kernels.suite.workloads; "
            "print(sorted(m for m in ('cupy', 'nvmath', 'numba', 'torch') if m in sys.modules))")
    out = run("-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    # Each folder's __init__.py is its docstring and nothing else: importing a folder imports nothing.
    for p in SUBPACKAGES:
        init = Path(fusion_kernels.__file__).parent / p / "__init__.py"
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0].value, ast.Constant), f"{init} holds more than its docstring"


def test_cli_info_says_what_is_missing_without_traceback():
    out = run("-m", "fusion_kernels", "info", "--json")
    assert "Traceback" not in out.stderr
    info = json.loads(out.stdout)
    assert set(info) >= {"versions", "gpu", "nvmath", "fft_callbacks"}
    if backend.gpu_reason():
        assert out.returncode == 1
        assert info["gpu"] == backend.gpu_reason()
    else:
        assert out.returncode == 0


def test_suite_has_seed_and_large_sizes():
    assert (2000, 1000, 4000) in shapes.MATMUL_SHAPES.values()
    assert (16384, 1024, 16384) in shapes.MATMUL_SHAPES.values()
    assert (256, 1024) in shapes.FFT_SHAPES.values()
    assert (16384, 4096) in shapes.FFT_SHAPES.values()
    assert any(s % 8 for shape in shapes.MATMUL_TEST_SHAPES for s in shape)


def test_tolerance_table_covers_every_suite_dtype():
    for dtype in shapes.MATMUL_DTYPES + shapes.FFT_DTYPES:
        assert 0 < tolerances.tolerance(dtype) < 0.05


def test_relative_error():
    ref = np.array([3.0, 4.0])
    assert tolerances.relative_error(ref, ref) == 0.0
    assert tolerances.relative_error(np.array([3.0, 4.5]), ref) == pytest.approx(0.1)
    assert tolerances.relative_error(np.array([np.nan, 4.0]), ref) == float("inf")
    assert tolerances.relative_error(np.ones(3), ref) == float("inf")
    assert not tolerances.is_close(np.array([3.0, 4.001]), ref, "float64")
    assert tolerances.is_close(np.array([3.0, 4.00001], dtype=np.float32), ref, "float32")


def test_matmul_byte_counts():
    # fused: a, b, bias read once, c written once; unfused adds four passes over c
    mm = workloads.WORKLOADS["matmul_bias_relu"]
    assert mm.bytes((2, 3, 4), "float32", "fused_planned") == 4 * (6 + 12 + 2 + 8)
    assert mm.bytes((2, 3, 4), "float32", "unfused") == 4 * (6 + 12 + 2 + 5 * 8)
    assert roofline.matmul_flops((2, 3, 4)) == 2 * 2 * 3 * 4 + 2 * 8


def test_fft_byte_counts_and_bound():
    one_array = 16384 * 4096 * 8
    fft = workloads.WORKLOADS["fft_conv"]
    assert fft.bytes((16384, 4096), "complex64", "fused_planned") == 5 * one_array
    assert fft.bytes((16384, 4096), "complex64", "unfused") == 9 * one_array
    peaks = {"bandwidth": 3.0e12, "flops": {"complex64": 50e12}}
    t = roofline.bound_seconds(roofline.fft_conv_flops((16384, 4096)), 5 * one_array, "complex64", peaks)
    assert t == pytest.approx(5 * one_array / 3.0e12)  # memory-bound


def test_input_makers_are_seeded_and_never_zero():
    from fusion_kernels.suite import inputs

    a1, b1, bias1 = inputs.matmul_inputs((5, 7, 3), "float16", seed=3, device="cpu")
    a2, *_ = inputs.matmul_inputs((5, 7, 3), "float16", seed=3, device="cpu")
    a3, *_ = inputs.matmul_inputs((5, 7, 3), "float16", seed=4, device="cpu")
    assert a1.dtype == np.float16 and a1.shape == (5, 7) and bias1.shape == (5,)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, a3)
    x, f = inputs.fft_inputs((2, 16), "complex64", seed=0, device="cpu")
    assert x.dtype == np.complex64 and np.count_nonzero(x) == x.size and np.abs(x.imag).max() > 0


def test_measure_records_why_a_case_cannot_run(monkeypatch):
    from fusion_kernels.harness import measure

    why = "nvmath-python is not installed (simulated)"
    monkeypatch.setattr(measure, "availability", lambda workload, strategy: why)
    res = measure.measure_case("matmul_bias_relu", "fused_planned", (8, 8, 8), "float32")
    assert res.skip == why and res.call_seconds == []
    out = measure.measure_workload("fft_conv", shapes=[(4, 8)], dtypes=["complex64"])
    from fusion_kernels.kernels import fftconv

    assert set(out) == {(s, "4x8", "complex64") for s in fftconv.STRATEGIES}
    assert all(r.skip for r in out.values())


def test_asv_suite_import_initialises_no_gpu_library():
    # asv's forkserver imports the suite once and forks every benchmark from it:
    # a CUDA context (or CuPy/nvmath/numba) in that server would break the children.
    code = (
        "import sys; sys.path.insert(0, '.'); import benchmarks.bench_matmul, benchmarks.bench_fftconv, benchmarks.bench_matmul_family; "
        "print(sorted(m for m in ('cupy', 'nvmath', 'numba', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=__import__("pathlib").Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ALL_WORKLOADS = list(__import__("fusion_kernels.suite.workloads").suite.workloads.WORKLOADS)


@pytest.mark.parametrize("name", ALL_WORKLOADS)
def test_sampled_error_checks_only_the_sampled_rows(name):
    from fusion_kernels.harness import measure
    from fusion_kernels.suite import workloads

    w = workloads.WORKLOADS[name]
    shape = (200, 16, 24) if len(next(iter(w.shapes.values()))) == 3 else (200, 32)
    args = w.make_inputs(shape, w.dtypes[-1], seed=1, device="cpu")
    exact = w.reference(*args)
    assert measure.sampled_error(w, args, exact) == 0.0
    wrong = exact.copy()
    wrong[:] = wrong * 1.001  # every row off by 0.1%
    assert measure.sampled_error(w, args, wrong) == pytest.approx(1e-3, rel=1e-6)


@pytest.mark.parametrize("name", ALL_WORKLOADS)
def test_every_strategy_has_requirements_and_byte_counts(name):
    w = workloads.WORKLOADS[name]
    assert all(isinstance(s.needs, Need) and s.name == key for key, s in w.strategies.items())
    shape = next(iter(w.shapes.values()))
    counts = {s: w.bytes(shape, w.dtypes[0], s) for s in w.strategies}
    if "unfused" in counts:
        assert counts["unfused"] == max(counts.values())  # fusion never moves more bytes


def test_wheel_libraries_are_found_in_target_folders(tmp_path):
    lib = tmp_path / "nvidia" / "cublasmp" / "cu13" / "lib"
    lib.mkdir(parents=True)
    (lib / "libcublasmp.so.0").write_bytes(b"")
    assert backend.wheel_libs_on_path("cublasmp", [str(tmp_path)]) == [str(lib / "libcublasmp.so.0")]
    assert backend.wheel_libs_on_path("cufftmp", [str(tmp_path)]) == []
    assert backend.wheel_libs_on_path("nvshmem", [str(tmp_path)]) == []


def test_preload_loads_dependencies_first_and_keeps_the_loader_error(tmp_path, monkeypatch):
    lib = tmp_path / "nvidia" / "cublasmp" / "cu13" / "lib"
    nccl = tmp_path / "nvidia" / "nccl" / "lib"
    for folder, name in ((lib, "libcublasmp.so.0"), (nccl, "libnccl.so.2")):
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"not an ELF file")
    monkeypatch.setattr("sys.path", [str(tmp_path)])
    monkeypatch.setattr(backend, "_PRELOAD_ERRORS", {})
    backend._preload("cublasmp")
    assert backend._PRELOAD_ERRORS["cublasmp"].startswith(f"loading {nccl / 'libnccl.so.2'} failed")


def test_results_table_renders_the_matmul_family():
    import glob
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted(glob.glob(str(root / "results/h100-80gb-hbm3/55063486-*.json")))
    if not files:
        pytest.skip("the committed matmul-family results are not in this checkout")
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "table", files[0], "MatmulEpilogs", "MatmulPeers"],
                         cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "| GELU_BIAS | 2000x1000x4000 | float16 |" in out.stdout
    assert "torch_eager / GEMM" in out.stdout and "n/a |" not in out.stdout.split("MatmulPeers")[1]


def test_results_table_renders_the_cold_and_warm_figures():
    import glob
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted(glob.glob(str(root / "results/h200/b3c08a0f-*.json")))
    if not files:
        pytest.skip("the committed H200 results are not in this checkout")
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "table", files[0], "FFTConv"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "### FFTConv: cold device time (ms)" in out.stdout and "fused_planned / bound" in out.stdout
    assert "nvmath-python1.0.0" in out.stdout  # the environment names the software
    bad = subprocess.run([sys.executable, "-m", "fusion_kernels", "table", "README.md"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "is not an asv results file" in bad.stderr


@pytest.mark.parametrize("reasons", [
    # no CuPy: every later check repeats its reason, install hint included
    dict(gpu="cupy-missing", nvmath="cupy-missing", fft_callbacks="cupy-missing", fft_dx="cupy-missing"),
    dict(gpu=None, nvmath="nvmath-missing", fft_callbacks="nvmath-missing", fft_dx="nvmath-missing"),
    dict(gpu=None, nvmath=None, fft_callbacks="numba-missing", fft_dx="numba-missing"),
])
def test_cli_info_says_each_missing_piece_once_as_lines(monkeypatch, capsys, reasons):
    from fusion_kernels import cli

    said = {"cupy-missing": f"CuPy is not importable (ModuleNotFoundError); {backend.INSTALL_HINT}",
            "nvmath-missing": f"nvmath-python is not installed (ModuleNotFoundError); {backend.INSTALL_HINT}",
            "numba-missing": "numba-cuda is not importable (AttributeError); Install nvmath-python[numba] with numpy<2.5"}
    for key, fn in (("gpu", "gpu_reason"), ("nvmath", "nvmath_reason"), ("fft_callbacks", "callbacks_reason"),
                    ("fft_dx", "dx_reason")):
        monkeypatch.setattr(backend, fn, lambda why=said.get(reasons[key]): why)
    monkeypatch.setattr(backend, "device_name", lambda: "Fake GPU")
    monkeypatch.setattr(backend, "versions", lambda: {"numpy": "2.4", "cupy": "missing"})
    status = cli.main(["info"])
    lines = capsys.readouterr().out.splitlines()
    assert status == (1 if reasons["gpu"] else 0)
    assert lines[0].startswith("fusion-kernels ") and lines[1] == "versions: numpy 2.4, cupy missing"
    assert [line.split(": ", 1)[0] for line in lines[2:]] == ["gpu", "nvmath", "fft_callbacks", "fft_dx"]
    assert not any(c in "".join(lines) for c in "{}")  # lines, not a dict
    for why in set(reasons.values()) - {None}:
        assert sum(said[why] in line for line in lines) == 1
    assert sum(backend.INSTALL_HINT in line for line in lines) <= 1
    assert lines[-1] == "fft_dx: unavailable (the reason above)"
