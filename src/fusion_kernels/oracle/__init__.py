"""The float64 oracle and the correctness bounds, independent of the kernels they judge."""
