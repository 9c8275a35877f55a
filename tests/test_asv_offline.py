"""scripts/asv-offline.sh (asv's `checkout` environment across commits), CPU only: usage errors say so,
and an interrupt by SIGINT, SIGTERM or SIGHUP keeps finished commits and leaves no half-written result,
no process, no temporary folder and no git worktree behind."""

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from subprocess_env import with_src

ROOT = Path(__file__).resolve().parents[1]
BENCH = "MatmulBiasReLUColdStart.track_first_call_seconds"  # few parameter sets: a quick run
needs_asv = pytest.mark.skipif(
    shutil.which("git") is None or subprocess.run([sys.executable, "-m", "asv", "--version"],
                                                  capture_output=True).returncode != 0, reason="needs git and asv")


def asv_available():
    return subprocess.run([sys.executable, "-m", "asv", "--version"], capture_output=True).returncode == 0


def clone(tmp_path) -> Path:
    """A CI-like checkout: detached HEAD, no local branch (asv's configured "main" does not resolve)."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    for branch in subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads"], cwd=repo,
                                 capture_output=True, text=True, check=True).stdout.split():
        subprocess.run(["git", "branch", "-q", "-D", branch], cwd=repo, check=True)
    return repo


def asv_env(repo, home):
    """The environment for a script that runs asv: the clone's sources first on the import path, and HOME a
    temporary folder, so `asv machine` writes its ~/.asv-machine.json there, never into the user's home."""
    home.mkdir(exist_ok=True)
    env = with_src(repo, HOME=str(home))
    # Where asv was installed with `pip install --user`, it stays importable under the other HOME.
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    return env


def script_env(tmp_path, repo):
    # A private TMPDIR too, to check what is left behind (short: asv's benchmark server puts a Unix
    # socket there, whose path may not exceed 107 bytes).
    tmp = Path(tempfile.mkdtemp(prefix="aot", dir="/tmp"))
    (tmp_path / "tmp").symlink_to(tmp)
    return dict(asv_env(repo, tmp_path / "home"), TMPDIR=str(tmp))


def run_script(repo, env, *args, timeout=120):
    return subprocess.run(["bash", "scripts/asv-offline.sh", *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("args, message", [
    ([], "no commits given"),
    (["HEAD", "--machine"], "--machine needs a value"),
    (["--machine", "--quick", "HEAD"], "--machine needs a value"),
    (["--frobnicate", "HEAD"], "unknown option --frobnicate"),
    (["--machine", "m", "no-such-commit"], "not a commit of this repository: no-such-commit"),
    (["--machine", "m", "HEAD..HEAD"], "holds no commit"),
    (["--wheels", "/no/such/folder", "HEAD"], "--wheels expects a folder of wheels, got '/no/such/folder' (no such folder)"),
    (["HEAD", "--wheels"], "--wheels needs a value"),
])
def test_usage_errors_exit_2_with_a_message_not_a_bash_error(tmp_path, args, message):
    env = script_env(tmp_path, ROOT)
    out = run_script(ROOT, env, *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "unbound variable" not in out.stderr and "Traceback" not in out.stderr


def test_without_a_gpu_and_without_machine_it_says_so(tmp_path):
    if not asv_available():
        pytest.skip("needs asv")
    env = dict(script_env(tmp_path, ROOT), CUDA_VISIBLE_DEVICES="")
    out = run_script(ROOT, env, "--python", sys.executable, "HEAD")
    assert out.returncode == 1 and "no GPU to name the asv machine after" in out.stderr
    assert "Traceback" not in out.stderr


def leftover_processes(marker: str) -> list:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{proc.name}: {cmdline[:200]}")
    return found


@needs_asv
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_interrupt_keeps_finished_commits_and_leaves_nothing_behind(tmp_path, sig, code):
    repo = clone(tmp_path)
    if int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout) < 2:
        pytest.skip("needs two commits")
    results = repo / "results" / "ci-test"
    env = script_env(tmp_path, repo)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    first = subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=repo, capture_output=True, text=True).stdout.strip()
    proc = subprocess.Popen(
        ["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, first, head,
         "--", "--bench", BENCH],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(results.glob(f"{first[:8]}-*.json")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    os.kill(proc.pid, sig)  # the script alone, as a closed terminal or `kill` sends it
    out = proc.communicate(timeout=60)[0]
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == code, out
    assert f"interrupted ({signal.Signals(sig).name}); results of finished commits are kept" in out
    kept = list(results.glob("*-*.json"))
    assert any(p.name.startswith(first[:8]) for p in kept), out
    for path in kept:  # every file left parses: nothing half-written
        assert json.loads(path.read_text())["commit_hash"] in (first, head)
    time.sleep(0.5)
    assert leftover_processes(str(repo)) == []  # asv and its benchmark server ended with the script
    assert list((tmp_path / "tmp").iterdir()) == []  # temporary folders removed (asv's own too)
    assert not list(repo.glob(".asv-offline-*.json"))
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=repo, capture_output=True,
                               text=True).stdout
    assert worktrees.count("worktree ") == 1 and "prunable" not in worktrees


def test_gpu_ci_stops_after_info_without_a_gpu(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run(["bash", "scripts/gpu-ci.sh", "--logdir", str(tmp_path / "logs")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "cannot run the GPU tests" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "logs" / "pytest.log").exists()  # nothing else ran


def test_gpu_ci_installs_wheels_into_a_private_folder(tmp_path):
    out = subprocess.run(["bash", "scripts/gpu-ci.sh", "--wheels", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "no wheels in" in out.stderr
    script = (ROOT / "scripts" / "gpu-ci.sh").read_text()
    assert "mktemp -d" in script and "/tmp/fusion-kernels-site}" not in script
