"""Neural-network compositions along one axis: softmax and log_softmax (the activations are in ``unary``)."""

from __future__ import annotations

import numpy as np

from .. import xp
from . import shapes
from ._forms import mp_exp, shift, unit_roundoff_of
from .operands import NZ, POS, SMALL, UNIT
from .primitive import Draw, Primitive, Special
from .reductions import mp_logsumexp
from .registry import register


def np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    # (x - m) - log(sum(exp(x - m))), as jax and torch compute it: x - logsumexp(x) would round the large
    # logsumexp first (an error of u·|x|, 1e-13 at logits of 1000) and cancel it against x
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _mp_softmax(x, axis=-1):
    e = mp_exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_bound(g, ans, x, axis=-1):
    # |J|^T g with J = diag(s) - s s^T: s_j (g_j |1 - 2 s_j| + sum_i g_i s_i) <= s_j (g_j + sum_i g_i s_i)
    return ans * (g + np.sum(g * ans, axis=axis, keepdims=True))


def _log_softmax_bound(g, ans, x, axis=-1):
    return g + xp.exp(ans) * np.sum(g, axis=axis, keepdims=True)


# exp of a shifted argument x - max(x): the subtraction rounds by u·|x - max|, and exp turns it into a relative
# error of the same size (softmax at logits 94 and 754: 7e-14 relative in every library)
def _softmax_rounding(value, args, params):
    with np.errstate(all="ignore"):
        return unit_roundoff_of(value) * np.abs(np.asarray(value, np.float64)) * shift(args[0], params["axis"])


def _log_softmax_rounding(value, args, params):
    with np.errstate(all="ignore"):
        return unit_roundoff_of(value) * (shift(args[0], params["axis"]) + np.abs(np.asarray(value, np.float64)))


def _length_one_axis(same, args, in_shapes, params):
    return in_shapes[0][params["axis"]] == 1


def _along(simplicity):
    return Draw(simplicity=simplicity, rule="along_axis", ranks=lambda max_dims: (1, max_dims), nonempty=True)


register(Primitive("softmax", 1, "nn", shapes.along_axis, np_softmax, _mp_softmax, params={"axis": -1},
                   vjp=(lambda g, ans, x, axis=-1: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),),
                   jvp=lambda ts, ans, x, axis=-1: ans * (ts[0] - np.sum(ts[0] * ans, axis=axis, keepdims=True)),
                   props=lambda a, params, shapes: {POS, NZ, UNIT, SMALL}, constant=_length_one_axis,
                   special=Special(logits=True, shiftable=True), magnitude=(_softmax_bound,),
                   rounding=_softmax_rounding, draw=_along(27)))
register(Primitive("log_softmax", 1, "nn", shapes.along_axis, np_log_softmax,
                   lambda x, axis=-1: x - mp_logsumexp(x, axis=axis, keepdims=True), params={"axis": -1},
                   vjp=(lambda g, ans, x, axis=-1: g - xp.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
                   jvp=lambda ts, ans, x, axis=-1: ts[0] - np.sum(xp.exp(ans) * ts[0], axis=axis, keepdims=True),
                   constant=_length_one_axis, special=Special(logits=True), magnitude=(_log_softmax_bound,),
                   rounding=_log_softmax_rounding, draw=_along(28)))
