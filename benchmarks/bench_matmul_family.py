"""The matmul epilogue family (cuBLASLt's forward epilogues, unfused vs planned vs graph-replayed), and
ReLU(A @ B + bias[:, None]) against its peers (PyTorch) and the GEMM alone (CuPy, nvmath, PyTorch)."""

from .common import (FIGURE_VERSION, _AgainstUnfused, _Cases, measure, quick_options, safe_import, samples, skip,
                     timing, workloads)

matmul = peers = None
with safe_import():
    try:
        from fusion_kernels.kernels import matmul, peers
    except ImportError:  # an older commit: every module flat in fusion_kernels/
        from fusion_kernels import matmul, peers

OURS = ["fused_planned", "fused_graph"]  # from the main workload, for the ratio to the GEMM alone


def _shapes_dtypes():
    if workloads is None:
        return [], []
    w = workloads.WORKLOADS["matmul_bias_relu"]
    return [measure.shape_label(s) for s in w.shapes.values()], list(w.dtypes)


SHAPES, DTYPES = _shapes_dtypes()
# Every epilogue workload declares the same strategies (workloads._epilog_workload).
EPILOG_STRATEGIES = list(next(iter(workloads.EPILOG_WORKLOADS.values())).strategies) if workloads is not None else []
EPILOGS = list(matmul.EPILOGS) if matmul is not None else []
PEER_STRATEGIES = (list(peers.PEERS) + list(peers.GEMMS) + OURS) if peers is not None else []


class MatmulEpilogs(_AgainstUnfused):
    """Every forward epilogue x {unfused, fused_planned, fused_graph} x shape x dtype;
    track_ratio_to_unfused against the unfused form of the same epilogue."""

    param_names = ["epilog", "strategy", "shape", "dtype"]
    params = [EPILOGS, EPILOG_STRATEGIES, SHAPES, DTYPES]

    def measure_all(self):
        out = {}
        for i, (epilog, w) in enumerate(workloads.EPILOG_WORKLOADS.items()):
            for key, res in measure.measure_workload(w.name, warm=i == 0, **quick_options(w.name)).items():
                out[(epilog, *key)] = res
        return out

    def locate(self, head):
        epilog, strategy = head
        w = workloads.EPILOG_WORKLOADS.get(epilog)
        return (w.name, strategy) if w is not None and strategy in w.strategies else None

    def baseline(self, params):
        epilog, _, shape, dtype = params
        return (epilog, "unfused", shape, dtype)

    def setup_cache(self):  # asv keys a cache by where setup_cache is defined
        return super().setup_cache()


class MatmulPeers(_Cases):
    """ReLU(A @ B + bias[:, None]) by PyTorch (cuBLASLt epilogue, eager, compiled), ours (planned,
    graph-replayed), and A @ B alone (CuPy, nvmath, PyTorch). PyTorch cases skip without PyTorch.

    track_ratio_to_fastest_gemm  cold device time / the fastest GEMM alone's at that shape and dtype
                                 (the bar: the best fused form within 1.05x)
    """

    param_names = ["strategy", "shape", "dtype"]
    params = [PEER_STRATEGIES, SHAPES, DTYPES]
    # The workloads the strategies come from; the GPU warms up once, for the first.
    SOURCES = (("matmul_gemm", {}), ("matmul_peers", {"warm": False}),
               ("matmul_bias_relu", {"strategies": OURS, "warm": False}))

    def measure_all(self):
        out = {}
        for name, kwargs in self.SOURCES:
            out.update(measure.measure_workload(name, **kwargs, **quick_options(name)))
        return out

    def locate(self, head):
        strategy, = head
        for name, kwargs in self.SOURCES:
            if strategy in kwargs.get("strategies", workloads.WORKLOADS[name].strategies):
                return name, strategy
        return None

    def setup_cache(self):  # asv keys a cache by where setup_cache is defined
        return super().setup_cache()

    def track_ratio_to_fastest_gemm(self, results, strategy, shape, dtype):
        entry = self.case(results, strategy, shape, dtype)
        found = [self.lookup(results, (g, shape, dtype)) for g in peers.GEMMS]
        gemms = [timing.median(e["cold_device_seconds"]) for e in found if e and e["cold_device_seconds"]]
        if not gemms:
            skip("no GEMM-alone baseline could run")
        return samples([t / min(gemms) for t in entry["cold_device_seconds"]])

    track_ratio_to_fastest_gemm.unit = "x"
    track_ratio_to_fastest_gemm.version = FIGURE_VERSION + "-cold"  # was the back-to-back device time before
