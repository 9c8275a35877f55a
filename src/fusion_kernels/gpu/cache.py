"""The on-disk cache: measured peaks, tuned matmul algorithms, strategy decisions.

One JSON object per kind, key -> entry, in a file under `directory()`
($FUSION_KERNELS_CACHE, else $XDG_CACHE_HOME/fusion-kernels, else ~/.cache/fusion-kernels).
It is safe to share between processes and users:

- A store reads, changes and rewrites the file holding an exclusive lock on
  `<kind>.json.lock` beside it (POSIX flock), so concurrent writers lose
  nothing; the rewrite is atomic (a temporary file, then a rename), so a reader
  never sees half a file and needs no lock.
- Reads trust nothing: a file that is not a regular file, is unreadable, over
  MAX_BYTES, not UTF-8 or not a JSON object is ignored with a warning; each
  entry is checked by its kind's validator (`register`) and a bad one is
  dropped with a warning, so the caller measures again. A file that exists but
  cannot be read (or is not a regular file) is never replaced.
- A store keeps at most MAX_ENTRIES entries and MAX_BYTES bytes (the oldest
  written go first) and removes temporary files that killed writers left
  (older than STALE_SECONDS).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import stat
import time
import warnings
from pathlib import Path

import numpy as np

from ..harness import files

try:
    import fcntl
except ImportError:  # Windows: no flock; stores go unlocked there
    fcntl = None

MAX_BYTES = 4 << 20  # a file larger than this is ignored when read and never written
MAX_ENTRIES = 2048  # per kind
STALE_SECONDS = 3600.0  # a temporary file this old belongs to a writer that died
LOCK_TIMEOUT = 30.0  # seconds to wait for another writer before giving up on a store

_VALIDATORS: dict = {}  # kind -> (check(value) raising ValueError/TypeError, what an entry is called)


def directory() -> Path:
    root = os.environ.get("FUSION_KERNELS_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec says a relative path is invalid and must be ignored
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fusion-kernels"


def path(kind: str) -> Path:
    return directory() / f"{kind}.json"


def make_key(**parts) -> str:
    """A stable text key from named parts (order does not matter)."""
    return json.dumps(parts, sort_keys=True, default=str)


def register(kind: str, check, what: str) -> None:
    """Declare how entries of `kind` are checked: `check(value)` raises ValueError or TypeError
    saying what is wrong; `what` names an entry in warnings ("tuned-algorithm entry")."""
    if not callable(check):
        raise TypeError(f"check must be callable, got {check!r}")
    _VALIDATORS[kind] = (check, what)


def positive_number(value, name: str) -> float:
    """`value` as a float if it is a positive finite number (not a bool), else ValueError/TypeError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def _problem(kind: str, value) -> str | None:
    """Why `value` is not a valid entry of `kind`, or None."""
    if kind not in _VALIDATORS:
        return None
    try:
        _VALIDATORS[kind][0](value)
    except Exception as exc:  # whatever the file holds, a bad entry is dropped, never a crash
        return f"{type(exc).__name__}: {exc}"
    return None


