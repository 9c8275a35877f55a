"""Pick the fastest of several strategies once per device, library versions, shape and dtype.

The first construction measures each candidate's device time on the inputs it
is given and remembers the decision on disk (`fusion_kernels.gpu.cache`, kind
"strategy_choices"); later constructions, in any process, reuse it without
measuring. The measuring function is a parameter, so the decision logic runs
(and is tested) without a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..gpu import cache

KIND = "strategy_choices"


@dataclass
class Decision:
    choice: str
    seconds: dict  # candidate -> median device seconds of one call
    failed: dict = field(default_factory=dict)  # candidate -> why it was not measured
    from_cache: bool = False

    def explain(self) -> str:
        lines = [f"chose {self.choice}: the fewest device seconds per call"
                 + (" (decision read from the cache, not measured in this process)" if self.from_cache else "")]
        best = self.seconds[self.choice]
        for name, sec in sorted(self.seconds.items(), key=lambda kv: kv[1]):
            mark = "*" if name == self.choice else " "
            # a hand-made Decision may hold 0 seconds: no ratio then, rather than a ZeroDivisionError
            ratio = f"{sec / best:6.2f}x" if best > 0 else "     -"
            lines.append(f"{mark} {name:<16} {sec * 1e6:12.1f} us  {ratio}")
        for name, why in self.failed.items():
            lines.append(f"  {name:<16} not measured: {why}")
        return "\n".join(lines)


def decision_key(device: str, versions: dict, workload: str, shape, dtype) -> str:
    return cache.make_key(device=device, versions=versions, workload=workload, shape=list(shape),
                          dtype=np.dtype(dtype).name)


def device_seconds(name, factory, args) -> float:
    """Median seconds per call of a fresh `factory(*args)` in a loop, host launches included (needs the GPU)."""
    from ..gpu import backend, timing

    with factory(*args) as call:
        call()
        with timing.gc_paused():
            t = timing.median(timing.loop_times(call, samples=5))
    timing.synchronize()
    backend.cupy().get_default_memory_pool().free_all_blocks()
    return t


def _check_decision(entry) -> None:
    if not isinstance(entry, dict):
        raise TypeError(f"expected an object, got {type(entry).__name__}")
    choice, seconds, failed = entry["choice"], entry["seconds"], entry.get("failed", {})
    if not isinstance(choice, str):
        raise TypeError(f"choice must be a str, got {choice!r}")
    if not isinstance(seconds, dict) or not seconds:
        raise TypeError(f"seconds must be a non-empty object, got {seconds!r}")
    for name, sec in seconds.items():
        cache.positive_number(sec, f"seconds[{name!r}]")
    if choice not in seconds or seconds[choice] != min(seconds.values()):
        raise ValueError(f"choice {choice!r} is not the fastest of {seconds}")
    if not isinstance(failed, dict) or not all(isinstance(v, str) for v in failed.values()):
        raise TypeError(f"failed must map names to reasons, got {failed!r}")


cache.register(KIND, _check_decision, "decision")


def _cached(key: str, candidates) -> Decision | None:
    entry = cache.get(KIND, key)  # checked by _check_decision; a bad one is None, with a warning
    if entry is None or entry["choice"] not in candidates:
        return None  # none yet, or decided among other candidates: decide again
    seconds = {str(k): float(v) for k, v in entry["seconds"].items()}
    return Decision(entry["choice"], seconds, dict(entry.get("failed", {})), from_cache=True)


def decide(key: str, candidates: dict, args, *, unavailable: dict | None = None, measure=device_seconds) -> Decision:
    """The remembered decision for `key`, or measure every candidate (name -> factory) with
    `measure(name, factory, args)` -> seconds, choose the fastest and remember it.

    `unavailable`: candidates that cannot run here, name -> reason (reported, not measured).
    A candidate whose measurement raises is reported with the error and not chosen.
    """
    found = _cached(key, candidates)
    if found is not None:
        return found
    seconds, failed = {}, {str(k): str(v) for k, v in (unavailable or {}).items()}  # stored: text only
    for name, factory in candidates.items():
        try:
            t = float(measure(name, factory, args))
            if not (math.isfinite(t) and t > 0):  # a broken timer: neither chosen nor remembered
                raise ValueError(f"measured {t} seconds")
            seconds[name] = t
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
    if not seconds:
        raise RuntimeError("no candidate strategy could be measured: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    choice = min(seconds, key=seconds.get)
    cache.store(KIND, key, {"choice": choice, "seconds": seconds, "failed": failed})
    return Decision(choice, seconds, failed)
