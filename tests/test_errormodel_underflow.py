"""The error model's absolute floor holds for every intermediate cotangent, not only at the end.

Found by the special-points campaign over issue 16's primitives (seed 41, F056-F059): ``-log_softmax(log2(x))[0]``
at x = [0.25, 0.25, 2.2250738585072014e-308, 0.25] with cotangent 0.125. log2 of the smallest normal number is -1022,
so the log_softmax cotangent of that entry is 0.125·softmax = 1e-443, below float64's range (0 in every float, with
or without gradual underflow), and log2's 1/(x·ln 2) = 6.5e307 makes the exact VJP 2.8e-137. jax, jax-jit, torch,
autograd and the reference tape all return 0: no float64 reverse pass can hold that cotangent, so the tolerance
must carry the floor ``tiny`` of each intermediate cotangent to the inputs (errormodel.underflow_floor).
"""

import numpy as np

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full, underflow_floor, _float_values
from advalidate.evaluate import to_mp, trace
from advalidate.oracle import Oracle

X = np.array([0.25, 0.25, 2.2250738585072014e-308, 0.25])
V = [np.array(0.125)]


def _program():
    b = Builder()
    x = b.input(4)
    return b.build(b.neg(b.index(b.log_softmax(b.log2(x), axis=-1), key=(0,))))


def test_an_underflowed_intermediate_cotangent_is_not_a_finding():
    fn = _program()
    oracle = Oracle().vjp(fn, [X], V)
    assert 1e-138 < oracle.grads[0][2] < 1e-136  # the exact VJP: 2.8e-137
    grads = NumpyReference().vjp(fn, [X], V).grads
    assert grads[0][2] == 0.0  # the tape's cotangent of log2's output underflowed, as every library's does
    verdict = compare_full(fn, [X], V, oracle, grads)
    assert verdict.ok, (verdict.ratio, verdict.worst)


def test_the_floor_is_tiny_times_the_amplification_and_nothing_elsewhere():
    fn = _program()
    values = _float_values(trace(fn, [to_mp(X)], "mp"))
    floor = underflow_floor(fn, values, V)[0]
    tiny = np.finfo(np.float64).tiny
    amplification = 1 / (X[2] * np.log(2))  # log2' at the smallest normal number: 6.5e307
    assert tiny * amplification <= floor[2] <= 4 * tiny * amplification
    assert np.all(floor[[0, 1, 3]] < 1e-300)  # where nothing amplifies, the floor stays at tiny's order


def test_a_wrong_vjp_there_is_still_caught():
    fn = _program()
    oracle = Oracle().vjp(fn, [X], V)
    grads = NumpyReference().vjp(fn, [X], V).grads
    off = [g * (1 + 1e-9) for g in grads]
    assert not compare_full(fn, [X], V, oracle, off).ok


def test_an_underflow_inside_one_rule_is_still_a_finding():
    """arctan(norm(x)) at |x| = 1.94e153: norm's cotangent g = 0.125/(1 + |x|²) = 3.3e-309·… is of normal size
    (nothing underflows between the rules), so the exact [1.44e-308, 3.0e-308] returned as [0, 0] (jax's and
    autograd's g/|x| = 1.7e-461 before x) stays a finding: the floor is tiny there, not 2·tiny."""
    b = Builder()
    x = b.input(2)
    fn = b.build(b.arctan(b.norm(x)))
    xs, vs = [np.array([8.379879956214123e152, 1.7446466336365e153])], [np.array(0.125)]
    oracle = Oracle().vjp(fn, xs, vs)
    assert not compare_full(fn, xs, vs, oracle, [np.zeros(2)]).ok
