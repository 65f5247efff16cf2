"""One-sided derivatives at the kinks of floor, round, fmod and remainder, whose kinks recur at a spacing that does
not grow with the operands: a step relative to the operands spans many pieces there, and the difference quotient is
the sawtooth's mean slope. Found by the issue-16 triage: fmod(x, y) at x = 1.5e154, y = -1.94 gave -2.4e134 for
∂/∂y (each piece's slope is -trunc(x/y) = 7.9e153: jax and torch were right), floor(v) at v ~ 1e154 gave v's own
slope (every such number is an integer at the working precision)."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.errors import DomainError
from advalidate.oracle import Oracle


def _sides(fn, xs, vs, ws):
    out = []
    for side in (-1, 1):
        try:
            d = Oracle().directional(fn, xs, vs, ws, side=side)
            out.append((float(d.value), float(d.error)))
        except DomainError:
            out.append(None)
    return out


@pytest.mark.parametrize("x", [1e154, 3.0e40, 2.0**60 + 2.0**8])
def test_floor_of_a_huge_value_has_slope_zero_on_its_pieces(x):
    b = Builder()
    v = b.input(1)
    fn = b.build(b.apply("floor", b.mul(v, v)))
    left, right = _sides(fn, [np.array([x])], [np.array([1.0])], [np.array([1.0])])
    assert right == (0.0, 0.0)  # v·v is an integer: the right piece is flat
    assert left is None or left[0] == 0.0 or left[1] == np.inf  # the left side steps off the jump itself


def test_fmod_divisor_slope_is_minus_the_quotient_on_its_piece():
    b = Builder()
    x, y = b.input(1), b.input(1)
    fn = b.build(b.apply("fmod", x, y))
    xs = [np.array([1.5340672328542357e+154]), np.array([-1.9421532756501483])]
    exact = -mpmath.floor(abs(mpmath.mpf(xs[0][0]) / mpmath.mpf(xs[1][0]))) * -1  # -trunc(x/y), x/y < 0
    for side in _sides(fn, xs, [np.array([1.0])], [np.zeros(1), np.array([1.0])]):
        assert side is not None
        value, error = side
        assert abs(value - float(exact)) <= 1e-12 * abs(float(exact)) and error <= 1e-12 * abs(float(exact))


def test_a_regular_floor_kink_keeps_its_first_step():
    """Where the pieces are wide (floor(x²) just past 2), the check costs no step: the stencil is one piece."""
    b = Builder()
    v = b.input(1)
    fn = b.build(b.apply("floor", b.mul(v, v)))
    d = Oracle().directional(fn, [np.array([2.0 ** 0.5])], [np.array([1.0])], [np.array([1.0])], side=1)
    assert d.value == 0 and d.step_bits == Oracle().step_bits + 1
