"""The float64 oracle on inputs a person can check on paper (CPU only)."""

import ast
from pathlib import Path

import numpy as np
import pytest

from fusion_kernels.oracle import reference

from hand_cases import A, B, BIAS, BIASED, CONVOLVED, FILTER, PRODUCT, RELU, SIGNALS


def test_matmul_steps_by_hand():
    product, biased, relu = reference.matmul_bias_relu_steps(A, B, BIAS)
    np.testing.assert_array_equal(product, PRODUCT)
    np.testing.assert_array_equal(biased, BIASED)
    np.testing.assert_array_equal(relu, RELU)
    assert (BIASED < 0).any() and (RELU >= 0).all()


def test_bias_is_per_row():
    a = np.eye(2)
    b = np.array([[1.0, 2.0], [3.0, 4.0]])
    bias = np.array([10.0, -100.0])
    out = reference.matmul_bias_relu(a, b, bias)
    np.testing.assert_array_equal(out, [[11, 12], [0, 0]])  # per column would give [[11, 0], [13, 0]]


def test_matmul_reference_propagates_nan():
    a = A.copy()
    a[0, 0] = np.nan
    out = reference.matmul_bias_relu(a, B, BIAS)
    assert np.isnan(out[0]).all() and not np.isnan(out[1]).any()


def test_fft_convolution_by_hand():
    np.testing.assert_allclose(reference.fft_convolve(SIGNALS, FILTER), CONVOLVED, rtol=0, atol=1e-15)


def test_fft_reference_identity_filter_returns_signal():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 12)) + 1j * rng.standard_normal((3, 12))
    np.testing.assert_allclose(reference.fft_convolve(a, np.ones_like(a)), a, atol=1e-14)


def test_fft_reference_is_circular_convolution():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(8) + 0j
    h = rng.standard_normal(8) + 0j
    direct = np.array([sum(x[j] * h[(t - j) % 8] for j in range(8)) for t in range(8)])
    out = reference.fft_convolve(x[None, :], np.fft.fft(h)[None, :])
    np.testing.assert_allclose(out[0], direct, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_reference_upcasts_to_float64(dtype):
    out = reference.matmul_bias_relu(A.astype(dtype), B.astype(dtype), BIAS.astype(dtype))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, RELU)


def test_epilogues_by_hand():
    np.testing.assert_array_equal(reference.matmul_epilog("BIAS", A, B, BIAS), BIASED)
    np.testing.assert_array_equal(reference.matmul_epilog("RELU", A, B), np.maximum(PRODUCT, 0))
    np.testing.assert_array_equal(reference.matmul_epilog("RELU_BIAS", A, B, BIAS), RELU)
    gelu_biased = reference.matmul_epilog("GELU_BIAS", A, B, BIAS)
    assert gelu_biased[0, 1] == pytest.approx(8.0, abs=1e-12)  # GELU(8) = 8 to double precision
    assert gelu_biased[1, 1] == pytest.approx(0.0, abs=1e-12)  # GELU(-7) = -0.0...
    assert gelu_biased[0, 0] == pytest.approx(-0.04540230591222, rel=1e-9)  # GELU(-2), tanh form


