"""The tinygrad plug-in's known behaviours (``advalidate_tinygrad/known/tinygrad.txt``), each reproduced in plain
tinygrad against an exact value (mpmath, or a closed form), with no advalidate code in the computation: a tinygrad
release that fixes one fails its test here, and the entry is then to be dropped.

    pytest plugins/advalidate-tinygrad/tests/test_known_evidence.py -s   # prints tinygrad's values against exact
"""

from __future__ import annotations

import os

os.environ.setdefault("DEV", "CPU")

import mpmath  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

tinygrad = pytest.importorskip("tinygrad")
from tinygrad import Tensor  # noqa: E402

mpmath.mp.prec = 200


def _vjp(f, xs, v):
    """tinygrad's VJP of ``f`` at ``xs`` along ``v`` (float64), as its users write it: Tensor.gradient."""
    ts = [Tensor(np.asarray(x, dtype=np.float64)) for x in xs]
    y = f(*ts)
    grads = (y * Tensor(np.asarray(v, dtype=np.float64))).sum().gradient(*ts)
    return y.numpy(), [g.numpy() for g in grads]


def _rel(got, exact):
    got, exact = np.asarray(got, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    return float(np.max(np.abs(got - exact) / np.maximum(np.abs(exact), 1e-300)))


X = np.array([0.3, -0.55, 0.8])


@pytest.mark.parametrize("name, exact, derivative", [
    ("atan", mpmath.atan, lambda x: 1 / (1 + x * x)),
    ("asin", mpmath.asin, lambda x: 1 / mpmath.sqrt(1 - x * x)),
    ("acos", mpmath.acos, lambda x: -1 / mpmath.sqrt(1 - x * x)),
    ("erf", mpmath.erf, lambda x: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x * x)),
])
def test_float64_atan_asin_acos_and_erf_are_float32_grade_approximations(name, exact, derivative):
    """tinygrad's asin is Abramowitz-Stegun 4.4.46's polynomial (atan is asin(x / sqrt(1 + x²)), acos is π/2 - asin)
    and its erf Abramowitz-Stegun 7.1.26, whatever the dtype: in float64 their values are off by ~1e-8..1e-7, and
    their VJPs, tinygrad's autodiff of those formulas, by ~1e-7."""
    y, (g,) = _vjp(lambda x: getattr(x, name)(), [X], np.ones(3))
    want = [float(exact(mpmath.mpf(float(x)))) for x in X]
    want_g = [float(derivative(mpmath.mpf(float(x)))) for x in X]
    print(f"\n{name}: {y} exact {want}; VJP {g} exact {want_g}")
    assert _rel(y, want) > 1e-10 or _rel(g, want_g) > 1e-10, "fixed: drop its known-behaviour entries"


def test_gelu_exact_goes_through_the_approximate_erf():
    """gelu(approximate='none') is 0.5·x·(1 + erf(x/√2)) with tinygrad's approximate erf: off by ~1e-8 in float64."""
    def gelu(x):
        return 0.5 * x * (1 + mpmath.erf(x / mpmath.sqrt(2)))
    y, (g,) = _vjp(lambda x: x.gelu(approximate="none"), [X], np.ones(3))
    want = [float(gelu(mpmath.mpf(float(x)))) for x in X]
    want_g = [float(mpmath.diff(gelu, mpmath.mpf(float(x)))) for x in X]
    print(f"\ngelu: {y} exact {want}; VJP {g} exact {want_g}")
    assert _rel(y, want) > 1e-10 and _rel(g, want_g) > 1e-10


def test_selu_truncates_its_constants():
    """Tensor.selu(alpha=1.67326, gamma=1.0507): the constants to 6 and 5 digits (SELU's are 1.6732632423543772 and
    1.0507009873554805), so selu and its VJP are off by ~3e-6 relative in every dtype."""
    alpha, scale = mpmath.mpf("1.6732632423543772848170429916717"), mpmath.mpf("1.0507009873554804934193349852946")
    x = np.array([-0.7, 0.4])
    y, (g,) = _vjp(lambda x: x.selu(), [x], np.ones(2))
    want = [float(scale * (v if v > 0 else alpha * (mpmath.exp(v) - 1))) for v in map(mpmath.mpf, x)]
    want_g = [float(scale * (1 if v > 0 else alpha * mpmath.exp(v))) for v in map(mpmath.mpf, x)]
    print(f"\nselu: {y} exact {want}; VJP {g} exact {want_g}")
    assert 1e-7 < _rel(y, want) < 1e-4 and 1e-7 < _rel(g, want_g) < 1e-4


def test_float64_sin_and_cos_of_a_huge_argument():
    """sin and cos far out (|x| ~ 1e154): tinygrad's float64 argument reduction is wrong there, and so are the value
    and the VJP (cos(x)·v, computed as sin(π/2 - x)·v)."""
    x = np.array([6.810022548055588e+154])
    y, (g,) = _vjp(lambda x: x.sin(), [x], np.array([0.125]))
    want = float(mpmath.sin(mpmath.mpf(float(x[0]))))
    want_g = float(0.125 * mpmath.cos(mpmath.mpf(float(x[0]))))
    print(f"\nsin(6.81e154): {y[0]} exact {want}; VJP {g[0]} exact {want_g}")
    assert abs(g[0] - want_g) > 1e-3


