"""The tools that were scripts, now `fusion-kernels` subcommands (CPU only): --help, argument errors in
one line with exit 2 naming the argument, one line and exit 1 where a GPU is needed and there is none;
and the pure pieces they share (shape parser, Markdown tables, the bars' strategy lists)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fusion_kernels import cli
from fusion_kernels.distributed import workloads as distributed
from fusion_kernels.gpu import backend
from fusion_kernels.harness import bars, launch_tuning, profiling, tables
from fusion_kernels.suite import checks
from fusion_kernels.suite.workloads import WORKLOADS
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ["events", "memory", "errors", "host-noise", "cpu-sweep", "graph-host"]
TOOLS = [["bars", "matmul"], ["bars", "fft"], *(["quality", q] for q in QUALITY), ["tune", "single-kernel"],
         ["profile"], ["check", "drelu-bgrad"], ["distributed-bench"], ["distributed-scaling"], ["site", "vendor"],
         ["site", "guide"]]


def run(*args):
    env = with_src(CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-m", "fusion_kernels", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_no_python_file_is_left_in_scripts():
    assert sorted(p.name for p in (ROOT / "scripts").rglob("*.py")) == []


@pytest.mark.parametrize("words", TOOLS, ids=" ".join)
def test_help(words):
    out = run(*words, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: fusion-kernels " + " ".join(words))


@pytest.mark.parametrize("args, message", [
    (["bars", "matmul", "--repeat", "0"], "argument --repeat: must be 1 or more, got 0"),
    (["bars", "fft", "--samples", "x"], "argument --samples: must be a whole number, got 'x'"),
    (["bars", "fft", "--bogus"], "unrecognized arguments: --bogus"),
    (["quality", "host-noise", "--pin", "--fastest"], "argument --fastest: not allowed with argument --pin"),
    (["quality", "cpu-sweep", "--pin"], "unrecognized arguments: --pin"),
    (["tune", "single-kernel", "16384x4096"], "argument CASE: CASE must look like BATCHxN:DTYPE"),
    (["tune", "single-kernel", "16384:complex64"], "CASE's BATCHxN must have 2 positive sizes"),
    (["tune", "single-kernel", "64x64:complex64", "--fpb", "0"], "argument --fpb: must be 1 or more, got 0"),
    (["profile", "fft_conv", "fused_planned", "256x1024"], "the following arguments are required: dtype"),
    (["profile", "fft_conv", "nope", "256x1024", "complex64"], "STRATEGY of fft_conv must be one of unfused,"),
    (["profile", "fft_conv", "unfused", "2x3x4", "complex64"], "SHAPE of fft_conv must have 2 positive sizes"),
    (["profile", "fft_conv", "unfused", "256x1024", "float16"], "DTYPE of fft_conv must be one of complex64"),
    (["profile", "fft_conv", "unfused", "256x1024", "complex64", "--calls", "-1"], "argument --calls"),
    (["check", "drelu-bgrad", "--shape", "257x129"], "argument --shape: --shape must have 3 positive sizes"),
    (["check", "drelu-bgrad", "--dtype", "complex64"], "argument --dtype: invalid choice: 'complex64'"),
    (["distributed-bench"], "the following arguments are required: --out"),
    (["distributed-bench", "--out", "x.json", "--repeat", "19"], "argument --repeat: must be 20 or more, got 19"),
    (["distributed-bench", "--out", "x.json", "--workloads", "matmul,fft"], "argument --workloads: must be a "
                                                                            "comma-separated subset of matmul,"),
    (["distributed-bench", "--out", "x.json", "--fft-shape", "4x4x4"], "argument --fft-shape: --fft-shape must have 2"),
    (["distributed-bench", "--out", "x.json", "--matmul-shape", "8x0x8"], "--matmul-shape must have 3 positive"),
    (["distributed-scaling"], "the following arguments are required: runs"),
    (["distributed-scaling", "/no/such/run.json"], "cannot read or write /no/such/run.json"),
])
def test_argument_errors_are_one_line_and_exit_2(args, message):
    out = run(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [
    ["bars", "matmul"], ["bars", "fft"], *(["quality", q] for q in QUALITY if q != "cpu-sweep"),
    ["tune", "single-kernel", "64x64:complex64"], ["profile", "fft_conv", "fused_planned", "256x1024", "complex64"],
    ["check", "drelu-bgrad"], ["distributed-bench", "--out", "never-written.json"],
], ids=" ".join)
def test_without_a_gpu_one_line_and_exit_1(args):
    out = run(*args)
    assert out.returncode == cli.NO_GPU == 1, out.stdout + out.stderr
    assert out.stderr.startswith(f"fusion-kernels {args[0]}") and ": cannot run here: " in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (ROOT / "never-written.json").exists()


def test_cpu_sweep_needs_no_gpu():
    out = run("quality", "cpu-sweep")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "| round | " + " | ".join(f"CPU {c}" for c in sorted(os.sched_getaffinity(0))) + " |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| 1", "| 2", "| 3"]


def test_distributed_bench_turns_multicast_off_before_anything(monkeypatch, capsys):
    for k in distributed.MULTICAST_OFF:
        monkeypatch.setenv(k, "1" if k == "NCCL_NVLS_ENABLE" else "0")
    monkeypatch.setattr(backend, "gpu_reason", lambda: "no CUDA device")
    assert cli.main(["distributed-bench", "--out", "never-written.json"]) == 1
    assert {k: os.environ[k] for k in distributed.MULTICAST_OFF} == distributed.MULTICAST_OFF
    assert "cannot run here: no CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize("part, message", [("vendor", "no HTML pages in"), ("guide", "no index.json in")])
def test_site_commands_take_asv_publish_arguments_and_say_what_is_missing(tmp_path, part, message):
    out = run("site", part, "--html-dir", str(tmp_path), "--no-pull", "-v")  # asv publish's own flags: ignored
    assert out.returncode == 1 and out.stderr.startswith(f"fusion-kernels site {part}: {message} {tmp_path}")
    assert "Traceback" not in out.stderr


# ---- the shared pieces ----

def test_one_shape_parser_names_the_option_and_what_it_got():
    assert checks.parse_shape("2000X1000x4000") == (2000, 1000, 4000)
    assert checks.parse_shape("256x1024", "SHAPE", ranks=(2,)) == (256, 1024)
    with pytest.raises(ValueError, match=r"^--fft-shape must have 2 positive sizes .* got '4x4x4'$"):
        checks.parse_shape("4x4x4", "--fft-shape", ranks=(2,))
    with pytest.raises(ValueError, match=r"^--shape must look like 256x1024 or 2000x1000x4000, got '4x'$"):
        checks.parse_shape("4x")
    with pytest.raises(ValueError, match="got '0x5'"):
        checks.parse_shape("0x5")


def test_markdown_tables_align_and_keep_one_row_per_line():
    text = tables.markdown(["a", "b"], [[1, "x | y\nz"], [None, 2.5]], align="lr")
    assert text.splitlines() == ["| a | b |", "|---|---:|", "| 1 | x / y z |", "|  | 2.5 |"]
    with pytest.raises(ValueError, match="a row has 1 cells, the table 2 columns"):
        tables.markdown(["a", "b"], [[1]])


def test_tune_case_and_profile_arguments():
    assert launch_tuning.parse_case("16384x4096:complex128") == ((16384, 4096), "complex128")
    with pytest.raises(ValueError, match="DTYPE one of complex64, complex128"):
        launch_tuning.parse_case("16x64:float32")
    assert profiling.check("matmul_bias_relu", "fused_graph", "4x5x6", "float16") == (4, 5, 6)
    with pytest.raises(ValueError, match="SHAPE of matmul_bias_relu must have 3"):
        profiling.check("matmul_bias_relu", "fused_graph", "4x5", "float16")


def test_matmul_bar_reads_the_workload_declarations():
    assert bars.OURS == [s for s in WORKLOADS["matmul_bias_relu"].strategies if s != "auto"]
    assert "unfused" in bars.OURS and "unfused" not in bars.FUSED and "auto" not in bars.FUSED
    assert [g for g, _ in bars.MATMUL_GROUPS] == ["matmul_bias_relu", "matmul_gemm", "matmul_peers"]
    gemm, peer = bars.MATMUL_GROUPS[1][1][0], bars.MATMUL_GROUPS[2][1][0]

    def fig(t, correct=True):
        return {"device_s": t, "host_s": t / 2, "call_s": 2 * t, "correct": correct}

    case = {"shape": "4x5x6", "dtype": "float16", "strategies": {
        "unfused": fig(3.0), "fused_planned": fig(1.04), "partial": fig(2.0, correct=False), gemm: fig(1.0),
        peer: fig(2.08)}}
    row = bars.matmul_summary(case)
    assert (row["best"], row["gemm"], row["peer"]) == ("fused_planned", gemm, peer)
    assert row["best_over_gemm"] == pytest.approx(1.04) and row["meets_bar"] is True
    assert row["best_over_peer"] == pytest.approx(0.5) and row["wrong"] == ["partial"]
    table = bars.matmul_table([row])
    assert "| 4x5x6 | float16 | fused_planned | 1040000.0 | 1000000.0 (" in table and "| partial |" in table
