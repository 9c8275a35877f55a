#!/usr/bin/env bash
# Distributed fused-vs-unfused benchmark at several world sizes on one host, offline.
#   scripts/distributed-run.sh "1 2 4" [fusion-kernels distributed-bench options...]
# Writes results/distributed/<machine>/n<N>.json and scaling.md; world sizes above
# the host's GPU count are skipped. NVLink multicast stays off.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-1 2 4}"
shift || true
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
machine="${FK_MACHINE:-$(python3 -c "from fusion_kernels.gpu import backend; print(backend.machine_name().split('-')[0])")-x${gpus}}"
out="${FK_OUT:-results/distributed/$machine}"
mkdir -p "$out"
runs=()
for n in $sizes; do
    if [ "$n" -gt "$gpus" ]; then
        echo "skip $n GPUs: this host has $gpus" >&2
        continue
    fi
    python3 -m torch.distributed.run --standalone --nproc-per-node "$n" \
        -m fusion_kernels distributed-bench --machine "$machine" --out "$out/n$n.json" "$@"
    runs+=("$out/n$n.json")
done
[ "${#runs[@]}" -gt 0 ] || { echo "no world size ran" >&2; exit 1; }
python3 -m fusion_kernels distributed-scaling "${runs[@]}" --markdown "$out/scaling.md" ${FK_ASV_RESULTS:+--asv-results "$FK_ASV_RESULTS"}
cat "$out/scaling.md"
