"""`precision-loss` means right formulas, lost digits.

A miss used to be `precision-loss` whenever NumPy-ref's float tape also missed the oracle on the same
components, so a wrong rule shared by the backend and the tape (tried: numpy-ref's own `sin` rule 50% off)
came back as `precision-loss` at 7e13 times the tolerance. Now the same reference formulas are also run at
high precision (mpmath object arrays) and must agree with the oracle for the miss to be `precision-loss`.
"""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.backends import numpy_ref
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full, compare_projected
from advalidate.oracle import Oracle, OracleVJP

REF = NumpyReference()


def _sin_exp():
    b = Builder()
    x = b.input(4)
    return b.build(b.mul(b.sin(x), b.exp(b.input(4))))


@pytest.fixture
def sin_half_off(monkeypatch):
    """numpy-ref's `sin` rule 50% off, in the backend and in the reference tape alike."""
    (right,) = numpy_ref.VJPS["sin"]
    monkeypatch.setitem(numpy_ref.VJPS, "sin", (lambda g, ans, x: right(g, ans, x) * 1.5,))


@pytest.mark.parametrize("mode", ["full", "projected"])
def test_a_wrong_rule_shared_with_the_reference_tape_is_wrong_value(sin_half_off, mode):
    fn = _sin_exp()
    xs, vs = [np.array([0.3, -1.1, 2.2, 0.7]), np.array([0.1, 0.5, -0.4, 0.9])], [np.array([1.0, -2.0, 0.5, 3.0])]
    oracle = Oracle().vjp(fn, xs, vs, mode=mode)
    grads = REF.vjp(fn, xs, vs).grads  # the wrong rule, in the backend under test...
    verdict = (compare_full if mode == "full" else compare_projected)(fn, xs, vs, oracle, grads)
    # ...and in the float reference tape, which therefore misses the oracle on the same components
    assert not verdict.ok and verdict.ratio > 1e10
    assert verdict.kind == "wrong-value", verdict.kind


def _exact_sigmoid_oracle(xs, vs, prec=2400):
    """An exact full-mode oracle for sigmoid: v·e^-x/(1 + e^-x)^2, computed by hand at high precision."""
    with mpmath.workprec(prec):
        exact = np.array([mpmath.mpf(float(v)) * mpmath.exp(-mpmath.mpf(float(x))) / (1 + mpmath.exp(-mpmath.mpf(float(x)))) ** 2
                          for x, v in zip(xs[0], vs[0])], dtype=object)
    with mpmath.workprec(128):
        exact = np.array([+e for e in exact], dtype=object)
    grads = np.array([float(e) for e in exact])
    return OracleVJP("full", [], grads=[grads], grads_mp=[exact], errors=[np.abs(grads) * 2.0 ** -120])


def test_saturation_far_into_the_tail_is_still_precision_loss():
    """sigmoid at 700: y rounds to 1 at any precision below ~1010 bits, so the high-precision run must resolve
    the float64 range, not a fixed 256 bits (where `y (1 - y)` is 0 too and would read as a wrong formula)."""
    b = Builder()
    fn = b.build(b.sigmoid(b.input(2)))
    xs, vs = [np.array([700.0, 1.0])], [np.ones(2)]
    oracle = _exact_sigmoid_oracle(xs, vs)
    assert oracle.grads[0][0] > 1e-305  # a normal float64 number: the truth is representable
    verdict = compare_full(fn, xs, vs, oracle, REF.vjp(fn, xs, vs).grads)
    assert not verdict.ok and verdict.kind == "precision-loss" and verdict.worst == (0, (0,))
