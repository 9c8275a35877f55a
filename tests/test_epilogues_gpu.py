"""cuBLASLt's forward epilogue family (BIAS, RELU, RELU_BIAS, GELU, GELU_BIAS): unfused CuPy and planned
nvmath against the float64 oracle, which uses cuBLASLt's tanh GELU."""

import numpy as np
import pytest

from fusion_kernels.kernels import matmul
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes
from hand_cases import A, B, BIAS

pytestmark = [pytest.mark.gpu, pytest.mark.nvmath]


def operands(epilog, shape, dtype, seed):
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=seed)
    return (a, b, bias) if matmul.EPILOGS[epilog] else (a, b)


@pytest.mark.parametrize("epilog", list(matmul.EPILOGS))
def test_fused_matches_unfused_by_hand(cp, epilog):
    args = [cp.asarray(x) for x in ((A, B, BIAS) if matmul.EPILOGS[epilog] else (A, B))]
    expected = reference.matmul_epilog(epilog, *args)
    with matmul.FusedMatmul(*args, epilog=epilog) as mm:
        got = mm().get()
    unfused = matmul.unfused_epilog(epilog, *args).get()
    if epilog.startswith("GELU"):
        assert tolerances.relative_error(got, expected) <= tolerances.tolerance("float64", epilog)
        np.testing.assert_allclose(unfused, expected, rtol=1e-12, atol=1e-12)
    else:  # small integers in float64: exact
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(unfused, expected)


@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("shape", shapes.MATMUL_TEST_SHAPES[1:], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("epilog", list(matmul.EPILOGS))
def test_random_inputs_match_oracle(cp, epilog, shape, dtype):
    args = operands(epilog, shape, dtype, seed=5)
    expected = reference.matmul_epilog(epilog, *args)
    with matmul.FusedMatmul(*args, epilog=epilog) as mm:
        fused_err = tolerances.relative_error(mm(), expected)
    unfused_err = tolerances.relative_error(matmul.unfused_epilog(epilog, *args), expected)
    assert fused_err <= tolerances.tolerance(dtype, epilog), f"fused {epilog} {shape} {dtype}: {fused_err:.3e}"
    assert unfused_err <= tolerances.tolerance(dtype), f"unfused {epilog} {shape} {dtype}: {unfused_err:.3e}"


def test_planned_epilog_without_bias_refuses_a_bias_reset(cp):
    a, b = operands("GELU", (16, 8, 12), "float32", seed=1)
    with matmul.FusedMatmul(a, b, epilog="GELU") as mm:
        with pytest.raises(ValueError, match="epilog GELU takes no bias"):
            mm.reset_operands(bias=cp.ones(16, dtype=cp.float32))
