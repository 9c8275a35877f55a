"""Every `fusion-kernels` subcommand: --help, argument errors in one line, and a message (never a
traceback) where it needs a GPU and there is none (CPU only)."""

import subprocess
import sys
from pathlib import Path

import pytest
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = [["info"], ["report"], ["fingerprint"], ["compare"], ["compare-releases"], ["quality", "nvbench"],
               ["quality", "aa"], ["table"], ["asv-summary"]]
# A parent's help renders each child's help text (argparse %-formats it): a stray % crashed `quality --help`.
GROUPS = [[], ["quality"], ["bars"], ["tune"], ["check"], ["site"]]


def run(*args):
    env = with_src(CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-m", "fusion_kernels", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("words", SUBCOMMANDS + GROUPS, ids=lambda w: " ".join(w) or "fusion-kernels")
def test_help(words):
    out = run(*words, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(" ".join(["usage: fusion-kernels", *words]))


@pytest.mark.parametrize("args, message", [
    (["compare", "abc"], "the following arguments are required"),
    (["compare-releases", "abc", "--machine", "h200"], "the following arguments are required: --env-a, --env-b"),
    (["compare-releases", "abc", "--machine", "h200", "--env-a", "x", "--env-b", "y", "--figure", "host"],
     "invalid choice: 'host'"),
    (["compare-releases", "abc", "--machine", "h200", "--env-a", "x", "--env-b", "y", "--reports", "a.json"],
     "expected 2 arguments"),
    (["quality", "aa", "a", "b"], "the following arguments are required: --machine"),
    (["quality", "nvbench", "--dtype", "float8"], "invalid choice"),
    (["quality"], "the following arguments are required: check"),
    (["table"], "the following arguments are required: results"),
    (["frobnicate"], "invalid choice"),
])
def test_argument_errors_are_one_line_and_exit_2(args, message):
    out = run(*args)
    assert out.returncode == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("args, message", [
    (["quality", "nvbench"], "cannot run here:"),
    (["fingerprint", "--machine"], "no GPU to name the asv machine after"),
    (["asv-summary", "/no/such/file"], "cannot read /no/such/file"),
    (["table", "/no/such/file.json"], "is not an asv results file"),
])
def test_what_cannot_run_here_says_why(args, message):
    out = run(*args)
    assert out.returncode in (1, 2) and message in out.stderr and "Traceback" not in out.stderr


def test_fingerprint_without_a_gpu_still_names_the_libraries():
    out = run("fingerprint", "--json")
    assert out.returncode == 0 and '"gpu": "none (' in out.stdout and '"nvmath-python"' in out.stdout


def test_asv_summary_reads_standard_input():
    env = with_src()
    out = subprocess.run([sys.executable, "-m", "fusion_kernels", "asv-summary", "-"], cwd=ROOT, env=env, text=True,
                         capture_output=True, input="asv: skipped: NotImplementedError('no CUDA device')\n", timeout=60)
    assert out.returncode == 0 and "1 x no CUDA device" in out.stdout
