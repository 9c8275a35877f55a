"""Run one case a few times, for a profiler to attach to (Nsight Compute).

    ncu --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,\
dram__throughput.avg.pct_of_peak_sustained_elapsed \
        python scripts/profile_case.py fft_conv fused_planned 16384x4096 complex64

Planning and the first (warm-up) call happen before `cudaProfilerStart`, so
with `--profile-from-start off` only the timed calls are profiled.
"""

import argparse

from fusion_kernels import backend, workloads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("strategy")
    parser.add_argument("shape", help="e.g. 16384x4096")
    parser.add_argument("dtype")
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args(argv)
    workload = workloads.WORKLOADS[args.workload]
    if args.strategy not in workload.strategies:
        parser.error(f"strategy must be one of {', '.join(workload.strategies)}")
    shape = tuple(int(s) for s in args.shape.split("x"))
    cp = backend.cupy()
    inputs = workload.make_inputs(shape, args.dtype)
    with workload.strategies[args.strategy](*inputs) as call:
        call()
        cp.cuda.Device().synchronize()
        cp.cuda.runtime.profilerStart()
        for _ in range(args.calls):
            call()
        cp.cuda.Device().synchronize()
        cp.cuda.runtime.profilerStop()


if __name__ == "__main__":
    main()