def _read(p: Path, storing: bool = False) -> tuple[dict, bool]:
    """(the entries in file `p`, whether `p` may be replaced). Never blocks on a FIFO or device,
    never reads more than MAX_BYTES + 1 bytes; every problem is one warning."""
    # a file that cannot be read is never replaced: it may be another user's, or not a cache file at all
    leave = "not storing the new entry" if storing else "not using it"
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return {}, True
    except OSError as exc:
        _warn(f"cannot read the cache file {p} ({exc.strerror}); {leave}, and leaving the file as it is")
        return {}, False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            _warn(f"the cache file {p} is not a regular file; {leave}, and leaving it as it is")
            return {}, False
        raw = b""
        if st.st_size <= MAX_BYTES:
            chunks, size = [], 0
            while size <= MAX_BYTES:  # the file may grow after fstat
                chunk = os.read(fd, MAX_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            raw = b"".join(chunks)
    except OSError as exc:
        _warn(f"cannot read the cache file {p} ({exc.strerror}); {leave}, and leaving the file as it is")
        return {}, False
    finally:
        os.close(fd)
    if max(st.st_size, len(raw)) > MAX_BYTES:
        _warn(f"ignoring the cache file {p}: {max(st.st_size, len(raw))} bytes, over the limit of {MAX_BYTES}")
        return {}, True
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError; deep nesting recurses
        _warn(f"ignoring the corrupt cache file {p}: {type(exc).__name__}: {exc}"[:500])
        return {}, True
    return data, True


def _valid(kind: str, p: Path, data: dict) -> dict:
    """`data` without the entries its kind's validator rejects (one warning for all of them)."""
    if kind not in _VALIDATORS:
        return data
    bad = {}
    for key, value in data.items():
        why = _problem(kind, value)
        if why is not None:
            bad[key] = why
    if bad:
        key, why = next(iter(bad.items()))
        what = _VALIDATORS[kind][1]
        _warn(f"ignoring {len(bad)} corrupt {what}(s) in {p} (first: {key[:200]!r}: {why[:200]})")
    return {k: v for k, v in data.items() if k not in bad}


def load(kind: str) -> dict:
    """Every valid entry stored for `kind`; {} if absent, unreadable or corrupt (with a warning)."""
    p = path(kind)
    return _valid(kind, p, _read(p)[0])


def get(kind: str, key: str):
    """The entry stored under `key`, or None if there is none or it is invalid (with a warning)."""
    p = path(kind)
    value = _read(p)[0].get(key)
    if value is None:
        return None
    why = _problem(kind, value)
    if why is not None:
        _warn(f"ignoring a corrupt {_VALIDATORS[kind][1]} in {p}: {why}"[:1000])
        return None
    return value


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # standard JSON only: no NaN


def _line(key: str, value) -> bytes | None:
    try:
        return (_ENCODER.encode(key) + ":" + _ENCODER.encode(value)).encode("ascii")
    except (ValueError, TypeError, RecursionError):
        return None


def _serialize(data: dict) -> bytes:
    """`data` as JSON within MAX_ENTRIES and MAX_BYTES: the newest entries (last in `data`) kept."""
    try:  # the common case in one call of the C encoder
        if len(data) <= MAX_ENTRIES:
            text = _ENCODER.encode(data).encode("ascii")
            if len(text) <= MAX_BYTES:
                return text
    except (ValueError, TypeError, RecursionError):
        pass  # an entry read back that cannot be written again: dropped below
    kept, size = [], 2  # the braces
    for key, value in reversed(data.items()):
        line = _line(key, value)
        if line is None:
            continue
        if len(kept) >= MAX_ENTRIES or size + len(line) + 1 > MAX_BYTES:
            break
        kept.append(line)
        size += len(line) + 1
    return b"{" + b",".join(reversed(kept)) + b"}"


def _remove_stale_temporaries(p: Path) -> None:
    # this module's writers name them "<kind>.json<anything>.tmp" (older versions too)
    now = time.time()
    for tmp in p.parent.glob(f"{p.name}*.tmp"):
        try:
            st = tmp.lstat()
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_SECONDS:
                tmp.unlink()
        except OSError:
            pass  # another writer removed it, or it is not ours to remove


@contextlib.contextmanager
def _locked(p: Path):
    """Hold the exclusive lock of `p`'s kind; TimeoutError after LOCK_TIMEOUT seconds."""
    if fcntl is None:
        yield
        return
    lock = p.with_name(p.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except PermissionError:  # another user's lock file: flock works on a read-only descriptor too
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        # polled, not blocking: a writer stopped while holding the lock must not hang every other one
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another process held {lock} for over {LOCK_TIMEOUT:g} s") from None
                time.sleep(0.001)
        yield
    finally:
        os.close(fd)  # releases the lock


def store(kind: str, key: str, value) -> bool:
    """Add one entry (replacing `key`'s); False, with a warning and the cache unchanged, if it cannot be written."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__} {key!r}")
    why = _problem(kind, value)
    if why is not None:
        raise ValueError(f"value is not a valid {kind} entry ({why}), got {value!r}"[:1000])
    line = _line(key, value)
    if line is None:
        raise ValueError(f"value must be JSON (finite numbers, str keys), got {value!r}"[:1000])
    if len(line) + 4 > MAX_BYTES:
        raise ValueError(f"value must fit in the {MAX_BYTES}-byte cache file, got {len(line)} bytes")
    p = path(kind)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with _locked(p):
            _remove_stale_temporaries(p)
            data, replaceable = _read(p, storing=True)
            if not replaceable:  # _read said why
                return False
            data = _valid(kind, p, data)
            data.pop(key, None)  # re-inserted last: the newest entry is the last evicted
            data[key] = value
            files.write_atomic(p, _serialize(data))
    except OSError as exc:  # TimeoutError is one
        _warn(f"cannot write the cache file {p}: {exc}; the entry is not stored")
        return False
    return True


def encode_array(array: np.ndarray) -> str:
    """A NumPy array (structured dtypes too, no objects) as text: .npy bytes in base64."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_array(text: str) -> np.ndarray:
    """The array `encode_array` wrote; ValueError if `text` is not one."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    buf = io.BytesIO(raw)
    version = np.lib.format.read_magic(buf)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(buf)
    else:
        raise ValueError(f"expected .npy format 1.0 or 2.0, got {version}")
    # np.load allocates the size the header claims before reading: check it against what is there
    if math.prod(shape) * dtype.itemsize != len(raw) - buf.tell():
        raise ValueError(f"the header claims {shape} x {dtype}, but {len(raw) - buf.tell()} bytes follow")
    buf.seek(0)
    return np.load(buf, allow_pickle=False)
