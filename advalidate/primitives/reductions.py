"""Reductions over one axis or all entries (``axis=None``).

Conventions at ties: ``max`` gives the cotangent to every maximal entry (and its JVP sums their tangents).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import (exp_shift_magnitude, expand, keep, mp_exp, mp_log, mp_sqrt, shift, sum_of_terms,
                     unit_roundoff_of)
from .operands import NZ, POS, SMALL, UNIT, shrinking
from .primitive import Draw, Primitive, Special
from .registry import register


def _last_axis(shape):
    return [tuple(shape)], {"axis": len(shape) - 1}


def reduction(name, shape_rule, npf, mpf, *, simplicity=float("inf"), nonempty=False, repeats_tie=False, **facts):
    return Primitive(name, 1, "reduction", shape_rule, npf, mpf, params={"axis": None},
                     draw=Draw(simplicity=simplicity, nonempty=nonempty, repeats_tie=repeats_tie),
                     example=_last_axis, **facts)


def _count(params, shapes):
    shape, axis = shapes[0], params.get("axis")
    return math.prod(shape) if axis is None else shape[axis]


def _pos_if_nonempty(flag, small=False):
    def props(a, params, shapes):
        if _count(params, shapes) == 0:
            return set()
        return ({POS, NZ} if flag in a[0] else set()) | (shrinking(a[0]) if small else set())
    return props


# ---- mpmath forms


def mp_sum(x, axis=None):
    return np.sum(x, axis=axis) + mpmath.mpf(0)  # np.sum of an empty object array is the int 0


def mp_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.asarray(m + mp_log(np.sum(mp_exp(x - m), axis=axis, keepdims=True)), dtype=object)  # 0-d: an mpf
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))


def mp_norm(x, axis=None):
    return mp_sqrt(np.sum(x * x, axis=axis) + mpmath.mpf(0))


# ---- float forms


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))


def np_norm(x, axis=None):
    return np.sqrt(np.sum(x * x, axis=axis))


# ---- gaps and rules


def _max_kink(x, axis=None):
    """Gap between the largest and second largest entries of each reduced slice (0 on a tie)."""
    flat = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
    if flat.shape[-1] < 2:
        return np.array([np.inf])
    ordered = np.sort(flat, axis=-1)
    return ordered[..., -1] - ordered[..., -2]


def _norm_kink(x, axis=None):
    return np.sqrt(np.sum(x * x, axis=axis)) if not xp.is_mp(x) else mp_norm(x, axis)


def grad_max(g, ans, x, axis=None):
    return np.where(x == keep(ans, axis), expand(keep(g, axis), x.shape, None), 0)


def _others(x, axis):
    """The product of the other entries of each reduced slice, from exclusive cumulative products (exact at 0)."""
    flat = x.reshape(-1) if axis is None else np.moveaxis(x, axis, -1)
    left = np.ones_like(flat)
    right = np.ones_like(flat)
    left[..., 1:] = np.cumprod(flat[..., :-1], axis=-1)
    right[..., :-1] = np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1]
    return left * right


def grad_prod(g, ans, x, axis=None):
    """Product of the other entries, from exclusive cumulative products (exact at zeros)."""
    gg = g.reshape(1) if axis is None else np.expand_dims(g, -1)
    others = _others(x, axis) * gg
    return others.reshape(x.shape) if axis is None else np.moveaxis(others, -1, axis)


def _jvp_prod(ts, ans, x, axis=None):
    others = _others(x, axis)
    t = ts[0].reshape(-1) if axis is None else np.moveaxis(ts[0], axis, -1)
    return np.sum(others * t, axis=-1)


def _mean_count(x, axis):
    return x.size if axis is None else x.shape[axis]


def _logsumexp_rounding(value, args, params):
    # the shifts' rounding errors u·|x - max|, weighted by each term's share of the sum
    axis, u = params["axis"], unit_roundoff_of(value)
    with np.errstate(all="ignore"):
        s = shift(args[0], axis)
        weights = np.exp(-s)
        share = np.sum(weights * s, axis=axis) / np.sum(weights, axis=axis)
        return u * np.broadcast_to(share, np.shape(value))


register(reduction("sum", shapes.reduce, np.sum, mp_sum, simplicity=12,
                   vjp=(lambda g, ans, x, axis=None: expand(g, x.shape, axis),),
                   jvp=lambda ts, ans, x, axis=None: np.sum(ts[0], axis=axis),
                   props=_pos_if_nonempty(POS),
                   rounding=lambda value, args, params: sum_of_terms(value, args, params, np.sum)))
register(reduction("mean", shapes.reduce_nonempty, np.mean,
                   lambda x, axis=None: mp_sum(x, axis) / _mean_count(x, axis), simplicity=13, nonempty=True,
                   vjp=(lambda g, ans, x, axis=None: expand(g / _mean_count(x, axis), x.shape, axis),),
                   jvp=lambda ts, ans, x, axis=None: np.sum(ts[0], axis=axis) / _mean_count(x, axis),
                   props=_pos_if_nonempty(POS, small=True),
                   rounding=lambda value, args, params: sum_of_terms(value, args, params, np.mean)))
register(reduction("max", shapes.reduce_nonempty, np.max, np.max, simplicity=14, nonempty=True, repeats_tie=True,
                   kink=_max_kink, doc="tie between the two largest entries; every maximal entry gets the cotangent",
                   vjp=(grad_max,),
                   jvp=lambda ts, ans, x, axis=None: np.sum(np.where(x == keep(ans, axis), ts[0], 0), axis=axis),
                   props=_pos_if_nonempty(POS, small=True), special=Special(tie=True)))
def _logsumexp_magnitude(g, ans, x, axis=None):
    return exp_shift_magnitude(keep(g, axis), x - keep(ans, axis))


register(reduction("logsumexp", shapes.reduce_nonempty, np_logsumexp, mp_logsumexp, simplicity=29, nonempty=True,
                   vjp=(lambda g, ans, x, axis=None: keep(g, axis) * xp.exp(x - keep(ans, axis)),),
                   jvp=lambda ts, ans, x, axis=None: np.sum(ts[0] * xp.exp(x - keep(ans, axis)), axis=axis),
                   special=Special(logits=True, shiftable=True), rounding=_logsumexp_rounding,
                   magnitude=(_logsumexp_magnitude,)))
register(reduction("prod", shapes.reduce, np.prod, lambda x, axis=None: np.prod(x, axis=axis) * mpmath.mpf(1),
                   simplicity=30, vjp=(grad_prod,), jvp=_jvp_prod,
                   props=lambda a, params, shapes: {p for p in (POS, NZ, UNIT) if p in a[0]}
                   | ({SMALL} if UNIT in a[0] else set())))
register(reduction("norm", shapes.reduce, np_norm, mp_norm, simplicity=31, kink=_norm_kink,
                   doc="L2 norm; kink at the zero vector",
                   vjp=(lambda g, ans, x, axis=None: x / keep(ans, axis) * keep(g, axis),),
                   jvp=lambda ts, ans, x, axis=None: np.sum(x * ts[0], axis=axis) / ans,
                   props=_pos_if_nonempty(NZ)))
