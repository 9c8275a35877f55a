"""Multi-GPU: both workloads over the GPUs of one host, the torchrun benchmark, strong scaling."""
