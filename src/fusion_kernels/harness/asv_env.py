"""asv environment plugin `checkout`: benchmark any commit with a Python that already has the GPU
libraries, no build, no download (GPU machines without internet).

    asv run -E checkout:python3 --record-samples HEAD~3..HEAD
    asv continuous -E checkout:python3 --record-samples BASE HEAD

For each commit, asv checks the repository out into the environment's folder and
this environment puts that checkout's `src/` first on the benchmarks' import path
(ASV_PYTHONPATH), ahead of whatever the caller's PYTHONPATH holds (an offline
wheel folder, say). Its requirements are the GPU software fingerprint
(`fusion-kernels fingerprint`: driver, CUDA runtime, cuBLASLt, cuFFT, nvmath-python,
CuPy, numba-cuda, SM clock policy), so asv records them with every result, shows
them in `asv show` (the environment's name) and on the published site (one line
per fingerprint), and keeps results of different fingerprints apart.

asv loads it from asv.conf.json's "plugins" (".src.fusion_kernels.harness.asv_env": a path
from the repository root); it is imported only by asv, never by the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from asv import util
from asv.environment import Environment, EnvironmentUnavailable

_FINGERPRINTS: dict = {}


def requirements_of(facts: dict) -> dict:
    """The fingerprint (`fusion-kernels fingerprint --json`) as asv requirements: what names the environment."""
    facts = dict(facts)
    facts.pop("gpu", None)  # the GPU is the asv machine
    return {k.replace("_", "-"): str(v).replace(" ", "-") for k, v in facts.items()}


def fingerprint_requirements(executable: str, src: str) -> dict:
    """{name: version} of the GPU software `executable` sees, as asv requirements (cached per executable)."""
    if executable not in _FINGERPRINTS:
        inherited = os.environ.get("ASV_PYTHONPATH") or os.environ.get("PYTHONPATH", "")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, inherited])))
        out = subprocess.run([executable, "-m", "fusion_kernels", "fingerprint", "--json"], capture_output=True,
                             text=True, env=env, timeout=300)
        if out.returncode != 0:
            raise EnvironmentUnavailable(f"`{executable} -m fusion_kernels fingerprint` failed: "
                                         f"{(out.stderr or out.stdout).strip()[-500:]}")
        _FINGERPRINTS[executable] = requirements_of(json.loads(out.stdout))
    return _FINGERPRINTS[executable]


class CheckoutEnvironment(Environment):
    tool_name = "checkout"

    def __init__(self, conf, python, requirements, tagged_env_vars):
        executable = sys.executable if python in (None, "same") else python
        try:
            executable = os.path.abspath(util.which(executable))
            version = util.check_output(
                [executable, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"]).strip()
        except (util.ProcessError, OSError) as exc:
            raise EnvironmentUnavailable(f"checkout: no Python at {python!r} ({exc})") from None
        self._executable = executable
        self._inherited = os.environ.get("ASV_PYTHONPATH") or os.environ.get("PYTHONPATH", "")
        self._installed = None
        src = os.path.join(os.path.abspath(os.getcwd()), conf.repo_subdir or "", "src")
        self._requirements = fingerprint_requirements(executable, src)  # asv's __init__ names the folder from it early
        super().__init__(conf, version, self._requirements, tagged_env_vars)

    @classmethod
    def matches(cls, python):
        try:
            util.which(sys.executable if python == "same" else python)
        except OSError:
            return False
        return True

    @property
    def installed_commit_hash(self):
        return self._installed

    def check_presence(self):
        return os.path.isdir(self._path)

    def _setup(self):
        os.makedirs(self._path, exist_ok=True)

    def find_executable(self, executable):
        return self._executable if executable == "python" else util.which(executable)

    def run(self, args, **kwargs):
        # As asv's `existing` environment runs: ASV_PYTHONPATH reaches asv's benchmark runner as it
        # is (it puts those folders first on sys.path), and the caller's PYTHONPATH stays.
        env = dict(kwargs.pop("env", os.environ))
        env.update(self._global_env_vars)
        return util.check_output([self._executable] + args, env=env, **kwargs)

    def install_project(self, conf, repo, commit_hash):
        """Check the commit out (asv's own git checkout, into this environment's folder) and
        import its src/ first: nothing is built or installed."""
        if self._installed != commit_hash:
            self.checkout_project(repo, commit_hash)
            src = os.path.join(self._build_root, self._repo_subdir or "", "src")
            self._global_env_vars["ASV_PYTHONPATH"] = os.pathsep.join(filter(None, [src, self._inherited]))
            self._installed = commit_hash
        self._set_commit_hash(commit_hash)
