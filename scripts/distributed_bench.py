"""Fused vs unfused over the GPUs of one host; start it under torchrun (one process per GPU).

    NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 \\
      python3 -m torch.distributed.run --standalone --nproc-per-node 4 scripts/distributed_bench.py --out n4.json

(scripts/distributed-run.sh does this for a list of world sizes.) For every case
and strategy: the median over >= 20 calls of the per-call time (all ranks leave
a barrier, each times its call to the end of its GPU work, the slowest rank's time
counts), per-GPU peak device memory (CuPy-pool high-water mark and cudaMemGetInfo
drop across construction + first call, largest over ranks), and the gathered
result's relative error against a float64 single-GPU result of fusion_kernels
on the same seeded inputs. Rank 0 writes the JSON that scripts/distributed_scaling.py
turns into a strong-scaling table and asv results. Workloads whose library is
missing are recorded as skipped with the reason.
"""

from __future__ import annotations

import os

# NVLink multicast off before NCCL, NVSHMEM or torch start (the launcher sets them too).
os.environ.update({"NCCL_NVLS_ENABLE": "0", "NVSHMEM_DISABLE_NVLS": "1", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1"})

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from fusion_kernels import backend, distributed, fftconv, inputs, matmul, memory, timing, tolerances  # noqa: E402

WORKLOADS = ("matmul", "fftconv_rows", "fftconv_2d")
NEEDS = {"matmul": ("cublasmp",), "fftconv_rows": (), "fftconv_2d": ("cufftmp",)}


def parse_shape(text: str, rank: int) -> tuple[int, ...]:
    try:
        shape = tuple(int(x) for x in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"shape {text!r} must be integers joined by 'x'") from None
    if len(shape) != rank or min(shape) < 1:
        raise SystemExit(f"shape {text!r} must have {rank} positive sizes")
    return shape


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
        return out.stdout.strip()
    except Exception:
        return None


class Bench:
    def __init__(self, rt, repeat: int):
        self.rt, self.repeat = rt, repeat
        self.cp = backend.cupy()
        import torch
        import torch.distributed as dist

        self.torch, self.dist = torch, dist

    def reduce_max(self, values: list[float]) -> list[float]:
        t = self.torch.tensor(values, dtype=self.torch.float64, device=f"cuda:{self.rt.device_id}")
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return t.cpu().tolist()

    def call_seconds(self, fn) -> list[float]:
        """Per call: all ranks leave a barrier, each times its call to the end of its GPU work; the slowest counts."""
        for _ in range(3):
            fn()
        local = []
        with timing.gc_paused():
            for _ in range(self.repeat):
                self.rt.barrier()
                t0 = time.perf_counter()
                fn()
                self.cp.cuda.Device().synchronize()
                local.append(time.perf_counter() - t0)
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


def matmul_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=seed)
    blocks = distributed.matmul_blocks(a, b, bias, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:  # float64 single-GPU result of the same inputs, and the single-GPU same-dtype one
        ref = matmul.unfused(*(x.astype(cp.float64) for x in (a, b, bias)))
        single = matmul.partial(a, b, bias)
    del a, b, bias
    gather = lambda c: distributed.gather_rows(c, rt)  # noqa: E731
    for strategy, cls in (("fused", distributed.DistributedFusedMatmul), ("unfused", distributed.DistributedUnfusedMatmul)):
        rec = bench.measure(lambda cls=cls: cls(*blocks), ref, gather)
        if rt.rank == 0:
            rec["single_gpu_relative_error"] = tolerances.relative_error(single, ref)
        yield strategy, rec


def fftconv_rows_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, f = inputs.fft_inputs(shape, dtype, seed=seed)
    a_loc, f_loc = distributed.row_block(a, rt.rank, rt.nranks), distributed.row_block(f, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:
        ref = fftconv.unfused(a.astype(cp.complex128), f.astype(cp.complex128))
        single = fftconv.unfused(a, f)
    del a, f
    gather = lambda c: distributed.gather_rows(c, rt)  # noqa: E731
    strategies = [("unfused", False)]
    if not backend.callbacks_reason():
        strategies.insert(0, ("fused", True))
    for strategy, fused in strategies:
        rec = bench.measure(lambda fused=fused: distributed.RowSplitFFTConv(a_loc, f_loc, fused=fused), ref, gather)
        if rt.rank == 0:
            rec["single_gpu_relative_error"] = tolerances.relative_error(single, ref)
        yield strategy, rec


def fftconv_2d_cases(bench, shape, dtype, seed):
    rt, cp = bench.rt, bench.cp
    a, f = inputs.fft_inputs(shape, dtype, seed=seed)
    a_loc, f_loc = distributed.fft2_blocks(a, f, rt.rank, rt.nranks)
    ref = single = None
    if rt.rank == 0:
        ref = cp.fft.ifft2(cp.fft.fft2(a.astype(cp.complex128)) * f.astype(cp.complex128))
        single = cp.fft.ifft2(cp.fft.fft2(a) * f)
    del a, f
    gather = lambda c: distributed.gather_rows(c, rt)  # noqa: E731
    for strategy, cls in (("multiply_in_place", distributed.DistributedFFTConv),
                          ("unfused", distributed.DistributedUnfusedFFTConv)):
        rec = bench.measure(lambda cls=cls: cls(a_loc, f_loc), ref, gather)
        if rt.rank == 0:
            rec["single_gpu_relative_error"] = tolerances.relative_error(single, ref)
        yield strategy, rec


CASES = {"matmul": matmul_cases, "fftconv_rows": fftconv_rows_cases, "fftconv_2d": fftconv_2d_cases}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    p.add_argument("--matmul-shape", default="8192x8192x8192", help="m x k x n (m and n divisible by the GPUs)")
    p.add_argument("--matmul-dtype", default="float32", choices=("float16", "float32", "float64"))
    p.add_argument("--fft-shape", default="16384x4096", help="rows x n (for the 2-D FFT both divisible by the GPUs)")
    p.add_argument("--fft-dtype", default="complex64", choices=("complex64", "complex128"))
    p.add_argument("--repeat", type=int, default=30, help="timed calls per strategy (at least 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--machine", default=None, help="asv machine name (default: GPU name and GPU count, e.g. h200-x4)")
    p.add_argument("--out", required=True, help="JSON file rank 0 writes")
    args = p.parse_args(argv)
    if args.repeat < 20:
        raise SystemExit("--repeat must be at least 20")
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")

    reasons = {w: backend.distributed_reason(NEEDS[w]) for w in workloads}
    runnable = [w for w in workloads if not reasons[w]]
    backends = set()
    for w in runnable:
        backends |= {"cublasmp": {"nccl", "nvshmem"}, "cufftmp": {"nvshmem"}}.get((NEEDS[w] or ("",))[0], set())
    rt = distributed.init(tuple(sorted(backends)))
    bench = Bench(rt, args.repeat)
    timing.warm_up(1.0)
    cp = bench.cp
    short = backend.machine_name().split("-")[0]
    machine = args.machine or f"{short}-x{cp.cuda.runtime.getDeviceCount()}"
    run = {
        "world_size": rt.nranks,
        "machine": machine,
        "device": backend.device_name(),
        "commit": git_commit(),
        "date_ms": int(time.time() * 1e3),
        "python": sys.executable,
        "versions": backend.versions(),
        "env": {k: os.environ.get(k) for k in distributed.MULTICAST_OFF},
        "repeat": args.repeat,
        "skipped": {w: reasons[w] for w in workloads if reasons[w]},
        "cases": [],
    }
    shapes = {"matmul": (parse_shape(args.matmul_shape, 3), args.matmul_dtype),
              "fftconv_rows": (parse_shape(args.fft_shape, 2), args.fft_dtype),
              "fftconv_2d": (parse_shape(args.fft_shape, 2), args.fft_dtype)}
    try:
        for w in runnable:
            shape, dtype = shapes[w]
            for strategy, rec in CASES[w](bench, shape, dtype, args.seed):
                case = {"workload": w, "strategy": strategy, "shape": "x".join(map(str, shape)), "dtype": dtype, **rec}
                if "relative_error" in case:
                    case["tolerance"] = tolerances.tolerance(dtype)
                    case["correct"] = case["relative_error"] <= case["tolerance"]
                run["cases"].append(case)
                if rt.rank == 0:
                    print(f"[{rt.nranks} GPU] {w} {strategy} {case['shape']} {dtype}: {case['seconds'] * 1e3:.3f} ms, "
                          f"peak {case['peak_bytes'] / 2**20:.1f} MiB/GPU, error {case.get('relative_error')}", flush=True)
                cp.get_default_memory_pool().free_all_blocks()
    finally:
        if rt.rank == 0:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out + ".tmp", "w") as f:
                json.dump(run, f, indent=1)
            os.replace(args.out + ".tmp", args.out)
        rt.close()
    for w, why in run["skipped"].items():
        if rt.rank == 0:
            print(f"skipped {w}: {why}", file=sys.stderr)
    failed = [c for c in run["cases"] if c.get("correct") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