def test_equal_0d_tensors_are_one_uop_and_their_gradients_conflate():
    """Why the backend makes a 0-d input from a 1-element buffer: tinygrad makes Tensor(np.array(0.25)) a constant
    UOp, UOps are hash-consed, so two 0-d tensors of equal value are one UOp; the gradient of a·b with respect to
    both is then d(a²)/da = 0.5, not b = 0.25."""
    a, b = Tensor(np.array(0.25)), Tensor(np.array(0.25))
    assert a.uop is b.uop
    ga, gb = (a * b).gradient(a, b)
    print(f"\nd(a·b)/da, d(a·b)/db at a = b = 0.25: {ga.numpy()}, {gb.numpy()} (exact 0.25, 0.25)")
    assert ga.numpy() == 0.5 and gb.numpy() == 0.5
    a, b = Tensor(np.array([0.25])).reshape(()), Tensor(np.array([0.25])).reshape(())
    ga, gb = (a * b).gradient(a, b)
    assert ga.numpy() == 0.25 and gb.numpy() == 0.25


@pytest.mark.parametrize("name, exact", [("asin", 1.0), ("atan", 1.0), ("acos", -1.0),
                                         ("erf", float(2 / mpmath.sqrt(mpmath.pi)))])
def test_the_vjp_of_asin_atan_acos_and_erf_at_zero_is_zero(name, exact):
    """asin and erf are sign(x) times a formula in |x|, and tinygrad's sign (a where of constants) has derivative 0: at
    x = 0 the product's rule gives 0, not asin'(0) = 1, atan'(0) = 1, acos'(0) = -1, erf'(0) = 2/√π."""
    _, (g,) = _vjp(lambda x: getattr(x, name)(), [np.array([0.0, 1e-3])], np.ones(2))
    print(f"\n{name}' at 0 and 1e-3: {g} (exact at 0: {exact})")
    assert g[0] == 0.0 and abs(g[1] - exact) < 1e-3


def test_the_vjp_of_cosh_at_zero_keeps_an_fma_residue():
    """d/dx exp2(cosh(tanh(x))) at x = 0 is exactly 0 (sinh(0) = 0); tinygrad's cosh is (exp(y) + exp(-y))/2, its VJP
    a difference of two equal products, and clang (-O2 -march=native, contraction on) makes one of them an FMA: the
    kernel returns ~6e-17 there (with CC=clang -ffp-contract=off it returns 0)."""
    x = np.array([[0.7293659056250901, 0.0, 0.0], [0.0, 1.3464458372009536, 0.0],
                  [0.6232252151851295, 1.0532379634439943, 0.40268747012898004]])
    v = np.array([[0.0, 0.0, -1.8361059042552212], [-1.9338894578858836, 0.0, 1.6510223091108869], [0.0, 0.0, 0.0]])
    _, (g,) = _vjp(lambda x: x.tanh().cosh().exp2(), [x], v)
    print(f"\nVJP where x = 0 (exact 0): {g[x == 0]}")
    assert 0 < np.max(np.abs(g[x == 0])) < 1e-15


def test_elu_vjp_at_zero_is_zero():
    """Tensor.elu is relu(x) - alpha·relu(1 - exp(x)), and relu's derivative at 0 is 0: elu's VJP at 0 is 0, where
    elu (alpha = 1) has derivative 1 from both sides."""
    _, (g,) = _vjp(lambda x: x.elu(), [[0.0]], [0.125])
    print(f"\nelu VJP at 0: {g} exact [0.125]")
    assert g[0] == 0.0, "fixed: drop its known-behaviour entry"


def test_maximum_splits_a_tie_in_halves_where_only_one_side_moves():
    """max(floor(x), x) at x = 0: the operands tie while only x moves (floor is flat), and both one-sided derivatives
    are v; tinygrad's MAX rule gives each tied operand v/2."""
    _, (g,) = _vjp(lambda x: x.floor().maximum(x), [[0.0]], [0.125])
    print(f"\nmax(floor(x), x) VJP at 0: {g}, one-sided derivatives both 0.125")
    assert g[0] == 0.0625, "fixed: drop its known-behaviour entry"


def test_sigmoid_vjp_is_nan_far_out_on_the_negative_side():
    """sigmoid is 1 / (1 + exp2(-x·log2 e)): at -6.8e154 exp2 overflows and the reciprocal's rule is inf/inf = NaN;
    the exact VJP, v·σ(x)(1 - σ(x)), underflows to 0."""
    x = -6.810022548055588e+154
    _, (g,) = _vjp(lambda t: t.sigmoid(), [x], 0.125)
    exact = float(0.125 * mpmath.exp(mpmath.mpf(x)) / (1 + mpmath.exp(mpmath.mpf(x))) ** 2)
    print(f"\nsigmoid VJP at {x}: {g} exact {exact}")
    assert exact == 0.0 and np.isnan(g), "fixed: drop its known-behaviour entry"


def test_asinh_vjp_is_zero_far_out():
    """asinh is log(x + sqrt(x² + 1)): at 6.8e154 x² overflows and the VJP, through 1/sqrt(x² + 1), is 0, where it is
    v/√(x² + 1) ≈ 1.8e-156."""
    x = 6.810022548055588e+154
    _, (g,) = _vjp(lambda t: t.asinh(), [x], 0.125)
    exact = float(0.125 / mpmath.sqrt(mpmath.mpf(x) ** 2 + 1))
    print(f"\nasinh VJP at {x}: {g} exact {exact}")
    assert exact == pytest.approx(1.8355298990264028e-156, rel=1e-15) and g == 0.0, \
        "fixed: drop its known-behaviour entry"
