"""`fusion-kernels distributed-bench`: fused vs unfused over the GPUs of one host, one process per GPU:

    python3 -m torch.distributed.run --standalone --nproc-per-node 4 -m fusion_kernels distributed-bench --out n4.json

(scripts/distributed-run.sh does this for a list of world sizes, NVLink multicast off.) For every case and
strategy: the per-call time, `timing.call_times` without the L2 flush, all ranks taking the same number of
samples: each sample runs from this rank's idle GPU (synchronised) to the end of its GPU work, the ranks
meeting in the call's own collectives; per sample the slowest rank's time counts, and the record keeps
their median. Also per-GPU peak device memory (CuPy-pool high-water mark and cudaMemGetInfo drop across
construction + first call, largest over ranks), and the gathered result's relative error against a
float64 single-GPU result on the same seeded inputs (`tolerances.verdict`). Rank 0 writes the JSON that
`fusion-kernels distributed-scaling` turns into a strong-scaling table and asv results. Workloads whose
library is missing are recorded as skipped with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ..gpu import backend, memory, timing
from ..harness import files
from ..kernels import fftconv, matmul
from ..oracle import tolerances
from ..suite import inputs
from . import workloads as distributed  # the multi-GPU workloads; `run` takes a `workloads` argument

WORKLOADS = ("matmul", "fftconv_rows", "fftconv_2d")
NEEDS = {"matmul": ("cublasmp",), "fftconv_rows": (), "fftconv_2d": ("cufftmp",)}
BACKENDS = {"cublasmp": {"nccl", "nvshmem"}, "cufftmp": {"nvshmem"}}
WARMUP = 3


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
        return out.stdout.strip()
    except Exception:
        return None


class Bench:
    def __init__(self, rt, repeat: int):
        self.rt = rt
        self.cp = backend.cupy()
        # Exactly `repeat` samples on every rank: a rank that stopped early would leave the others
        # waiting in a collective.
        self.criterion = timing.Criterion(min_samples=repeat, max_samples=repeat)
        import torch
        import torch.distributed as dist

        self.torch, self.dist = torch, dist

    def reduce_max(self, values: list[float]) -> list[float]:
        t = self.torch.tensor(values, dtype=self.torch.float64, device=f"cuda:{self.rt.device_id}")
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return t.cpu().tolist()

    def call_seconds(self, fn) -> list[float]:
        """Per sample, the slowest rank's call time (see the module's docstring)."""
        self.rt.barrier()  # the ranks start sampling together
        with timing.gc_paused():
            local = timing.call_times(fn, criterion=self.criterion, warmup=WARMUP, flush=False)
        return self.reduce_max(local)

    def measure(self, make, reference, gather) -> dict:
        """make() -> callable; reference: global float64 result (rank 0) or None; gather(local) -> global."""
        held = []

        def first_call():
            held.append(make())
            return held[0]()

        delta = memory.driver_delta_bytes(first_call)  # plans and workspaces of a fresh object
        fn = held[0]
        try:
            pool_peak = memory.peak_pool_bytes(fn)
            samples = self.call_seconds(fn)
            out = gather(fn())
            fusion = getattr(fn, "fusion", None)
        finally:
            fn.close()
        pool_peak, delta = (int(x) for x in self.reduce_max([pool_peak, delta]))
        record = {
            "seconds": timing.median(samples),
            "samples": samples,
            "peak_pool_bytes": pool_peak,
            "driver_delta_bytes": delta,
            "peak_bytes": max(pool_peak, delta),
        }
        if fusion is not None:
            record["fusion"] = fusion
        if self.rt.rank == 0 and reference is not None:
            record["relative_error"] = tolerances.relative_error(out, reference)
        return record


def _cases(bench, strategies, ref, single, gather):
    """(strategy, record) of each (strategy, make) in `strategies`, with rank 0's single-GPU error."""
    for strategy, make in strategies:
        rec = bench.measure(make, ref, gather)
        if bench.rt.rank == 0:
            rec["single_gpu_relative_error"] = tolerances.relative_error(single, ref)
        yield strategy, rec


