"""Helpers shared by the registrations: array forms from scalar mpmath functions, and broadcasting helpers."""

from __future__ import annotations

import mpmath
import numpy as np

from .. import xp

NAN = mpmath.mpf("nan")


def ew(fn, nin, domain=None):
    """An array-level mpmath form from a scalar one; NaN where the domain gap is not positive."""
    if domain is None:
        return np.frompyfunc(fn, nin, 1)
    guarded = np.frompyfunc(lambda ok, *a: fn(*a) if ok else NAN, nin + 1, 1)
    return lambda *args: guarded(domain(*args) > 0, *args)


mp_exp = np.frompyfunc(mpmath.exp, 1, 1)
mp_log = np.frompyfunc(mpmath.log, 1, 1)
mp_sqrt = np.frompyfunc(mpmath.sqrt, 1, 1)


def expand(g, shape, axis):
    """Broadcast a reduced cotangent back to the operand's shape (a view: free)."""
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def keep(ans, axis):
    """A reduced value with its reduced axis kept (length 1), to broadcast against the operand."""
    return ans if axis is None else np.expand_dims(ans, axis)


def unit_roundoff_of(value) -> float:
    return float(np.finfo(np.asarray(value).dtype).eps) / 2


def sum_of_terms(value, args, params, np_form):
    """Rounding of a sum of terms of either sign: u times the sum of their magnitudes (the float form applied to
    the operands' absolute values), which any summation order is entitled to."""
    magnitude = np.abs(np_form(*[np.abs(np.asarray(a, np.float64)) for a in args], **params))
    return unit_roundoff_of(value) * np.broadcast_to(magnitude, np.shape(value))


def exp_shift_magnitude(g, shifted):
    """The magnitude of a VJP term ``g·exp(shifted)`` whose shift is computed in the backward pass (logsumexp's
    x - lse, logaddexp's a - out): the subtraction rounds by u·|shifted| in any implementation, and exp turns that
    into a relative error of the same size (520 ulps of a softmax tail exp(-521): numpy-ref at seed 43, 2.8e-14
    relative), so the term's magnitude carries exp's condition number, 1 + |shifted|."""
    return g * xp.exp(shifted) * (1 + np.abs(shifted))


def shift(x, axis):
    """``|x - max(x)|`` along ``axis``: the shift softmax-like ops exponentiate (rounded by u times itself)."""
    x = np.asarray(x, np.float64)
    return np.abs(x - np.max(x, axis=axis, keepdims=True))

