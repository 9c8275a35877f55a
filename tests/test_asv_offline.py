"""scripts/asv-offline.sh across commits, interrupted: finished commits keep their results (CPU only)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = "MatmulBiasReLUColdStart.track_first_call_seconds"  # few parameter sets: a quick run


def asv_available():
    return subprocess.run([sys.executable, "-m", "asv", "--version"], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("git") is None or not asv_available(), reason="needs git and asv")
def test_interrupt_keeps_finished_commits_and_nothing_half_written(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    # As a CI checkout is: detached HEAD, no local branch (asv's configured "main" does not resolve).
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    for branch in subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads"], cwd=repo,
                                 capture_output=True, text=True, check=True).stdout.split():
        subprocess.run(["git", "branch", "-q", "-D", branch], cwd=repo, check=True)
    if int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout) < 2:
        pytest.skip("needs two commits")
    results = repo / "asv" / "results" / "ci-test"
    # Keep the caller's PYTHONPATH: where asv was installed with --target, it is found only through it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(repo / "src"), os.environ.get("PYTHONPATH")])))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    first = subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=repo, capture_output=True, text=True).stdout.strip()
    proc = subprocess.Popen(
        ["bash", "scripts/asv-offline.sh", "--machine", "ci-test", "--python", sys.executable, first, head,
         "--", "--bench", BENCH],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(results.glob(f"{first[:8]}-*.json")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0, out  # interrupted, not finished
    assert "interrupted; results of finished commits are kept" in out
    kept = list(results.glob("*-*.json"))
    assert any(p.name.startswith(first[:8]) for p in kept), out
    for path in kept:  # every file left parses: nothing half-written
        assert json.loads(path.read_text())["commit_hash"] in (first, head)
