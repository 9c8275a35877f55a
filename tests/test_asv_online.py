"""asv's own path (`asv run` in its virtualenvs): the configs and the CI check's Python test (CPU only).

CI runs the path itself, build to benchmarks, with scripts/asv-online-check.sh (it needs PyPI).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
json5 = pytest.importorskip("json5", reason="json5 comes with asv")


@pytest.mark.parametrize("name, extra", [("asv.conf.json", "cu13"), ("asv.cu12.conf.json", "cu12")])
def test_the_configs_build_only_our_wheel_and_install_it_with_the_cuda_extra(name, extra):
    conf = json5.loads((ROOT / name).read_text())
    # asv 0.6.6's default build (`pip wheel -w {build_cache_dir}`) puts the dependencies' wheels beside ours,
    # then stops with "Found multiple wheels ... Cannot decide correct one".
    [build] = conf["build_command"]
    assert "{build_cache_dir}" in build and "{build_dir}" in build
    assert "python -m build --wheel" in build or ("pip wheel" in build and "--no-deps" in build)
    assert conf["install_command"] == [f"in-dir={{env_dir}} python -mpip install {{wheel_file}}[{extra}]"]
    assert conf["environment_type"] == "virtualenv" and conf["pythons"] == ["3.12"]


def test_the_cuda_12_config_is_the_cuda_13_one_but_for_its_extra_and_env_dir():
    cu13, cu12 = (json5.loads((ROOT / name).read_text()) for name in ("asv.conf.json", "asv.cu12.conf.json"))
    differ = {key for key in cu13.keys() | cu12.keys() if cu13.get(key) != cu12.get(key)}
    assert differ == {"install_command", "env_dir"}


def test_the_online_check_names_a_python_that_does_not_run_in_one_line(tmp_path):
    ver = "%d.%d" % sys.version_info[:2]
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    broken = bin_dir / f"python{ver}"  # as a pyenv shim of a version that is not active
    broken.write_text(f"#!/bin/sh\necho 'pyenv: python{ver}: command not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", HOME=str(home))
    out = subprocess.run(["bash", "scripts/asv-online-check.sh"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.splitlines() == [
        f"asv-online-check: python{ver} (the version of {bin_dir / 'python3'}) does not run from PATH; "
        "put it first on PATH"]
    assert list(home.iterdir()) == []  # nothing was started
