"""Scans and sorting along one axis: cumulative sums, products, maxima and log-sum-exps, sorted values, the k
largest values, the ``min`` reduction, and ``argmax_take`` (y's entries where x is largest).

Every rule here runs on float arrays and on object arrays of mpf, in O(n) work (a sequential recurrence
along the axis is a loop over its length, each step a vector operation over the other axes):

- ``cumprod``'s VJP and JVP do not divide by x (the textbook ``revcumsum(g·ans)/x`` is 0/0 at a zero): with
  ``L_i = x_0···x_{i-1}`` (an exclusive cumulative product) and ``S_i = g_i + x_{i+1}·S_{i+1}``, the cotangent of
  ``x_i`` is ``L_i·S_i``, exact at zeros (a zero is a special point, not a kink: the product is smooth there).
- ``logcumsumexp``: ``R_i = g_i + exp(ans_i - ans_{i+1})·R_{i+1}`` (every exponent <= 0, ans is non-decreasing)
  and the cotangent ``exp(x_i - ans_i)·R_i``.
- ``sort``, ``top_k``, ``cummax``, ``min`` and ``argmax_take`` move entries: their VJPs gather (or scatter-add,
  ``np.add.at``) the cotangent through the permutation or the selected index. Ties are kinks (the kink gap is
  the smallest distance between competing entries; ``Special(tie=True)``). The conventions at a tie treat the
  later of equal entries as the larger (a one-sided derivative: the side where later entries moved up), the
  same in every one of them, so that ties of several nodes at one point still give a one-sided derivative:
  ``sort`` and ``top_k`` keep equal entries in their original order (a stable ascending sort), ``cummax`` gives
  each output's cotangent to the last entry that reached the running maximum, ``min`` to the first minimal
  entry (``np.argmin``). ``argmax_take`` cannot: its value at a tie is y at the first maximal entry of x
  (``argmax`` in NumPy, jax and torch alike), and its cotangent goes there.

Unit costs (every counter): a scan costs the elements it reads, times the weight of its combining operation
(``logaddexp`` weighs 4, as in :data:`advalidate.counting.COMPOSITES`); a sort, an argsort, a gather and a
scatter-add cost the elements they produce (sorting is charged as a move, as the jaxpr table always charged
``sort``: the n·log n comparisons are not counted, by every counter alike).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import expand, keep, unit_roundoff_of
from .operands import NZ, POS, SMALL, UNIT, shrinking
from .primitive import Draw, Primitive, ShapeError, Special
from .reductions import _max_kink, _pos_if_nonempty, reduction
from .registry import register
from .unary import mp_logaddexp


def _last(x, axis):
    return np.moveaxis(x, axis, -1)


def _back(x, axis):
    return np.moveaxis(x, -1, axis)


def _scan_example(shape):
    return [tuple(shape)], {"axis": len(shape) - 1}


def _scan(name, npf, mpf, *, simplicity, ties=False, logits=False, **facts):
    special = Special(tie=ties, logits=logits, shiftable=logits)
    return Primitive(name, 1, "scan", shapes.along_axis, npf, mpf, params={"axis": -1}, special=special,
                     draw=Draw(simplicity=simplicity, rule="scan", ranks=lambda max_dims: (1, max_dims),
                               nonempty=True, repeats_tie=ties),
                     example=_scan_example, **facts)


def _position(value, axis):
    """1, 2, ... n along ``axis``, broadcast against ``value``: how many terms each scan output combines."""
    value = np.asarray(value)
    n = value.shape[axis]
    shape = [1] * value.ndim
    shape[axis] = n
    return np.arange(1, n + 1, dtype=np.float64).reshape(shape)


# ---- cumsum


def _reverse_cumsum(g, axis):
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _scan_sum_rounding(value, args, params):
    return unit_roundoff_of(value) * np.cumsum(np.abs(np.asarray(args[0], np.float64)), axis=params["axis"])


# ---- cumprod


def _exclusive_cumprod(xl):
    left = np.ones_like(xl)
    if xl.shape[-1] > 1:
        left[..., 1:] = np.cumprod(xl[..., :-1], axis=-1)
    return left


def grad_cumprod(g, ans, x, axis=-1):
    """``L_i·S_i`` (module docstring): exact at zeros, O(n)."""
    xl, gl = _last(x, axis), _last(g, axis)
    n = xl.shape[-1]
    s = np.empty_like(gl) if gl.dtype == object else np.empty(gl.shape, np.result_type(gl, xl)).view(type(gl))
    s[..., n - 1] = gl[..., n - 1]
    for i in range(n - 2, -1, -1):
        s[..., i] = gl[..., i] + xl[..., i + 1] * s[..., i + 1]
    return _back(_exclusive_cumprod(xl) * s, axis)


def _jvp_cumprod(ts, ans, x, axis=-1):
    """``D_j = D_{j-1}·x_j + ans_{j-1}·t_j`` (the product rule, step by step: exact at zeros)."""
    xl, tl, al = _last(x, axis), _last(ts[0], axis), _last(ans, axis)
    d = np.empty_like(tl) if tl.dtype == object else np.empty(tl.shape, np.result_type(tl, xl)).view(type(tl))
    d[..., 0] = tl[..., 0]
    for j in range(1, xl.shape[-1]):
        d[..., j] = d[..., j - 1] * xl[..., j] + al[..., j - 1] * tl[..., j]
    return _back(d, axis)


def _cumprod_magnitude(g, ans, x, axis=-1):
    return grad_cumprod(np.abs(g), np.abs(ans), np.abs(x), axis)


def _cumprod_rounding(value, args, params):
    # the j-th output is a product of j + 1 factors: j roundings, relative
    v = np.abs(np.asarray(value, np.float64))
    return unit_roundoff_of(value) * v * _position(v, params["axis"])


# ---- cummax


def _cummax_kink(x, axis=-1):
    """|x_i - max(x_0..x_{i-1})| for i >= 1: where a new entry competes with the running maximum."""
    xl = _last(x, axis)
    if xl.shape[-1] < 2:
        return np.array([np.inf])
    run = np.maximum.accumulate(xl, axis=-1)
    return np.abs(xl[..., 1:] - run[..., :-1])


def _cummax_index(x, ans, axis):
    """For each output, the index (along the last axis of the moved layout) of the entry holding the running
    maximum: the last one that reached it (of equal entries the later wins, as in a stable ascending sort)."""
    xl, al = _last(x, axis), _last(ans, axis)
    n = xl.shape[-1]
    record = np.ones(xl.shape, dtype=bool)
    if n > 1:
        record[..., 1:] = xl[..., 1:] >= al[..., :-1]
    return np.maximum.accumulate(np.where(record, np.arange(n), 0), axis=-1)


def _scatter_add_last(g, index, n):
    """``out[..., index[..., j]] += g[..., j]`` along the last axis into a new last axis of length ``n``."""
    g = np.asarray(g) if not isinstance(g, np.ndarray) else g
    lead = g.shape[:-1]
    rows = math.prod(lead)
    flat = (np.arange(rows).reshape(lead + (1,)) * n + index).reshape(-1)
    out = np.zeros(rows * n, dtype=g.dtype).view(type(g))
    if g.dtype == object:
        out[:] = mpmath.mpf(0)
    np.add.at(out, flat, g.reshape(-1))
    return out.reshape(lead + (n,))


def grad_cummax(g, ans, x, axis=-1):
    index = _cummax_index(x, ans, axis)
    return _back(_scatter_add_last(_last(g, axis), index, x.shape[axis]), axis)


def _jvp_cummax(ts, ans, x, axis=-1):
    index = _cummax_index(x, ans, axis)
    return _back(np.take_along_axis(_last(ts[0], axis), index, axis=-1), axis)


# ---- logcumsumexp


def np_logcumsumexp(x, axis=-1):
    return np.logaddexp.accumulate(x, axis=axis)


_mp_logaddexp = np.frompyfunc(mp_logaddexp, 2, 1)


def mp_logcumsumexp(x, axis=-1):
    xl = _last(x, axis)
    out = np.empty(xl.shape, dtype=object)
    out[..., 0] = xl[..., 0]
    for i in range(1, xl.shape[-1]):
        out[..., i] = _mp_logaddexp(out[..., i - 1], xl[..., i])
    return _back(out, axis)


def grad_logcumsumexp(g, ans, x, axis=-1):
    xl, gl, al = _last(x, axis), _last(g, axis), _last(ans, axis)
    n = xl.shape[-1]
    r = np.empty_like(gl) if gl.dtype == object else np.empty(gl.shape, np.result_type(gl, xl)).view(type(gl))
    r[..., n - 1] = gl[..., n - 1]
    if n > 1:
        decay = xp.exp(al[..., :-1] - al[..., 1:])
        for i in range(n - 2, -1, -1):
            r[..., i] = gl[..., i] + decay[..., i] * r[..., i + 1]
    return _back(xp.exp(xl - al) * r, axis)


def _jvp_logcumsumexp(ts, ans, x, axis=-1):
    xl, tl, al = _last(x, axis), _last(ts[0], axis), _last(ans, axis)
    w = xp.exp(xl - al) * tl
    d = np.empty_like(w) if w.dtype == object else np.empty(w.shape, w.dtype).view(type(w))
    d[..., 0] = w[..., 0]
    if xl.shape[-1] > 1:
        decay = xp.exp(al[..., :-1] - al[..., 1:])
        for j in range(1, xl.shape[-1]):
            d[..., j] = decay[..., j - 1] * d[..., j - 1] + w[..., j]
    return _back(d, axis)


def _logcumsumexp_rounding(value, args, params):
    # each of the j steps, logaddexp(a, b) = max + log1p(exp(-|a - b|)), rounds by u relative to its result
    # and u absolute in the log1p term; errors carry forward with weight <= 1
    v = np.abs(np.asarray(value, np.float64))
    return unit_roundoff_of(value) * (v + 1) * _position(v, params["axis"])


# ---- sort and top_k


def _sorted_kink(ordered, k=None):
    """Smallest distance between neighbours of sorted slices (the first ``k + 1`` of them for top_k)."""
    if k is not None:
        ordered = ordered[..., : k + 1]
    if ordered.shape[-1] < 2:
        return np.array([np.inf])
    return np.abs(ordered[..., 1:] - ordered[..., :-1])


def _sort_kink(x, axis=-1):
    return _sorted_kink(np.sort(_last(x, axis), axis=-1))


def _inverse(perm):
    return np.argsort(perm, axis=-1, kind="stable")


def grad_sort(g, ans, x, axis=-1):
    # ans = x[perm]: the cotangent of x is g at the inverse permutation (a gather)
    perm = np.argsort(_last(x, axis), axis=-1, kind="stable")
    return _back(np.take_along_axis(_last(g, axis), _inverse(perm), axis=-1), axis)


def _jvp_sort(ts, ans, x, axis=-1):
    perm = np.argsort(_last(x, axis), axis=-1, kind="stable")
    return _back(np.take_along_axis(_last(ts[0], axis), perm, axis=-1), axis)


def np_top_k(x, k):
    return np.flip(np.sort(x, axis=-1), axis=-1)[..., :k]


def _top_k_index(x, k):
    """Where the k largest entries of the last axis are, largest first: the forward's order
    (``flip(sort(x))``, so that of equal entries the later one comes first)."""
    return np.flip(np.argsort(x, axis=-1, kind="stable"), axis=-1)[..., :k]


def grad_top_k(g, ans, x, k):
    return _scatter_add_last(g, _top_k_index(x, k), x.shape[-1])


def _jvp_top_k(ts, ans, x, k):
    return np.take_along_axis(ts[0], _top_k_index(x, k), axis=-1)


def _top_k_kink(x, k):
    return _sorted_kink(np.flip(np.sort(x, axis=-1), axis=-1), k)


def _top_k_shape(in_shapes, k):
    (shape,) = in_shapes
    if len(shape) < 1:
        raise ShapeError("top_k takes an operand of rank >= 1 (it selects along the last axis)")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= shape[-1]:
        raise ShapeError(f"k must be an integer in [1, {shape[-1]}] for shape {tuple(shape)}, got {k!r}")
    return tuple(shape[:-1]) + (k,)


# ---- min


def _min_kink(x, axis=None):
    """Gap between the smallest and second smallest entries of each reduced slice (0 on a tie)."""
    x = np.asarray(x)
    flat = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
    if flat.shape[-1] < 2:
        return np.array([np.inf])
    ordered = np.sort(flat, axis=-1)
    return ordered[..., 1] - ordered[..., 0]


def _first_minimal(x, axis):
    """A mask of the first minimal entry of each reduced slice (``np.argmin``)."""
    if axis is None:
        return (np.arange(x.size) == np.argmin(x)).reshape(x.shape)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return np.arange(x.shape[axis]).reshape(shape) == np.expand_dims(np.argmin(x, axis=axis), axis)


def grad_min(g, ans, x, axis=None):
    return np.where(_first_minimal(x, axis), expand(keep(g, axis), x.shape, None), 0)


def _jvp_min(ts, ans, x, axis=None):
    return np.sum(np.where(_first_minimal(x, axis), ts[0], 0), axis=axis)


# ---- argmax_take: y's entries where x is largest along an axis


def _argmax_take_shape(in_shapes, axis):
    a, b = in_shapes
    if tuple(a) != tuple(b):
        raise ShapeError(f"argmax_take needs operands of the same shape, got {tuple(a)} and {tuple(b)}")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeError(f"axis must be an integer, got {axis!r}")
    return shapes.reduce_nonempty([a], axis=axis)


def _argmax_index(x, axis):
    return np.expand_dims(np.argmax(x, axis=axis), axis)


def argmax_take(x, y, axis):
    return np.squeeze(np.take_along_axis(y, _argmax_index(x, axis), axis=axis), axis)


def grad_argmax_take_y(g, ans, x, y, axis):
    n = x.shape[axis]
    shape = [1] * x.ndim
    shape[axis] = n
    hit = np.arange(n).reshape(shape) == _argmax_index(x, axis)
    return np.where(hit, np.expand_dims(g, axis), 0)


def _argmax_take_kink(x, y, axis):
    return _max_kink(x, axis)


def _argmax_take_example(shape):
    return [tuple(shape), tuple(shape)], {"axis": 0}


# ---- registrations

register(_scan("cumsum", lambda x, axis=-1: np.cumsum(x, axis=axis),
               lambda x, axis=-1: np.cumsum(x, axis=axis) + mpmath.mpf(0), simplicity=46,
               doc="cumulative sum along an axis",
               vjp=(lambda g, ans, x, axis=-1: _reverse_cumsum(g, axis),),
               jvp=lambda ts, ans, x, axis=-1: np.cumsum(ts[0], axis=axis),
               props=lambda a, params, shapes: {POS, NZ} if POS in a[0] else set(),
               rounding=_scan_sum_rounding))
register(_scan("cumprod", lambda x, axis=-1: np.cumprod(x, axis=axis),
               lambda x, axis=-1: np.cumprod(x, axis=axis) * mpmath.mpf(1), simplicity=47,
               doc="cumulative product along an axis; smooth at zeros (the textbook VJP divides by x)",
               vjp=(grad_cumprod,), jvp=_jvp_cumprod, magnitude=(_cumprod_magnitude,),
               props=lambda a, params, shapes: {p for p in (POS, NZ, UNIT) if p in a[0]}
               | ({SMALL} if UNIT in a[0] else set()),
               rounding=_cumprod_rounding))
register(_scan("cummax", lambda x, axis=-1: np.maximum.accumulate(x, axis=axis),
               lambda x, axis=-1: np.maximum.accumulate(x, axis=axis), simplicity=48, ties=True,
               kink=_cummax_kink,
               doc="running maximum; a new entry equal to the running maximum is a kink (a tie); the cotangent "
                   "goes to the first entry that reached the maximum",
               vjp=(grad_cummax,), jvp=_jvp_cummax,
               props=lambda a, params, shapes: {p for p in (POS, NZ) if POS in a[0]} | shrinking(a[0])))
register(_scan("logcumsumexp", np_logcumsumexp, mp_logcumsumexp, simplicity=49, logits=True,
               doc="log of the cumulative sum of exp along an axis",
               vjp=(grad_logcumsumexp,), jvp=_jvp_logcumsumexp, rounding=_logcumsumexp_rounding))
register(_scan("sort", lambda x, axis=-1: np.sort(x, axis=axis), lambda x, axis=-1: np.sort(x, axis=axis),
               simplicity=50, ties=True, kink=_sort_kink,
               doc="sorted values along an axis (ascending); equal entries are a kink (a tie)",
               vjp=(grad_sort,), jvp=_jvp_sort,
               props=lambda a, params, shapes: set(a[0])))
register(Primitive("top_k", 1, "scan", _top_k_shape, np_top_k, np_top_k, params={"k": 1}, kink=_top_k_kink,
                   doc="the k largest values along the last axis, largest first; equal entries among the k + 1 "
                       "largest are a kink (a tie)",
                   vjp=(grad_top_k,), jvp=_jvp_top_k, props=lambda a, params, shapes: set(a[0]),
                   special=Special(tie=True),
                   draw=Draw(simplicity=51, rule="top_k", ranks=lambda max_dims: (1, max_dims), nonempty=True,
                             repeats_tie=True),
                   example=lambda shape: ([tuple(shape)], {"k": max(1, shape[-1] // 2)})))
register(reduction("min", shapes.reduce_nonempty, np.min, np.min, simplicity=52, nonempty=True, repeats_tie=True,
                   kink=_min_kink,
                   doc="tie between the two smallest entries; the first minimal entry gets the cotangent",
                   vjp=(grad_min,),
                   jvp=_jvp_min, props=_pos_if_nonempty(POS, small=True), special=Special(tie=True)))
register(Primitive("argmax_take", 2, "indexing", _argmax_take_shape, argmax_take, argmax_take, params={"axis": -1},
                   kink=_argmax_take_kink,
                   doc="y's entries where x is largest along an axis (take_along_axis(y, argmax(x))); no "
                       "derivative in x; a tie of x's two largest entries is a kink",
                   vjp=(None, grad_argmax_take_y),
                   jvp=lambda ts, ans, x, y, axis: argmax_take(x, ts[1], axis),
                   props=lambda a, params, shapes: set(a[1]), special=Special(tie=True),
                   draw=Draw(simplicity=53, rule="argmax_take", ranks=lambda max_dims: (1, max_dims),
                             nonempty=True, repeats_tie=True),
                   example=_argmax_take_example))
