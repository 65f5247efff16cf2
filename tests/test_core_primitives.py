"""Every mpmath form agrees with its float64 NumPy form to the scale of a few ulps."""

import math

import mpmath
import numpy as np
import pytest

from advalidate import CATALOGUE, FAMILIES, evaluate
from advalidate.evaluate import gaps, kink_tolerance, trace

from .helpers import single, well_inside

U = np.finfo(np.float64).eps / 2


def _abs_scale(fn, xs):
    """The value of the program on |x|: bounds what a reduction or product summed (|sum| <= sum |.|)."""
    return np.abs(evaluate(fn, [np.abs(x) for x in xs])[0])


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_mpmath_form_agrees_with_numpy_form(name, rng):
    fn = single(name)
    for _ in range(5):
        xs = well_inside(fn, rng)
        got = evaluate(fn, xs)[0]
        with mpmath.workprec(113):
            exact = evaluate(fn, xs, "mp")[0]
        exact = np.array([float(v) for v in np.asarray(exact).reshape(-1)]).reshape(np.shape(exact))
        prim = CATALOGUE[name]
        terms = 4 if prim.family in ("reduction", "linalg", "nn", "scan") else 1
        scale = np.maximum(np.abs(exact), _abs_scale(fn, xs) if prim.family in ("reduction", "linalg", "scan") else 0)
        if prim.family in ("binary", "nn") and prim.family != "structural":
            # composites such as logaddexp = m + log1p(exp(-|a - b|)) round on the scale of their operands
            scale = np.maximum(scale, np.max([np.abs(x) for x in np.broadcast_arrays(*xs)], axis=0)
                               if prim.arity else 0)
        # a correctly rounded result is within 1 ulp; a sum of `terms` roundings within a few
        tol = 2 * (terms + 1) * U * scale
        if prim.rounding is not None:  # the registration's own bound (a solve's or a factorisation's error grows with
            # its conditioning; the error model uses the same bound)
            tol = np.maximum(tol, 2 * U * np.abs(exact) + prim.rounding(got, xs, prim.check_params(fn.nodes[0].kwargs)))
        assert np.all(np.abs(got - exact) <= tol), (name, np.max(np.abs(got - exact) / np.maximum(tol, 1e-300)))


def test_families_cover_the_catalogue():
    assert sorted(n for names in FAMILIES.values() for n in names) == sorted(CATALOGUE)


def test_required_primitives_are_in_the_catalogue():
    required = """neg add sub mul div square sqrt pow exp expm1 log log1p sin cos tan tanh sinh cosh arctan arcsinh
    sigmoid softplus erf abs maximum minimum relu where logaddexp hypot atan2 sum mean max logsumexp prod matmul
    transpose reshape broadcast_to index concatenate stack softmax log_softmax norm""".split()
    assert set(required) <= set(CATALOGUE)


@pytest.mark.parametrize("name, point", [
    ("log", [-1.0]), ("sqrt", [-0.5]), ("log1p", [-1.5]), ("pow", [-2.0]), ("div", [0.0]), ("tan", [math.pi / 2]),
])
def test_outside_the_domain_the_mpmath_form_is_nan_and_the_gap_is_not_positive(name, point):
    fn = single(name, shape=(1,))
    xs = [np.array(point)] * len(fn.inputs)
    if name == "div":
        xs = [np.array([1.0]), np.array(point)]
    if name == "pow":
        xs = [np.array(point), np.array([0.5])]
    values = trace(fn, xs, "mp")
    assert mpmath.isnan(values["v0"][0]) or name == "tan"
    (gap,) = gaps(fn, values)
    assert gap.domain <= (1e-15 if name == "tan" else 0)


@pytest.mark.parametrize("name, xs", [
    ("abs", [[0.0]]), ("relu", [[0.0]]), ("maximum", [[1.5], [1.5]]), ("minimum", [[2.0], [2.0]]),
    ("hypot", [[0.0], [0.0]]), ("where", [[0.0], [1.0], [2.0]]), ("max", [[[3.0, 1.0, 3.0]]]), ("norm", [[[0.0, 0.0]]]),
])
def test_kinks_and_ties_have_zero_gap(name, xs):
    fn = single(name, shape=np.shape(xs[0]))
    (gap,) = gaps(fn, trace(fn, [np.array(x) for x in xs], "mp"))
    assert gap.kink_rel <= kink_tolerance("float64")


def test_gmpy2_backs_mpmath():
    assert mpmath.libmp.BACKEND == "gmpy"