def test_gelu_is_the_tanh_approximation_not_erf():
    from math import erf, sqrt

    from fusion_kernels.kernels.matmul import gelu_tanh

    x = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 2.5])
    tanh_form = 0.5 * x * (1 + np.tanh(sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    erf_form = np.array([0.5 * v * (1 + erf(v / sqrt(2))) for v in x])
    np.testing.assert_allclose(gelu_tanh(x, np), tanh_form, rtol=1e-15)
    assert gelu_tanh(np.array([1.0]), np)[0] == pytest.approx(0.8411919906082768, rel=1e-14)
    assert np.abs(gelu_tanh(x, np) - erf_form).max() > 1e-4  # the two GELUs differ measurably


# --- The oracle is independent of the kernels it judges ---------------------------------------

REFERENCE_PY = Path(reference.__file__)
SRC = REFERENCE_PY.parents[1]  # src/fusion_kernels
PACKAGE = "fusion_kernels"
# Package modules the oracle may import: input validation only (shapes and dtypes, no arithmetic).
NEUTRAL = {"suite.checks"}
EXTERNAL = {"__future__", "numpy"}


def _imports(source: str, here: str = "oracle") -> tuple[set[str], set[str]]:
    """(package modules, as paths under the package such as "suite.checks"; top-level external modules)
    imported anywhere in `source`, function bodies included. `here`: the folder of the module `source` is."""
    package, external = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == PACKAGE:
                    package.add(rest or PACKAGE)
                else:
                    external.add(top)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            top, _, rest = module.partition(".")
            if node.level == 0 and top != PACKAGE:
                external.add(top)
                continue
            if node.level:  # `from .x import y`, `from ..x import y`
                base = here.split(".") if here else []
                inside = ".".join(base[:len(base) - (node.level - 1)] + ([module] if module else []))
            else:  # `from fusion_kernels.x import y`
                inside = rest
            if not inside or (SRC / inside.replace(".", "/") / "__init__.py").is_file():
                package.update(f"{inside}.{alias.name}".lstrip(".") for alias in node.names)  # a folder: the names are modules
            else:
                package.add(inside)
        elif isinstance(node, ast.Name) and node.id == "__import__":
            package.add("__import__")  # dynamic imports would dodge this check
    return package, external


def test_import_parser_sees_every_form():
    source = ("from ..suite import checks\nfrom ..kernels import matmul\nfrom ..gpu.graphs import Replayed\n"
              "import fusion_kernels.kernels.peers\nfrom fusion_kernels.suite.strategy import Bound\n"
              "from fusion_kernels.kernels import relu_grad\nfrom . import tolerances\nimport numpy as np\n"
              "def f():\n    from ..kernels.fftconv import fused\n    import importlib\n")
    package, external = _imports(source)
    assert package == {"suite.checks", "kernels.matmul", "gpu.graphs", "kernels.peers", "suite.strategy",
                       "kernels.relu_grad", "oracle.tolerances", "kernels.fftconv"}
    assert external == {"numpy", "importlib"}
    assert _imports("from ..kernels.matmul import EPILOGS, check_epilog, gelu_tanh")[0] == {"kernels.matmul"}  # the old oracle


def test_reference_imports_no_kernel_module():
    package, external = _imports(REFERENCE_PY.read_text())
    assert package <= NEUTRAL, f"reference.py imports package modules outside {sorted(NEUTRAL)}: {sorted(package - NEUTRAL)}"
    assert external <= EXTERNAL, f"reference.py imports {sorted(external - EXTERNAL)}"
    for name in package:  # the neutral modules must not pull a kernel module in either
        inner, inner_external = _imports((SRC / f"{name.replace('.', '/')}.py").read_text(), here=name.rpartition(".")[0])
        assert not inner, f"{name}.py imports {sorted(inner)}"
        assert inner_external <= EXTERNAL, f"{name}.py imports {sorted(inner_external - EXTERNAL)}"


# --- The oracle on values written down by hand ------------------------------------------------

# GELU, tanh form, to 20 significant digits (50-digit decimal arithmetic outside the test).
GELU_BY_HAND = {
    0.0: 0.0,
    1.0: 0.84119199060827670478,
    -1.0: -0.15880800939172329522,  # GELU(x) - GELU(-x) = x in the tanh form too
    3.0: 2.9963626079182269812,
    -3.0: -0.0036373920817730188378,
    0.5: 0.34571400982514392204,
}


def test_gelu_by_hand():
    x = np.array(list(GELU_BY_HAND))
    np.testing.assert_allclose(reference.gelu_tanh(x), list(GELU_BY_HAND.values()), rtol=0, atol=1e-15)
    assert reference.gelu_tanh(x).dtype == np.float64
    assert reference.gelu_tanh(np.array([1.0], np.float16))[0] == pytest.approx(0.84119199060827670478, abs=1e-15)


def test_gelu_limits_and_nan():
    out = reference.gelu_tanh(np.array([40.0, -40.0, np.nan]))
    assert out[0] == 40.0 and out[1] == 0.0 and np.isnan(out[2])


def test_gelu_epilogues_by_hand():
    a = np.eye(2)
    b = np.array([[1.0, -1.0], [3.0, 0.0]])
    np.testing.assert_allclose(reference.matmul_epilog("GELU", a, b),
                               [[GELU_BY_HAND[1.0], GELU_BY_HAND[-1.0]], [GELU_BY_HAND[3.0], 0.0]], rtol=0, atol=1e-15)
    bias = np.array([-1.0, 0.5])  # rows become [0, -2] and [3.5, 0.5]
    out = reference.matmul_epilog("GELU_BIAS", a, b, bias)
    np.testing.assert_allclose(out[1], [3.4993838023446263367, GELU_BY_HAND[0.5]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[0], [0.0, -0.045402305912224981219], rtol=0, atol=1e-15)


def test_matmul_bias_relu_small_integers_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 6.0], [7.0, 8.0]])
    bias = np.array([-20.0, -45.0])
    # a @ b = [[19, 22], [43, 50]]; + bias per row = [[-1, 2], [-2, 5]].
    np.testing.assert_array_equal(reference.matmul_product(a, b), [[19, 22], [43, 50]])
    np.testing.assert_array_equal(reference.matmul_epilog("BIAS", a, b, bias), [[-1, 2], [-2, 5]])
    np.testing.assert_array_equal(reference.matmul_epilog("RELU_BIAS", a, b, bias), [[0, 2], [0, 5]])
    np.testing.assert_array_equal(reference.matmul_bias_relu(a, b, bias), [[0, 2], [0, 5]])
    np.testing.assert_array_equal(reference.matmul_epilog("RELU", -a, b), [[0, 0], [0, 0]])
    _, mask = reference.matmul_relu_forward(a, b, bias)
    np.testing.assert_array_equal(mask, [[False, True], [False, True]])


