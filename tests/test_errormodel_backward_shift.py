"""The error model allows for the shift a VJP rule exponentiates: logsumexp's g·exp(x - lse), logaddexp's g·exp(a - out).

Found by the special campaign of the reference tape over issue 16's families (seed 43, F002): logsumexp of the row
[-512.02, -294.01, 226.97] with cotangent 1 has the VJP softmax(x), whose middle entry exp(-294.01 - 226.97) =
5.4755215204598e-227. The subtraction -294.01 - 226.97 = -520.99 rounds by up to u·521 in the backward pass (the
forward's rounding does not cover it), and exp makes that a relative error of the same size: the reference tape,
jax and torch all return 5.475521520459667e-227, 2.8e-14 relative off, 2.67× the tolerance K·(n+1)·u before. The
magnitude of each rule is scaled by 1 + |shift| (its condition number).
"""

import numpy as np
import pytest

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full
from advalidate.oracle import Oracle

ROW = np.array([[-512.0222596053076, -294.0132092636539, 226.97331931994987]])
V = [np.array([1.0])]


def _lse():
    b = Builder()
    return b.build(b.logsumexp(b.input((1, 3)), axis=1))


def test_the_rounded_shift_of_a_deep_tail_is_not_a_finding():
    fn = _lse()
    oracle = Oracle().vjp(fn, [ROW], V)
    grads = NumpyReference().vjp(fn, [ROW], V).grads
    assert grads[0][0, 1] == 5.475521520459667e-227
    assert abs(grads[0][0, 1] / oracle.grads[0][0, 1] - 1) > 2e-14  # 250 ulps off, as every library
    assert compare_full(fn, [ROW], V, oracle, grads).ok


@pytest.mark.parametrize("relative", [1e-9, 1e-11])
def test_a_wrong_tail_is_still_caught(relative):
    """The allowance is |shift|·K·(n+1)·u ~ 6e-12 relative here: an error of 1e-11 of the tail is still caught."""
    fn = _lse()
    oracle = Oracle().vjp(fn, [ROW], V)
    grads = NumpyReference().vjp(fn, [ROW], V).grads
    off = [g.copy() for g in grads]
    off[0][0, 1] *= 1 + relative
    assert not compare_full(fn, [ROW], V, oracle, off).ok


def test_logaddexp_too():
    b = Builder()
    x, y = b.input(()), b.input(())
    fn = b.build(b.logaddexp(x, y))
    xs = [np.array(-294.0132092636539), np.array(226.97331931994987)]
    oracle = Oracle().vjp(fn, xs, [np.array(1.0)])
    grads = NumpyReference().vjp(fn, xs, [np.array(1.0)]).grads
    assert compare_full(fn, xs, [np.array(1.0)], oracle, grads).ok
    off = [grads[0] * (1 + 1e-9), grads[1]]
    assert not compare_full(fn, xs, [np.array(1.0)], oracle, off).ok
