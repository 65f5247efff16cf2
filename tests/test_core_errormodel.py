"""The error model: cancellation is judged against what cancelled; losses are classified."""

import numpy as np

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full, compare_projected, magnitude
from advalidate.evaluate import trace
from advalidate.oracle import Oracle

REF = NumpyReference()


def _check(fn, xs, vs, grads=None, mode="full"):
    oracle = Oracle(dtype=fn.dtype).vjp(fn, xs, vs, mode=mode)
    grads = REF.vjp(fn, xs, vs).grads if grads is None else grads
    return (compare_full if mode == "full" else compare_projected)(fn, xs, vs, oracle, grads)


def test_exact_cancellation_is_not_flagged():
    b = Builder()
    x = b.input(4)
    y = b.exp(b.sin(x))
    fn = b.build(b.sub(b.mul(y, x), b.mul(x, y)))  # identically 0: the true gradient is 0
    xs, vs = [np.array([0.3, -1.1, 2.2, 0.7])], [np.array([1.0, -2.0, 0.5, 3.0])]
    noisy = [REF.vjp(fn, xs, vs).grads[0] + 1e-16]  # rounding noise around an exact zero
    verdict = _check(fn, xs, vs, noisy)
    assert verdict.ok, verdict.ratio


def test_the_scale_is_what_was_summed():
    b = Builder()
    x = b.input(2)
    fn = b.build(b.sub(x, x))
    values = trace(fn, [np.array([1.0, 2.0])])
    np.testing.assert_array_equal(magnitude(fn, values, [np.array([1.0, -3.0])])[0], [2.0, 6.0])


def test_a_relative_error_of_1e_9_is_caught_in_float64_both_ways():
    b = Builder()
    x = b.input(5)
    fn = b.build(b.mul(b.sin(x), b.exp(b.mul(x, b.input(())))))
    xs, vs = [np.linspace(-1, 1.5, 5), np.array(0.3)], [np.linspace(1, 2, 5)]
    grads = REF.vjp(fn, xs, vs).grads
    wrong = [grads[0] * (1 + 1e-9), grads[1]]
    for mode in ("full", "projected"):
        assert _check(fn, xs, vs, mode=mode).ok
        verdict = _check(fn, xs, vs, wrong, mode=mode)
        assert not verdict.ok and verdict.kind == "wrong-value"


def test_saturation_of_the_textbook_formula_is_precision_loss():
    b = Builder()
    fn = b.build(b.sigmoid(b.input(2)))
    xs, vs = [np.array([40.0, 1.0])], [np.ones(2)]
    verdict = _check(fn, xs, vs)  # y (1 - y) with y rounded to 1: 0 where the truth is e^-40
    assert not verdict.ok and verdict.kind == "precision-loss" and verdict.worst == (0, (0,))
    exact = [np.array([np.exp(-40.0) / (1 + np.exp(-40.0)) ** 2, 0.19661193324148185])]
    assert _check(fn, xs, vs, exact).ok


def test_nan_where_the_truth_is_finite_is_nan_inf():
    b = Builder()
    fn = b.build(b.tanh(b.input(3)))
    xs, vs = [np.array([0.1, 0.2, 0.3])], [np.ones(3)]
    grads = REF.vjp(fn, xs, vs).grads
    grads[0][1] = np.nan
    verdict = _check(fn, xs, vs, grads)
    assert verdict.kind == "nan-inf" and verdict.worst[1] == (1,)


def test_float32_tolerance_follows_the_dtype():
    b = Builder("float32")
    x = b.input(4)
    fn = b.build(b.tanh(b.mul(x, x)))
    xs, vs = [np.array([0.3, -0.7, 1.1, 0.2], dtype="float32")], [np.ones(4, dtype="float32")]
    assert _check(fn, xs, vs).ok
    grads = REF.vjp(fn, xs, vs).grads
    assert not _check(fn, xs, vs, [grads[0] * np.float32(1 + 1e-4)]).ok


def test_a_magnitude_that_overflows_on_the_way_is_taken_exactly_and_the_point_is_ill_conditioned():
    """div(x ⊗ x, x) at subnormal x (F036-F039 of issue 16's special campaign, seed 41, all four libraries NaN): the
    float64 scale ran through the cotangent v/x = 1e316 of x ⊗ x and was inf everywhere, so the tolerance was inf and
    the ill-conditioning test (sens > sqrt(u)·scale) could never hold. Exactly, the scale of x0[3] is 6 (|v|·|x|/|x|
    summed); those of x0[0..2] are truly past float64 (terms x3/xk = 2.6e315 that cancel to the VJP's -2, 4, 2). f
    itself is not evaluable here (x_i·x_j underflows to 0: the output moves by 100%), and neither is its VJP: the
    point is ill-conditioned, judged on no backend."""
    from advalidate.errormodel import _float_values, ill_conditioned
    from advalidate.evaluate import to_mp
    from advalidate.ir import Function, Node
    from advalidate.check import check_example

    fn = Function(((4,),), (Node.make("tensordot", "x0", "x0", axes=((), ())), Node.make("div", "v0", "x0")),
                  ("v1",), "float64")
    xs = [np.array([9.4839917e-317, 8.289046e-317, 4.34953256e-316, 0.25])]
    vs = [np.array([[1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, -1.0], [1.0, -1.0, 1.0, -1.0]])]
    exact = trace(fn, [to_mp(x) for x in xs], "mp")
    (scale,) = magnitude(fn, _float_values(exact), vs, exact)
    assert scale[3] == 6.0 and np.all(np.isinf(scale[:3]))
    assert "ill-conditioned" in ill_conditioned(fn, xs, vs)
    result = check_example(fn, xs, vs, [NumpyReference()], Oracle(dtype="float64"))
    assert result.point == "ill-conditioned"