def test_matmul_bias_relu_against_exact_integer_arithmetic():
    rng = np.random.default_rng(7)
    a = rng.integers(-9, 10, (7, 5))
    b = rng.integers(-9, 10, (5, 6))
    bias = rng.integers(-60, 61, 7)
    # Python integers are exact; float64 holds these small sums exactly too.
    exact = [[max(sum(int(a[i, p]) * int(b[p, j]) for p in range(5)) + int(bias[i]), 0) for j in range(6)]
             for i in range(7)]
    out = reference.matmul_bias_relu(*(x.astype(np.float64) for x in (a, b, bias)))
    np.testing.assert_array_equal(out, exact)
    assert 0 < (out == 0).sum() < out.size  # the ReLU cut some entries, not all


def test_unknown_epilog_is_named():
    with pytest.raises(ValueError, match="got 'SWISH'"):
        reference.matmul_epilog("SWISH", A, B)
    with pytest.raises(ValueError, match="epilog RELU takes no bias"):
        reference.matmul_epilog("RELU", A, B, BIAS)


def _shift_spectrum(shape, shift):
    """The 2-D DFT of a unit impulse at `shift`, written from its formula (no FFT)."""
    (n0, n1), (s0, s1) = shape, shift
    k0 = np.arange(n0)[:, None]
    k1 = np.arange(n1)[None, :]
    return np.exp(-2j * np.pi * (k0 * s0 / n0 + k1 * s1 / n1))


