"""Statistics over one axis or all entries (``axis=None``): the variance and the standard deviation, with
``ddof`` 0 (population) or 1 (sample: divided by n - 1).

``var`` is smooth everywhere (d var / dx_i = 2·(x_i - mean)/(n - ddof); the mean's own term cancels, the
deviations sum to zero). ``std = sqrt(var)`` has a kink where every entry of a slice is equal (sqrt at 0): its
kink gap is the std itself (0 on a constant slice: ``Special(tie=True)``, the special points' ties reach it);
the one-sided derivatives there are finite (±sqrt((1 - 1/n)/(n - ddof)) along a coordinate) and the reference
rule gives 0, a subgradient between them (the textbook (x - mean)/((n - ddof)·std) is 0/0).

Unit cost: as NumPy computes them (mean, deviations, squares, sum, divide): the elements read, several times.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import expand, keep, mp_sqrt, unit_roundoff_of
from .operands import NONNEG
from .primitive import Draw, Primitive, ShapeError, Special
from .registry import register


def _count(shape, axis):
    return math.prod(shape) if axis is None else shape[axis]


def _moment_shape(in_shapes, axis=None, ddof=0):
    (shape,) = in_shapes
    out = shapes.reduce(in_shapes, axis=axis)
    if ddof not in (0, 1) or isinstance(ddof, bool):
        raise ShapeError(f"ddof must be 0 or 1, got {ddof!r}")
    n = _count(shape, shapes._axis(shape, axis))
    if n - ddof < 1:
        raise ShapeError(f"{n} entries with ddof={ddof}: n - ddof must be at least 1")
    return out


def _n(x, axis):
    return _count(np.shape(x), None if axis is None else axis % max(np.ndim(x), 1))


def _mean(x, axis):
    return np.sum(x, axis=axis, keepdims=True) / _n(x, axis) if axis is not None else np.sum(x) / _n(x, axis)


def _deviations(x, axis):
    return x - _mean(x, axis)


def mp_var(x, axis=None, ddof=0):
    d = _deviations(x, axis)
    return np.sum(d * d, axis=axis) / (_n(x, axis) - ddof) + mpmath.mpf(0)


def np_var(x, axis=None, ddof=0):
    return np.var(x, axis=axis, ddof=ddof)


def np_std(x, axis=None, ddof=0):
    return np.std(x, axis=axis, ddof=ddof)


def mp_std(x, axis=None, ddof=0):
    v = mp_var(x, axis, ddof)
    return mp_sqrt(v) if isinstance(v, np.ndarray) else mpmath.sqrt(v)


def grad_var(g, ans, x, axis=None, ddof=0):
    return expand(keep(g, axis), x.shape, None) * (2 * _deviations(x, axis) / (_n(x, axis) - ddof))


def _jvp_var(ts, ans, x, axis=None, ddof=0):
    return np.sum(_deviations(x, axis) * ts[0], axis=axis) * 2 / (_n(x, axis) - ddof)


def _safe(ans):
    """(ans > 0, ans with its zeros replaced by 1): the std's divisor without a 0/0 at a constant slice."""
    pos = np.asarray(ans > 0)
    return pos, np.where(pos, ans, 1)


def grad_std(g, ans, x, axis=None, ddof=0):
    pos, den = _safe(ans)
    scale = np.where(pos, g / ((_n(x, axis) - ddof) * den), 0)
    return expand(keep(scale, axis), x.shape, None) * _deviations(x, axis)


def _jvp_std(ts, ans, x, axis=None, ddof=0):
    pos, den = _safe(ans)
    return np.where(pos, np.sum(_deviations(x, axis) * ts[0], axis=axis) / ((_n(x, axis) - ddof) * den), 0)


def _spread(x, axis):
    """|x_i| + mean |x|: the terms of a deviation x_i - mean in absolute value (the mean's own rounding included)."""
    a = np.abs(x)
    return a + (np.sum(a, axis=axis, keepdims=True) if axis is not None else np.sum(a)) / _n(x, axis)


# |J|^T |g| as the sums of terms inside the rules: the deviation x_i - mean cancels (a value near the mean loses
# digits in every implementation), so its magnitude is |x_i| + mean |x|, not |x_i - mean|
def _var_magnitude(g, ans, x, axis=None, ddof=0):
    return expand(keep(np.abs(g), axis), x.shape, None) * (2 * _spread(x, axis) / (_n(x, axis) - ddof))


def _std_magnitude(g, ans, x, axis=None, ddof=0):
    pos, den = _safe(ans)
    scale = np.where(pos, np.abs(g) / ((_n(x, axis) - ddof) * np.abs(den)), 0)
    return expand(keep(scale, axis), x.shape, None) * _spread(x, axis)


def _var_rounding(value, args, params):
    # each deviation d_i = x_i - mean rounds by u·(|x_i| + |mean|) (the mean's own error cancels to first order:
    # the deviations sum to zero); squared, 2·|d_i| times that; the sum of squares rounds by u·sum d_i²
    axis, ddof = params["axis"], params["ddof"]
    x = np.asarray(args[0], np.float64)
    m = np.mean(x, axis=axis, keepdims=axis is not None)
    d = np.abs(x - m)
    terms = 2 * d * (np.abs(x) + np.abs(m)) + 2 * d * d
    out = unit_roundoff_of(value) * np.sum(terms, axis=axis) / (_n(x, axis) - ddof)
    return np.broadcast_to(out, np.shape(value))


def _std_rounding(value, args, params):
    # |sqrt(v + e) - sqrt(v)| <= min(|e| / sqrt(v), sqrt(|e|))
    e = _var_rounding(value, args, params)
    s = np.abs(np.asarray(value, np.float64))
    with np.errstate(all="ignore"):
        return np.minimum(np.where(s > 0, e / s, np.inf), np.sqrt(e))


def _std_kink(x, axis=None, ddof=0):
    v = mp_std(x, axis, ddof) if xp.is_mp(x) else np_std(x, axis, ddof)
    return np.asarray(v).reshape(-1) if np.ndim(v) == 0 else v


def _constant(same, args, in_shapes, params):
    """One entry per slice: var and std are 0 whatever the input."""
    axis = params["axis"]
    return _count(in_shapes[0], None if axis is None else axis % len(in_shapes[0])) == 1


def _example(shape):
    return [tuple(shape)], {"axis": len(shape) - 1, "ddof": 1}


register(Primitive("var", 1, "statistics", _moment_shape, np_var, mp_var, params={"axis": None, "ddof": 0},
                   doc="variance: sum of squared deviations from the mean / (n - ddof)",
                   vjp=(grad_var,), jvp=_jvp_var, constant=_constant, rounding=_var_rounding,
                   props=lambda a, params, shapes: {NONNEG},
                   magnitude=(_var_magnitude,),
                   draw=Draw(simplicity=54, rule="moments", nonempty=True), example=_example))
register(Primitive("std", 1, "statistics", _moment_shape, np_std, mp_std, params={"axis": None, "ddof": 0},
                   kink=_std_kink,
                   doc="standard deviation sqrt(var); a kink where the slice is constant (sqrt at 0), derivative 0 "
                       "there",
                   vjp=(grad_std,), jvp=_jvp_std, constant=_constant, rounding=_std_rounding,
                   magnitude=(_std_magnitude,),
                   special=Special(tie=True),
                   draw=Draw(simplicity=55, rule="moments", nonempty=True, repeats_tie=True), example=_example))
