"""The strategies: unfused CuPy and fused nvmath-python kernels of each workload."""
