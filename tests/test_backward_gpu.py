"""The ReLU training pair: RELU_AUX_BIAS forward, DRELU_BGRAD backward, fused and unfused, against the oracle.

cuBLASLt's mask is bit-packed and opaque: it is checked by what the backward
does with it (zero exactly where the forward's output is not positive), never
by its bytes.
"""

import numpy as np
import pytest

from fusion_kernels.kernels import relu_grad
from fusion_kernels.oracle import reference, tolerances
from fusion_kernels.suite import inputs, shapes

pytestmark = [pytest.mark.gpu, pytest.mark.nvmath]

SHAPES = shapes.MATMUL_TEST_SHAPES[1:]


def grad_operands(shape, dtype, seed):
    m, k, n = shape
    g, h, _ = inputs.matmul_inputs((m, k + 3, n), dtype, seed=seed)  # another inner size than the forward's
    return g, h


# The ReLU's edge. cuBLASLt's RELU_AUX_BIAS may record "positive" where C is 0: seen on the H100
# (nvmath-python 1.0.0, CUDA 13) in float16 at 257x129x65 and its odd neighbours, 1 or 2 entries of
# ~16,000, each with a pre-activation within 6e-4 of zero, where the kernel's own float16 rounding
# decides the sign (`fusion-kernels check drelu-bgrad` prints them). There the derivative is
# either branch, so the test takes the branch the kernel took, checks it is one of the two, and
# holds every other entry to the oracle.
def edge_mask(a, b, bias, mask, d, g, h, tol):
    """The mask the fused backward used: `mask` (C > 0) away from zero, D's own branch at the edge."""
    pre = reference.matmul_epilog("BIAS", a, b, bias)
    edge = np.abs(pre) <= tol * np.abs(pre).max()
    assert edge.mean() < 0.01  # a thin edge: the test cannot pass by calling everything ambiguous
    gh = reference.matmul_product(g, h)
    d = np.asarray(d.get(), np.float64)
    took = edge & (d != 0)
    scale = np.abs(gh).max()
    assert np.allclose(d[took], gh[took], rtol=10 * tol, atol=10 * tol * scale)  # the pass branch, not garbage
    return np.where(edge, took, mask)


@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fused_pair_matches_oracle(cp, shape, dtype):
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=21)
    g, h = grad_operands(shape, dtype, seed=22)
    tol = tolerances.tolerance(dtype)
    with relu_grad.ForwardReluAux(a, b, bias) as fwd:
        c, aux = fwd()
    assert aux.dtype == np.uint8
    expected_c, _ = reference.matmul_relu_forward(a, b, bias)
    assert tolerances.relative_error(c, expected_c) <= tol
    mask = c.get() > 0  # the mask the fused forward must have recorded (up to the ReLU's edge)
    assert 0.2 < mask.mean() < 0.8  # both branches of the ReLU are exercised
    with relu_grad.BackwardDReluBgrad(g, h, aux) as bwd:
        d, bgrad = bwd()
    used = edge_mask(a, b, bias, mask, d, g, h, tol)
    expected_d, expected_bgrad = reference.matmul_drelu_bgrad(g, h, used)
    assert d.shape == expected_d.shape and bgrad.reshape(-1).shape == expected_bgrad.shape
    assert tolerances.relative_error(d, expected_d) <= tol
    assert np.all(d.get()[~used] == 0)  # masked entries exactly zero
    assert tolerances.relative_error(bgrad.reshape(-1), expected_bgrad) <= tol


@pytest.mark.parametrize("dtype", shapes.MATMUL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_unfused_pair_matches_oracle(cp, shape, dtype):
    a, b, bias = inputs.matmul_inputs(shape, dtype, seed=21)
    g, h = grad_operands(shape, dtype, seed=22)
    tol = tolerances.tolerance(dtype)
    c, mask = relu_grad.unfused_forward(a, b, bias)
    expected_c, _ = reference.matmul_relu_forward(a, b, bias)
    assert tolerances.relative_error(c, expected_c) <= tol
    np.testing.assert_array_equal(mask.get(), c.get() > 0)
    d, bgrad = relu_grad.unfused_backward(g, h, mask)
    expected_d, expected_bgrad = reference.matmul_drelu_bgrad(g, h, mask)
    assert tolerances.relative_error(d, expected_d) <= tol
    assert tolerances.relative_error(bgrad, expected_bgrad) <= tol


def test_backward_takes_the_next_forward_mask_without_replanning(cp):
    shape = (128, 64, 96)
    a, b, bias = inputs.matmul_inputs(shape, "float32", seed=31)
    g, h = grad_operands(shape, "float32", seed=32)
    with relu_grad.ForwardReluAux(a, b, bias) as fwd, relu_grad.BackwardDReluBgrad(g, h, fwd()[1]) as bwd:
        bwd()
        with relu_grad.ForwardReluAux(a, -b, bias) as flipped:  # the product's sign flipped: another mask
            c2, aux2 = flipped()
        bwd.reset_operands(relu_aux=aux2)
        d, bgrad = bwd()
        mask2 = c2.get() > 0
        expected_d, expected_bgrad = reference.matmul_drelu_bgrad(g, h, mask2)
        assert tolerances.relative_error(d, expected_d) <= tolerances.tolerance("float32")
        assert tolerances.relative_error(bgrad.reshape(-1), expected_bgrad) <= tolerances.tolerance("float32")


def test_fused_and_unfused_masks_behave_alike(cp):
    # Exactly representable inputs: both forwards agree bit for bit, so must both backwards' zeros.
    rng = np.random.default_rng(3)
    m, k, n = 64, 32, 48
    a = cp.asarray(rng.integers(-3, 4, (m, k)).astype(np.float64))
    b = cp.asarray(rng.integers(-3, 4, (k, n)).astype(np.float64))
    bias = cp.asarray(rng.integers(-3, 4, m).astype(np.float64) + 0.5)  # never exactly zero before the ReLU
    g = cp.ones((m, 16), dtype=np.float64)
    h = cp.ones((16, n), dtype=np.float64)
    with relu_grad.ForwardReluAux(a, b, bias) as fwd:
        c, aux = fwd()
    _, mask = relu_grad.unfused_forward(a, b, bias)
    with relu_grad.BackwardDReluBgrad(g, h, aux) as bwd:
        d_fused, bgrad_fused = bwd()
    d_unfused, bgrad_unfused = relu_grad.unfused_backward(g, h, mask)
    np.testing.assert_array_equal(d_fused.get(), d_unfused.get())  # 16 where C > 0, else 0
    np.testing.assert_array_equal(bgrad_fused.get().reshape(-1), bgrad_unfused.get())


def test_backward_refuses_k_of_one_and_a_wrong_mask(cp):
    g = cp.ones((8, 1), dtype=cp.float32)
    h = cp.ones((1, 8), dtype=cp.float32)
    with pytest.raises(ValueError, match="k > 1"):
        relu_grad.unfused_backward(g, h, cp.ones((8, 8), dtype=bool))
    g2 = cp.ones((8, 4), dtype=cp.float32)
    h2 = cp.ones((4, 8), dtype=cp.float32)
    with pytest.raises(ValueError, match=r"mask must have the product's shape \(8, 8\)"):
        relu_grad.unfused_backward(g2, h2, cp.ones((8, 9), dtype=bool))
    with pytest.raises(TypeError, match="bool"):
        relu_grad.unfused_backward(g2, h2, cp.ones((8, 8), dtype=cp.float32))
