"""FusedMatmul's host-cost options (out=, unchecked resets), remembered autotuning, and the auto strategy."""

import pytest

from fusion_kernels.gpu import cache
from fusion_kernels.kernels import matmul, tuning
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs

pytestmark = [pytest.mark.gpu, pytest.mark.nvmath]

SHAPE = (96, 64, 80)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_KERNELS_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_out_is_written_and_returned(cp, dtype):
    a, b, bias = inputs.matmul_inputs(SHAPE, dtype, seed=3)
    a2, _, _ = inputs.matmul_inputs(SHAPE, dtype, seed=4)
    out = cp.full((SHAPE[0], SHAPE[2]), cp.nan, dtype=dtype, order="F")  # NaN: beta = 0 must not read it
    with matmul.FusedMatmul(a, b, bias, out=out) as mm:
        got = mm()
        assert got is out
        assert tolerances.is_close(out, reference.matmul_bias_relu(a, b, bias), dtype)
        mm.reset_operands(a=a2)
        assert mm() is out
        assert tolerances.is_close(out, reference.matmul_bias_relu(a2, b, bias), dtype)
        other = cp.empty_like(out, order="F")
        mm.reset_operands_unchecked(a=a, out=other)
        assert mm() is other
        assert tolerances.is_close(other, reference.matmul_bias_relu(a, b, bias), dtype)


@pytest.mark.parametrize("epilog", list(matmul.EPILOGS))
def test_out_with_every_epilog(cp, epilog):
    a, b, bias = inputs.matmul_inputs(SHAPE, "float32", seed=6)
    bias = bias if matmul.EPILOGS[epilog] else None
    out = cp.empty((SHAPE[0], SHAPE[2]), dtype="float32", order="F")
    with matmul.FusedMatmul(a, b, bias, epilog=epilog, out=out) as mm:
        assert mm() is out
    assert tolerances.is_close(out, reference.matmul_epilog(epilog, a, b, bias), "float32")


def test_out_is_checked_before_planning(cp):
    a, b, bias = inputs.matmul_inputs(SHAPE, "float32", seed=1)
    with pytest.raises(ValueError, match="F-contiguous"):
        matmul.FusedMatmul(a, b, bias, out=cp.empty((96, 80), dtype="float32"))
    with pytest.raises(ValueError, match=r"out must have the result's shape \(96, 80\)"):
        matmul.FusedMatmul(a, b, bias, out=cp.empty((80, 96), dtype="float32", order="F"))
    with pytest.raises(TypeError, match="out has unsupported dtype"):
        matmul.FusedMatmul(a, b, bias, out=cp.empty((96, 80), dtype="float64", order="F"))
    with matmul.FusedMatmul(a, b, bias) as mm, pytest.raises(ValueError, match="planned with out="):
        mm.reset_operands(out=cp.empty((96, 80), dtype="float32", order="F"))


def test_unchecked_reset_swaps_every_operand(cp):
    a, b, bias = inputs.matmul_inputs(SHAPE, "float64", seed=7)
    a2, b2, bias2 = inputs.matmul_inputs(SHAPE, "float64", seed=8)
    with matmul.FusedMatmul(a, b, bias) as mm:
        mm()
        mm.reset_operands_unchecked(a=a2, b=b2, bias=bias2)
        assert tolerances.is_close(mm(), reference.matmul_bias_relu(a2, b2, bias2), "float64")
        mm.reset_operands_unchecked(bias=bias)
        assert tolerances.is_close(mm(), reference.matmul_bias_relu(a2, b2, bias), "float64")


@pytest.mark.parametrize("epilog", ["RELU_BIAS", "GELU"])
def test_autotuned_algorithm_is_remembered_and_reused(cp, own_cache, epilog):
    a, b, bias = inputs.matmul_inputs((256, 128, 192), "float16", seed=5)
    bias = bias if matmul.EPILOGS[epilog] else None
    expected = reference.matmul_epilog(epilog, a, b, bias)
    with matmul.FusedMatmul(a, b, bias, epilog=epilog, autotune="cached") as mm:
        assert mm.tuning == "autotuned"  # nothing remembered yet
        assert tolerances.is_close(mm(), expected, "float16")
    assert len(cache.load(tuning.KIND)) == 1
    with matmul.FusedMatmul(a, b, bias, epilog=epilog, autotune="cached") as mm:
        assert mm.tuning == "from_cache"
        assert tolerances.is_close(mm(), expected, "float16")
    with matmul.FusedMatmul(a, b, bias, epilog=epilog) as mm:
        assert mm.tuning == "heuristic"
    a32, b32, bias32 = inputs.matmul_inputs((256, 128, 192), "float32", seed=5)
    with matmul.FusedMatmul(a32, b32, bias32 if bias is not None else None, epilog=epilog, autotune="cached") as mm:
        assert mm.tuning == "autotuned"  # another dtype, another key
    assert len(cache.load(tuning.KIND)) == 2


def test_graph_with_an_epilog(cp):
    a, b, _ = inputs.matmul_inputs(SHAPE, "float32", seed=2)
    with matmul.GraphMatmul(a, b, epilog="GELU") as mm:
        assert tolerances.is_close(mm(), reference.matmul_epilog("GELU", a, b), "float32")


def test_auto_measures_once_then_reuses_its_decision(cp, own_cache):
    a, b, bias = inputs.matmul_inputs((512, 256, 384), "float32", seed=11)
    expected = reference.matmul_bias_relu(a, b, bias)
    with matmul.Auto(a, b, bias) as auto:
        candidates = {n for n, s in matmul.STRATEGIES.items() if s.auto_candidate}
        assert auto.choice in candidates
        assert not auto.decision.from_cache
        assert set(auto.decision.seconds) == candidates
        assert all(s > 0 for s in auto.decision.seconds.values())
        assert tolerances.is_close(auto(), expected, "float32")
        assert f"chose {auto.choice}" in auto.explain()
        first = auto.choice

    def must_not_measure(*args):
        raise AssertionError("measured although a decision is cached")

    with matmul.Auto(a, b, bias, measure=must_not_measure) as again:
        assert again.choice == first and again.decision.from_cache
        assert tolerances.is_close(again(), expected, "float32")


def test_auto_with_a_fake_measurement_takes_the_fastest(cp, own_cache):
    a, b, bias = inputs.matmul_inputs(SHAPE, "float64", seed=12)
    fake = {"unfused": 4.0, "partial": 1.0, "fused_planned": 3.0, "fused_graph": 2.0}
    with matmul.Auto(a, b, bias, measure=lambda name, factory, args: fake[name]) as auto:
        assert auto.choice == "partial"
        assert tolerances.is_close(auto(), reference.matmul_bias_relu(a, b, bias), "float64")
