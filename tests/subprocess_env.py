"""The environment of a subprocess that runs this checkout's package."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def with_src(root=ROOT, **extra) -> dict:
    """os.environ with `root`/src put first on PYTHONPATH, keeping what was there (on a GPU machine
    without internet the libraries come from a folder on PYTHONPATH), plus `extra`."""
    path = os.pathsep.join(filter(None, [str(Path(root) / "src"), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **extra)
