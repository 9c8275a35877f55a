"""The suite declaration: the strategy model, the workloads, shapes, inputs, roofline counts, input checks."""
