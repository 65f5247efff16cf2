"""`precision-loss` means right formulas, lost digits; the smallest normal number floors the rounding error.

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
from advalidate.backends.contract import VJP
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full, compare_projected
from advalidate.oracle import Oracle, OracleVJP

REF = NumpyReference()


def _sin_exp(shape):
    b = Builder()
    x = b.input(*shape)
    return b.build(b.mul(b.sin(x), b.exp(b.input(*shape))))


@pytest.fixture
def sin_half_off(monkeypatch):
    """numpy-ref's `sin` rule 50% off, in the backend and in the reference tape alike."""
    (right,) = numpy_ref.VJPS["sin"]
    monkeypatch.setitem(numpy_ref.VJPS, "sin", (lambda g, ans, x: right(g, ans, x) * 1.5,))


@pytest.mark.parametrize("shape", [(4,), ()])
@pytest.mark.parametrize("mode", ["full", "projected"])
def test_a_wrong_rule_shared_with_the_reference_tape_is_wrong_value(sin_half_off, mode, shape):
    fn = _sin_exp(shape)
    xs = [np.array([0.3, -1.1, 2.2, 0.7]), np.array([0.1, 0.5, -0.4, 0.9])]
    vs = [np.array([1.0, -2.0, 0.5, 3.0])]
    if shape == ():
        xs, vs = [x[2].reshape(()) for x in xs], [vs[0][2].reshape(())]
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


# ---- float32: results below the smallest normal number carry no relative guarantee (flush-to-zero)

TINY32 = float(np.finfo(np.float32).tiny)  # 1.18e-38


class FlushToZero(NumpyReference):
    """numpy-ref, with every subnormal result flushed to zero (what XLA does on CPU)."""

    name = "ftz"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [np.where(np.abs(g) < np.finfo(g.dtype).tiny, np.zeros_like(g), g) for g in out.grads])


class DoubleSmall(NumpyReference):
    """numpy-ref, off by a factor 2 on every result below 1e-20."""

    name = "double-small"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [np.where(np.abs(g) < 1e-20, 2 * g, g) for g in out.grads])


def _f32(build, *shapes):
    b = Builder("float32")
    return b.build(build(b, *[b.input(*s) for s in shapes]))


# exact VJPs of about 3.1e-39: float32 subnormals
SUBNORMAL = {
    "square": (lambda b, x: b.square(x), [np.array([1e-20, 0.5], "float32")], [np.array([1.55e-19, 1.0], "float32")]),
    "mul": (lambda b, x, y: b.mul(x, y), [np.array([0.7, 2e-20], "float32"), np.array([4.4e-39, 1.5e-19], "float32")],
            [np.array([1.0, 1.0], "float32")]),
    "matmul": (lambda b, a, x: b.matmul(a, x), [np.array([[1e-20, 3.0], [0.5, -1.0]], "float32"),
                                               np.array([3.1e-20, 0.25], "float32")], [np.array([1e-19, 1.0], "float32")]),
}


@pytest.mark.parametrize("name", sorted(SUBNORMAL))
def test_flushing_a_subnormal_vjp_to_zero_is_not_a_finding(name):
    build, xs, vs = SUBNORMAL[name]
    fn = _f32(build, *[x.shape for x in xs])
    oracle = Oracle(dtype="float32").vjp(fn, xs, vs)
    exact = np.concatenate([g.reshape(-1) for g in oracle.grads])
    assert np.any((exact != 0) & (np.abs(exact) < TINY32))  # the point does reach a subnormal result
    flushed = FlushToZero().vjp(fn, xs, vs).grads
    assert not np.array_equal(np.concatenate([g.reshape(-1) for g in flushed]),
                              np.concatenate([g.reshape(-1) for g in REF.vjp(fn, xs, vs).grads]))
    verdict = compare_full(fn, xs, vs, oracle, flushed)
    assert verdict.ok, (verdict.kind, verdict.ratio)


def test_a_small_normal_float32_result_is_still_judged_relatively():
    """1.3e-28 is a normal float32 number: doubling it, or flushing it to zero, is a finding."""
    fn = _f32(lambda b, x: b.square(x), (2,))
    xs, vs = [np.array([1e-14, 0.5], "float32")], [np.array([6.5e-15, 1.0], "float32")]
    oracle = Oracle(dtype="float32").vjp(fn, xs, vs)
    assert 1e-28 < abs(oracle.grads[0][0]) < 2e-28
    assert compare_full(fn, xs, vs, oracle, REF.vjp(fn, xs, vs).grads).ok
    doubled = DoubleSmall().vjp(fn, xs, vs).grads
    assert doubled[0][0] == 2 * REF.vjp(fn, xs, vs).grads[0][0]
    verdict = compare_full(fn, xs, vs, oracle, doubled)
    assert not verdict.ok and verdict.kind == "wrong-value" and verdict.worst == (0, (0,))
    zeroed = [np.array([0.0, doubled[0][1]], "float32")]
    assert not compare_full(fn, xs, vs, oracle, zeroed).ok
