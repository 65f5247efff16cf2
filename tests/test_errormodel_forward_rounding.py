"""The error model excuses a forward value's own rounding when it is a reduction that cancelled.

Found by the detection benchmark's false-alarm run (10,000 examples on the reference tape, seed 1, example 842):
in ``x3 @ (x2 @ x1)`` a row of ``x2 @ x1`` cancelled to 1.09e-3 from terms of size ~0.7, so its float64 value
is off by ~u·1.47 = 1.6e-16 absolute (3.4e-14 relative) in every implementation, and the VJP for ``x3``
(``v ⊗ (x2 @ x1)``) inherits it. Moving that value by one ulp of itself (2e-19) did not cover it: the
reference tape was flagged at 1.8× the tolerance.
"""

import numpy as np

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full, sensitivity
from advalidate.oracle import Oracle

X1 = np.array([-1.0222900364266698, -0.3867705926495699, -0.8805449323702739])
X2 = np.array([[-1.710244596764204, -0.72495946030562, -0.41222190624052485],
               [-0.38045107832619884, 1.8648663815284516, -0.7255812541478591],
               [-0.46644047705068803, 1.6610468347933647, 0.7561640285303037],
               [0.3774543398561924, 0.8994478039011795, -0.832052339914531]])
X3 = np.array([[0.632441369617709, -0.3190440051819356, -1.2106607600588974, 1.7718986332173583],
               [1.1040923873466004, 0.5817401243247486, -0.5689271960755575, -1.0146860660171746],
               [-0.6438580512172258, 1.6168917072630289, -1.451919621730463, 0.4810645248665089]])


def _chain():
    b = Builder()
    x1, x2, x3 = b.input(3), b.input(4, 3), b.input(3, 4)
    return b.build(b.matmul(x3, b.matmul(x2, x1)))


def test_reference_passes_where_a_dot_product_cancelled():
    fn, xs, vs = _chain(), [X1, X2, X3], [np.array([-1.0, -1.0, 1.0])]
    oracle = Oracle().vjp(fn, xs, vs)
    verdict = compare_full(fn, xs, vs, oracle, NumpyReference().vjp(fn, xs, vs).grads)
    assert verdict.ok, (verdict.ratio, verdict.worst)


def test_the_cancelled_row_moves_by_the_size_of_its_terms():
    fn, xs, vs = _chain(), [X1, X2, X3], [np.array([-1.0, -1.0, 1.0])]
    sens_x3 = sensitivity(fn, xs, vs)[2]
    u = np.finfo(np.float64).eps / 2
    terms = float(np.abs(X2[3]) @ np.abs(X1))  # 1.47, the row that cancelled to 1.09e-3
    assert sens_x3[0, 3] >= 0.5 * u * terms  # at least half its terms' rounding (the cotangent there is -1)


def test_a_relative_error_of_1e_11_is_still_caught_there():
    fn, xs, vs = _chain(), [X1, X2, X3], [np.array([-1.0, -1.0, 1.0])]
    oracle = Oracle().vjp(fn, xs, vs)
    off = [g * (1 + 1e-11) for g in NumpyReference().vjp(fn, xs, vs).grads]
    assert not compare_full(fn, xs, vs, oracle, off).ok
