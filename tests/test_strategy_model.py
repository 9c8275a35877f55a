"""The strategy model (CPU only): a declaration is complete or refused when it is made, every
declared strategy has what measure, report, roofline, auto and the asv suite ask of it, and the
`Call` contract (call, close, context manager, refusal after close) holds."""

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from fusion_kernels.gpu import backend
from fusion_kernels.harness import measure, report
from fusion_kernels.suite import workloads
from fusion_kernels.suite.strategy import Bound, Call, Need, Strategy, declare

ROOT = Path(__file__).resolve().parents[1]


def factory(*args):
    return Bound(lambda: None)


# ---- declaring ----

def test_a_strategy_without_a_required_field_is_refused_when_declared():
    with pytest.raises(TypeError, match="passes"):
        Strategy("fast", factory, needs=Need.GPU)
    with pytest.raises(TypeError, match="needs"):
        Strategy("fast", factory, passes=1)


@pytest.mark.parametrize("field, value, expected", [
    ("needs", "gpu", "a strategy.Need"),
    ("passes", 0, "a positive int or a tuple of positive ints"),
    ("passes", True, "a positive int or a tuple of positive ints"),
    ("passes", (2, 0), "a positive int or a tuple of positive ints"),
    ("in_report", "yes", "True or False"),
    ("auto_candidate", 1, "True or False"),
    ("factory", "unfused", "a callable"),
])
def test_a_wrong_field_is_named_with_what_was_expected_and_given(field, value, expected):
    fields = {"needs": Need.GPU, "passes": 1, field: value}
    fac = fields.pop("factory", factory)
    with pytest.raises(TypeError, match=re.escape(f"Strategy fast.{field}: expected {expected}, got {value!r}")):
        Strategy("fast", fac, **fields)


def test_declare_refuses_duplicates_and_non_strategies():
    s = Strategy("fast", factory, needs=Need.GPU, passes=1)
    assert list(declare(s, dataclasses.replace(s, name="slow"))) == ["fast", "slow"]
    with pytest.raises(ValueError, match="'fast' is declared twice"):
        declare(s, s)
    with pytest.raises(TypeError, match="expected Strategy objects, got function"):
        declare(factory)


def test_a_workload_refuses_strategies_that_are_not_declared():
    w = workloads.WORKLOADS["fft_conv2d"]
    with pytest.raises(TypeError, match=r"strategies\['unfused'\] must be the Strategy named 'unfused'"):
        dataclasses.replace(w, strategies={"unfused": factory})
    with pytest.raises(ValueError, match="epilogue=True but the workload names no epilog"):
        dataclasses.replace(w, strategies=declare(Strategy("unfused", factory, needs=Need.GPU, passes=9, epilogue=True)))


def test_a_need_is_a_backend_reason_looked_up_when_asked(monkeypatch):
    monkeypatch.setattr(backend, "torch_reason", lambda: "no torch here")
    assert Need.TORCH.reason() == "no torch here"
    assert {n.value for n in Need} == {"gpu", "nvmath", "callbacks", "dx", "torch"}  # the pytest markers


# ---- every declaration has what its consumers ask ----

CASES = [(name, s) for name, w in workloads.WORKLOADS.items() for s in w.strategies]


@pytest.mark.parametrize("name, strategy", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_declared_strategy_answers_every_consumer(name, strategy):
    """What measure_case asks after timing (bytes, epilog) and before (availability), without a KeyError."""
    w = workloads.WORKLOADS[name]
    s = w.strategies[strategy]
    assert isinstance(s, Strategy) and s.name == strategy and callable(s)
    assert measure.availability(name, strategy) == s.needs.reason()
    for shape in w.shapes.values():
        for dtype in w.dtypes:
            assert w.bytes(shape, dtype, strategy) > 0
    assert w.epilog_of(strategy) in (None, w.epilog)
    assert (strategy in report.strategies_for(name)) == s.in_report


def test_auto_candidates_are_matmul_strategies_auto_can_build():
    from fusion_kernels.kernels import matmul

    candidates = [n for n, s in matmul.STRATEGIES.items() if s.auto_candidate]
    assert candidates == ["unfused", "partial", "fused_planned", "fused_graph"]
    assert not matmul.STRATEGIES["auto"].auto_candidate


def test_the_asv_params_are_the_declared_strategies_in_order():
    sys.path.insert(0, str(ROOT))
    from benchmarks import bench_fftconv, bench_matmul, bench_matmul_family

    assert bench_matmul.MatmulBiasReLU.params[0] == list(workloads.WORKLOADS["matmul_bias_relu"].strategies)
    assert bench_fftconv.FFTConv.params[0] == list(workloads.WORKLOADS["fft_conv"].strategies)
    assert bench_matmul_family.MatmulEpilogs.params[1] == ["unfused", "fused_planned", "fused_graph"]


# ---- the Call contract ----

class Fake(Call):
    def __init__(self):
        self.calls = self.released = 0

    def _run(self):
        self.calls += 1
        return self.calls

    def _release(self):
        self.released += 1


def test_call_close_is_idempotent_and_a_call_after_it_is_refused():
    f = Fake()
    assert f() == 1 and f() == 2 and not f.closed
    f.close()
    f.close()
    assert f.closed and f.released == 1
    with pytest.raises(RuntimeError, match="Fake is closed"):
        f()
    assert f.calls == 2


def test_call_as_context_manager_closes_even_on_error():
    with Fake() as f:
        assert f() == 1
    assert f.closed and f.released == 1
    with pytest.raises(ZeroDivisionError):
        with Fake() as g:
            1 / 0
    assert g.closed


def test_bound_runs_its_function_and_drops_its_arguments_on_close():
    b = Bound(lambda x, y: x + y, 2, 3)
    assert b() == 5
    b.close()
    assert b._args == ()
    with pytest.raises(RuntimeError, match="Bound is closed"):
        b()


def test_every_strategy_class_is_a_call():
    from fusion_kernels.distributed import workloads as distributed
    from fusion_kernels.gpu import graphs
    from fusion_kernels.kernels import fftconv, fftconv_dx, matmul, peers, planned_conv, relu_grad

    for cls in (matmul.FusedMatmul, matmul.GraphMatmul, matmul.Auto, fftconv.FusedFFTConv, graphs.Replayed,
                planned_conv.PlannedConv, peers.TorchCall, peers.PlannedGemm, fftconv_dx.SingleKernelFFTConv,
                relu_grad.ForwardReluAux, relu_grad.BackwardDReluBgrad, distributed.DistributedFusedMatmul,
                distributed.DistributedUnfusedMatmul, distributed.DistributedFFTConv,
                distributed.DistributedUnfusedFFTConv, distributed.RowSplitFFTConv):
        assert issubclass(cls, Call), cls
        assert "__call__" not in vars(cls) and "close" not in vars(cls), f"{cls.__name__} rewrites the contract"


def test_the_adding_a_strategy_diff_in_the_docs_is_the_code():
    md = (ROOT / "docs" / "strategies.md").read_text(encoding="utf-8")
    diff = md.split("## Adding a strategy", 1)[1].split("```diff", 1)[1].split("```", 1)[0]
    code = (ROOT / "src" / "fusion_kernels" / "kernels" / "fftconv.py").read_text(encoding="utf-8")
    lines = [line[1:] for line in diff.splitlines() if line[:1] in (" ", "+") and not line.startswith("+++")]
    assert len(lines) > 10
    for line in lines:
        assert line in code.splitlines(), f"docs/strategies.md's diff shows a line fftconv.py lacks: {line!r}"