def matmul_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=seed)
    blocks = distributed.matmul_blocks(a, b, bias, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:  # float64 single-GPU result of the same inputs, and the single-GPU same-dtype one
        ref = matmul.unfused(*(x.astype(cp.float64) for x in (a, b, bias)))
        single = matmul.partial(a, b, bias)
    del a, b, bias
    strategies = [(s, lambda cls=cls: cls(*blocks)) for s, cls in
                  (("fused", distributed.DistributedFusedMatmul), ("unfused", distributed.DistributedUnfusedMatmul))]
    yield from _cases(bench, strategies, ref, single, lambda c: distributed.gather_rows(c, rt))


def fftconv_rows_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, f = inputs.fft_inputs(shape, dtype, seed=seed)
    a_loc, f_loc = distributed.row_block(a, rt.rank, rt.nranks), distributed.row_block(f, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:
        ref = fftconv.unfused(a.astype(cp.complex128), f.astype(cp.complex128))
        single = fftconv.unfused(a, f)
    del a, f
    fused = [] if backend.callbacks_reason() else [True]
    strategies = [("fused" if x else "unfused", lambda x=x: distributed.RowSplitFFTConv(a_loc, f_loc, fused=x))
                  for x in fused + [False]]
    yield from _cases(bench, strategies, ref, single, lambda c: distributed.gather_rows(c, rt))


def fftconv_2d_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, f = inputs.fft_inputs(shape, dtype, seed=seed)
    a_loc, f_loc = distributed.fft2_blocks(a, f, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:
        ref = cp.fft.ifft2(cp.fft.fft2(a.astype(cp.complex128)) * f.astype(cp.complex128))
        single = cp.fft.ifft2(cp.fft.fft2(a) * f)
    del a, f
    strategies = [(s, lambda cls=cls: cls(a_loc, f_loc)) for s, cls in
                  (("multiply_in_place", distributed.DistributedFFTConv),
                   ("unfused", distributed.DistributedUnfusedFFTConv))]
    yield from _cases(bench, strategies, ref, single, lambda c: distributed.gather_rows(c, rt))


CASES = {"matmul": matmul_cases, "fftconv_rows": fftconv_rows_cases, "fftconv_2d": fftconv_2d_cases}


def run(workloads, matmul_case, fft_case, repeat: int, seed: int, machine: str | None, out: str) -> int:
    """Measure under torchrun; rank 0 writes `out`. 0, or 3 if a result is outside its tolerance.
    `matmul_case` and `fft_case`: (shape, dtype)."""
    distributed.multicast_off()  # before NCCL, NVSHMEM or torch start (the launcher sets it too)
    reasons = {w: backend.distributed_reason(NEEDS[w]) for w in workloads}
    runnable = [w for w in workloads if not reasons[w]]
    backends = set().union(*(BACKENDS.get(n, set()) for w in runnable for n in NEEDS[w]))
    rt = distributed.init(tuple(sorted(backends)))
    bench = Bench(rt, repeat)
    timing.warm_up(1.0)
    cp = bench.cp
    short = backend.machine_name().split("-")[0]
    record = {
        "world_size": rt.nranks,
        "machine": machine or f"{short}-x{cp.cuda.runtime.getDeviceCount()}",
        "device": backend.device_name(),
        "commit": git_commit(),
        "date_ms": int(time.time() * 1e3),
        "python": sys.executable,
        "versions": backend.versions(),
        "env": {k: os.environ.get(k) for k in distributed.MULTICAST_OFF},
        "repeat": repeat,
        "skipped": {w: reasons[w] for w in workloads if reasons[w]},
        "cases": [],
    }
    cases = {"matmul": matmul_case, "fftconv_rows": fft_case, "fftconv_2d": fft_case}
    try:
        for w in runnable:
            shape, dtype = cases[w]
            for strategy, rec in CASES[w](bench, shape, dtype, seed):
                case = {"workload": w, "strategy": strategy, "shape": "x".join(map(str, shape)), "dtype": dtype, **rec}
                if "relative_error" in case:
                    case["tolerance"] = tolerances.tolerance(dtype)
                    case["correct"] = tolerances.verdict(case["relative_error"], dtype)
                record["cases"].append(case)
                if rt.rank == 0:
                    print(f"[{rt.nranks} GPU] {w} {strategy} {case['shape']} {dtype}: {case['seconds'] * 1e3:.3f} ms, "
                          f"peak {case['peak_bytes'] / 2**20:.1f} MiB/GPU, error {case.get('relative_error')}", flush=True)
                cp.get_default_memory_pool().free_all_blocks()
    finally:
        if rt.rank == 0:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            files.write_atomic(out, json.dumps(record, indent=1))
        rt.close()
    if rt.rank == 0:
        for w, why in record["skipped"].items():
            print(f"skipped {w}: {why}", file=sys.stderr)
    return 3 if any(c.get("correct") is False for c in record["cases"]) else 0
