"""A stand-in for measure.measure_workload that logs each case it is asked for (tests/test_asv_runner_structure.py;
also planted into a clone's asv suite, so it imports nothing of the suite)."""

import collections
import json
import os
import signal
from pathlib import Path

from fusion_kernels.harness import measure
from fusion_kernels.suite import workloads


class FakeMeasure:
    """measure.measure_workload's stand-in: every case measured (unfused twice as slow as the others),
    except those planted to fail, skip or kill the process. Each case asked for is appended to a log
    file, so the cases measured by processes that died are counted too."""

    def __init__(self, log, kill=None):
        self.log, self.errors, self.skips = Path(log), {}, {}
        self.kill = tuple(kill) if kill else None  # (strategy, shape, dtype)

    def __call__(self, name, *, strategies=None, shapes=None, dtypes=None, warm=True, **_):
        w = workloads.WORKLOADS[name]
        out = {}
        for shape in shapes or list(w.shapes.values()):
            for dtype in dtypes or w.dtypes:
                for strategy in strategies or list(w.strategies):
                    key = (strategy, measure.shape_label(shape), dtype)
                    with open(self.log, "a") as f:
                        f.write(json.dumps([name, *key]) + "\n")
                    if key == self.kill:
                        os.kill(os.getpid(), signal.SIGKILL)  # a hard crash: no exception, no cleanup
                    t = 2e-4 if strategy == "unfused" else 1e-4
                    res = measure.CaseResult(name, strategy, tuple(shape), dtype, call_seconds=[2 * t] * 3,
                                             host_seconds=[1e-5] * 3, cold_device_seconds=[t] * 3,
                                             warm_device_seconds=[t] * 3, peak_device_bytes=1024,
                                             resident_device_bytes=0, library_device_bytes=2048, bound_seconds=t / 2)
                    if key in self.skips:
                        res = measure.CaseResult(name, strategy, tuple(shape), dtype, skip=self.skips[key])
                    elif key in self.errors:
                        res = measure.CaseResult(name, strategy, tuple(shape), dtype)
                        try:
                            raise self.errors[key]
                        except Exception as exc:
                            measure._record_failure(res, exc)
                    out[key] = res
        return out

    def measured(self) -> collections.Counter:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return collections.Counter(tuple(json.loads(line)) for line in lines)
