"""The one atomic writer: the cache, the report and the tools write files through it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_atomic(path, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file of a unique name in the same folder, then a
    rename: readers never see half a file, two writers never share a temporary, and a writer killed
    midway leaves only a `*.tmp` file (the cache removes stale ones)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # 0o666 less the umask (mkstemp's 0o600 would hide the file from other users sharing a cache)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
