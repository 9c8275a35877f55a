"""The GPU runtime: the only importer of the GPU libraries, timing, device memory, CUDA graphs, the on-disk cache."""
