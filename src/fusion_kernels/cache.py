"""The on-disk cache: measured peaks, tuned matmul algorithms, strategy decisions.

One JSON file per kind under `directory()` ($FUSION_KERNELS_CACHE, else
~/.cache/fusion-kernels). Writes are atomic (a temporary file in the same
directory, then a rename), so a reader never sees half a file; a corrupt file
is ignored with a warning and overwritten by the next store.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np


def directory() -> Path:
    root = os.environ.get("FUSION_KERNELS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "fusion-kernels")
    return Path(root)


def path(kind: str) -> Path:
    return directory() / f"{kind}.json"


def make_key(**parts) -> str:
    """A stable text key from named parts (order does not matter)."""
    return json.dumps(parts, sort_keys=True, default=str)


def load(kind: str) -> dict:
    """Everything stored for `kind`; {} if absent, unreadable or corrupt (with a warning for corrupt)."""
    p = path(kind)
    try:
        text = p.read_text()
    except OSError:
        return {}
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    except ValueError as exc:
        warnings.warn(f"ignoring the corrupt cache file {p}: {exc}", RuntimeWarning, stacklevel=2)
        return {}
    return data


def get(kind: str, key: str):
    return load(kind).get(key)


def store(kind: str, key: str, value) -> bool:
    """Add one entry, atomically; False (and the cache unchanged) if the directory is not writable."""
    p = path(kind)
    data = load(kind)
    data[key] = value
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=p.name, suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, p)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


def encode_array(array: np.ndarray) -> str:
    """A NumPy array (structured dtypes too, no objects) as text: .npy bytes in base64."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_array(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text.encode("ascii"), validate=True)), allow_pickle=False)
