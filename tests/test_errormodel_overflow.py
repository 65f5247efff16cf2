"""A reverse pass whose exact terms overflow the dtype is outside its range, like an output that overflows.

Found by a --special campaign (seed 7, F039/F040 on jax and jax-jit, and every other backend alike):
``(-log(x), logit(x))`` at x = 8.289046e-317 with cotangents (0.125, 0.125). The VJP is 0.125·(1/(x(1 - x)) - 1/x)
= 0.125/(1 - x) = 0.125, but its two terms are -1.5e315 and 1.5e315, beyond float64's largest number: every reverse
pass holds each as a float (inf), and inf - inf is NaN. Judging such a point would blame every library for the
dtype's range (errormodel.unrepresentable); a term that stays in range, or a VJP that is NaN for another reason,
is still judged.
"""

import numpy as np
import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.backends.registry import load_backends
from advalidate.check import check_example
from advalidate.known import parse_function
from advalidate.oracle import Oracle

X = [np.array([8.289046e-317])]
V = [np.array([0.125]), np.array([0.125])]
FN = "neg(log(x0)), logit(x0)"


def _check(fn, xs, vs, backends=None):
    backends = backends or [NumpyReference()]
    with np.errstate(all="ignore"):
        return check_example(fn, xs, vs, backends, Oracle())


def test_terms_beyond_the_range_make_an_overflow_point_with_the_term_named():
    fn = parse_function(FN, [(1,)])
    assert np.isnan(NumpyReference().vjp(fn, X, V).grads[0][0])  # inf - inf, as in every library
    result = _check(fn, X, V)
    assert result.point == "overflow"
    message = result.outcomes[0].message
    assert "cotangent of x0" in message and "1.508e+315" in message and "0.125" in message, message


def test_in_range_terms_at_the_same_kind_of_point_are_judged():
    """x = 1e-300: the terms are 1.25e299, in range; the VJP 0.125 is finite in every float and judged."""
    fn = parse_function(FN, [(1,)])
    result = _check(fn, [np.array([1e-300])], V)
    assert result.point == "regular" and result.outcomes[0].status == "pass", result.outcomes[0].message


def test_a_nan_vjp_whose_terms_are_in_range_is_still_a_finding():
    """A backend returning NaN at a point whose terms are all in range: the point is judged, the NaN a finding."""
    class NanLog(NumpyReference):
        name = "nan-log"

        def vjp(self, fn, inputs, cotangents):
            out = super().vjp(fn, inputs, cotangents)
            out.grads[0][...] = np.nan
            return out

    fn = parse_function(FN, [(1,)])
    result = _check(fn, [np.array([1e-300])], V, [NanLog()])
    assert result.point == "regular"
    assert result.outcomes[0].status == "finding" and result.outcomes[0].kind == "nan-inf"


@pytest.mark.parametrize("name, module", [("jax", "jax"), ("torch", "torch"), ("autograd", "advalidate_autograd")])
def test_the_libraries_there_are_not_blamed(name, module):
    pytest.importorskip(module)  # the autograd backend is a plug-in: unknown where it is not installed
    backends, errors = load_backends([name])
    if not backends:
        pytest.skip(f"{name}: {errors}")
    fn = parse_function(FN, [(1,)])
    result = _check(fn, X, V, backends)
    assert result.point == "overflow" and result.outcomes[0].status == "skipped"


def test_at_a_kink_too():
    """fmod(1, y) at the subnormal y = 8.289046e-317 is exactly 0 (fmod's jump: a kink), and its y-derivative
    -trunc(1/y) = -1.2e316 is past the range on either side: fmod(x, y) - fmod(x, y) has the VJP 0 from two such
    terms, inf - inf in every float reverse pass."""
    fn = parse_function("v0 = fmod(x0, x1); sub(v0, fmod(x0, x1))", [(), ()])
    xs = [np.array(1.0), np.array(8.289046e-317)]
    result = _check(fn, xs, [np.array(1.0)])
    assert result.point == "overflow", (result.point, [o.message for o in result.outcomes])
    assert "fmod" in result.outcomes[0].message