def test_fft2_batched_delta_filter_shifts_each_image():
    images = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4).astype(np.complex128)
    # Convolving with an impulse at (1, 2) moves every pixel down 1 row and right 2 columns (circularly).
    out = reference.fft_convolve2d_batched(images, _shift_spectrum((3, 4), (1, 2)))
    np.testing.assert_allclose(out[0], [[10, 11, 8, 9], [2, 3, 0, 1], [6, 7, 4, 5]], rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[1], [[22, 23, 20, 21], [14, 15, 12, 13], [18, 19, 16, 17]], rtol=0, atol=1e-13)
    per_image = np.stack([_shift_spectrum((3, 4), (0, 0)), _shift_spectrum((3, 4), (0, 1))])
    out = reference.fft_convolve2d_batched(images, per_image)  # identity on image 0, one column right on image 1
    np.testing.assert_allclose(out[0], images[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[1], [[15, 12, 13, 14], [19, 16, 17, 18], [23, 20, 21, 22]], rtol=0, atol=1e-13)


def test_fft2_constant_signal_keeps_only_the_dc_term():
    a = np.full((1, 4, 4), 3.0 + 0j)
    filter = np.arange(16, dtype=np.complex128).reshape(4, 4) * (1 - 1j)
    filter[0, 0] = 2.0  # fft2(a) is 48 at DC and 0 elsewhere: ifft2 gives 48 * 2 / 16 = 6 everywhere
    np.testing.assert_allclose(reference.fft_convolve2d_batched(a, filter), np.full((1, 4, 4), 6.0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(reference.fft_convolve2d_whole(a[0], filter), np.full((4, 4), 6.0), rtol=0, atol=1e-14)


def test_fft2_whole_is_one_2d_convolution_not_a_batch_of_rows():
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.complex128)
    spectrum = _shift_spectrum((2, 4), (1, 1))
    whole = reference.fft_convolve2d_whole(a, spectrum)
    np.testing.assert_allclose(whole, [[8, 5, 6, 7], [4, 1, 2, 3]], rtol=0, atol=1e-14)  # rows swap too
    np.testing.assert_allclose(whole, reference.fft_convolve2d_batched(a[None], spectrum)[0], rtol=0, atol=1e-14)
    rows = reference.fft_convolve(a, spectrum)  # same numbers as a batch of 1-D filters: a different result
    assert np.abs(rows - whole).max() > 1


def test_fft_delta_filter_shifts_each_signal():
    a = np.array([[1, 2, 3, 4, 5], [0, 0, 1, 0, 0]], dtype=np.complex128)
    k = np.arange(5)
    filter = np.stack([np.exp(-2j * np.pi * k * 2 / 5)] * 2)  # impulse at 2: two places right
    np.testing.assert_allclose(reference.fft_convolve(a, filter), [[4, 5, 1, 2, 3], [0, 0, 0, 0, 1]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(reference.fft_convolve_shared(a, filter[0]), [[4, 5, 1, 2, 3], [0, 0, 0, 0, 1]],
                               rtol=0, atol=1e-14)


def test_host_copy_of_a_gpu_array():
    fake_cupy = type("ndarray", (), {"__module__": "cupy._core.core", "get": lambda self: np.array([1.0, 2.0])})
    np.testing.assert_array_equal(reference.to_numpy(fake_cupy()), [1.0, 2.0])
    np.testing.assert_array_equal(reference.to_numpy([[1, 2]]), [[1, 2]])


# --- The kernel side's copies agree with the oracle's ------------------------------------------

def test_kernel_gelu_and_epilog_table_match_the_oracle():
    from fusion_kernels.kernels import matmul

    assert list(matmul.EPILOGS.items()) == list(reference.EPILOG_TAKES_BIAS.items())  # order is in the messages
    assert matmul.GELU_SQRT_2_OVER_PI == pytest.approx(0.79788456080286535588, abs=1e-16)
    x = np.linspace(-8, 8, 1601)
    # 1 + tanh cancels for x < 0, so a few 1e-16 of absolute difference are rounding, not a different formula.
    np.testing.assert_allclose(matmul.gelu_tanh(x, np), reference.gelu_tanh(x), rtol=1e-14, atol=1e-15)
