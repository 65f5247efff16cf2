"""Activations beyond ``unary``'s sigmoid, softplus and relu (issue 16): gelu (exact, and its tanh
approximation), silu, mish, elu, selu, leaky_relu, softsign, and the clipping ones with kinks: relu6, hardtanh
and clip.

The float forms are written to be accurate (gelu through erfc, 1 + tanh(u) as 2·sigmoid(2u)), since they are the
reference tape's forward. Derivatives that cross zero (gelu, gelu_tanh, silu, mish dip below zero for negative
x) sum terms of opposite signs: their ``magnitude`` rules give the error model the sum of the terms' magnitudes.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import ew
from .operands import NZ, POS, SMALL, UNIT, shrinking
from .primitive import Draw, Primitive, Special
from .registry import register
from .unary import np_sigmoid, np_softplus

_SQRT1_2 = xp.Constant(math.sqrt(0.5), lambda: mpmath.sqrt(mpmath.mpf(0.5)))
_INV_SQRT_2PI = xp.Constant(1 / math.sqrt(2 * math.pi), lambda: 1 / mpmath.sqrt(2 * mpmath.pi))
_TANH_C = xp.Constant(math.sqrt(2 / math.pi), lambda: mpmath.sqrt(2 / mpmath.pi))
_TANH_K = 0.044715  # the tanh approximation's cubic coefficient (a decimal: its float value, as the libraries use)
# SELU's constants (Klambauer et al. 2017), as the libraries write them
_SELU_ALPHA = xp.Constant(1.6732632423543772848170429916717, lambda: mpmath.mpf("1.6732632423543772848170429916717"))
_SELU_SCALE = xp.Constant(1.0507009873554804934193349852946, lambda: mpmath.mpf("1.0507009873554804934193349852946"))


def _act(name, npf, mpf, *, simplicity, params=None, kink=None, draw_params=None, **facts):
    mp_form = ew(mpf, 1) if not params else (lambda x, **p: ew(lambda v: mpf(v, **p), 1)(x))
    return Primitive(name, 1, "nn", shapes.same, npf, mp_form, params=params or {}, kink=kink,
                     draw=Draw(simplicity=simplicity, params=draw_params), **facts)


def _sigmoid(x):
    """sigmoid on float or mpf arrays (accurate in both tails)."""
    if xp.is_mp(x):
        return 1 / (1 + xp.exp(-x))
    return np_sigmoid(x)


def _mpf(v):
    return mpmath.mpf(float(v))


# ---- gelu, exact: x·Phi(x), Phi(x) = erfc(-x/sqrt 2) / 2 (accurate in the negative tail)


def _phi_cdf(x):
    return xp.erfc(-x * _SQRT1_2.like(x)) / 2


def _phi_pdf(x):
    return xp.exp(-(x * x) / 2) * _INV_SQRT_2PI.like(x)


def np_gelu(x):
    return x * _phi_cdf(x)


register(_act("gelu", np_gelu, lambda x: x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2, simplicity=220,
              doc="x·Phi(x) with the normal CDF Phi (the exact form, through erf)",
              vjp=(lambda g, ans, x: g * (_phi_cdf(x) + x * _phi_pdf(x)),),
              jvp=lambda ts, ans, x: ts[0] * (_phi_cdf(x) + x * _phi_pdf(x)),
              magnitude=(lambda g, ans, x: np.abs(g) * (_phi_cdf(x) + np.abs(x) * _phi_pdf(x)),),
              special=Special(saturation=5.0)))


# ---- gelu, tanh approximation: x/2·(1 + tanh(u)) = x·sigmoid(2u), u = sqrt(2/pi)·(x + 0.044715 x^3)


def _gelu_tanh_u(x):
    return _TANH_C.like(x) * (x + _TANH_K * x * x * x)


def np_gelu_tanh(x):
    return x * np_sigmoid(2 * _gelu_tanh_u(x))


def _gelu_tanh_terms(x):
    u2 = 2 * _gelu_tanh_u(x)
    s = _sigmoid(u2)
    w = s * _sigmoid(-u2)  # s·(1 - s), without cancelling
    # where w underflows to 0 (|x| past 13), so does the second term; x·(1 + 3k·x²) may overflow there (|x| past
    # 1e102), and 0·inf would be NaN: take x = 0 in it
    x = np.where(w > 0, x, 0)
    return s, x * (2 * w) * _TANH_C.like(x) * (1 + 3 * (_TANH_K * x * x))


def _gelu_tanh_d(x):
    a, b = _gelu_tanh_terms(x)
    return a + b


def _gelu_tanh_mag(g, ans, x):
    a, b = _gelu_tanh_terms(x)
    return np.abs(g) * (np.abs(a) + np.abs(b))


def _mp_gelu_tanh(x):
    u = mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf(_TANH_K) * x ** 3)
    return x / (1 + mpmath.exp(-2 * u))


register(_act("gelu_tanh", np_gelu_tanh, _mp_gelu_tanh, simplicity=221,
              doc="x/2·(1 + tanh(sqrt(2/pi)·(x + 0.044715 x^3))), gelu's tanh approximation",
              vjp=(lambda g, ans, x: g * _gelu_tanh_d(x),), jvp=lambda ts, ans, x: ts[0] * _gelu_tanh_d(x),
              magnitude=(_gelu_tanh_mag,), special=Special(saturation=3.0)))


# ---- silu: x·sigmoid(x); derivative s·(1 + x·(1 - s))


def np_silu(x):
    return x * np_sigmoid(x)


def _silu_d(x):
    return _sigmoid(x) * (1 + x * _sigmoid(-x))


register(_act("silu", np_silu, lambda x: x / (1 + mpmath.exp(-x)), simplicity=222, doc="x·sigmoid(x) (swish)",
              vjp=(lambda g, ans, x: g * _silu_d(x),), jvp=lambda ts, ans, x: ts[0] * _silu_d(x),
              magnitude=(lambda g, ans, x: np.abs(g) * _sigmoid(x) * (1 + np.abs(x) * _sigmoid(-x)),)))


# ---- mish: x·tanh(softplus(x)); derivative tanh(sp) + x·sech²(sp)·sigmoid(x)


def np_mish(x):
    return x * np.tanh(np_softplus(x))


def _softplus(x):
    if xp.is_mp(x):
        return np.frompyfunc(lambda v: mpmath.log1p(mpmath.exp(v)), 1, 1)(x)
    return np_softplus(x)


def _mish_terms(x):
    sp = _softplus(x)
    t = xp.tanh(sp)
    # sech² = 1 - t² (absolute error u: negligible beside tanh(sp) ~ 1 where t -> 1); sigmoid(x) = exp(x - sp)
    return t, x * (1 - t * t) * xp.exp(x - sp)


def _mish_d(x):
    a, b = _mish_terms(x)
    return a + b


def _mish_mag(g, ans, x):
    a, b = _mish_terms(x)
    return np.abs(g) * (np.abs(a) + np.abs(b))


register(_act("mish", np_mish, lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))), simplicity=223,
              doc="x·tanh(softplus(x))",
              vjp=(lambda g, ans, x: g * _mish_d(x),), jvp=lambda ts, ans, x: ts[0] * _mish_d(x),
              magnitude=(_mish_mag,)))


# ---- elu (alpha = 1: continuously differentiable), selu (a kink at 0)


def np_elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _elu_d(x):
    return np.where(x > 0, 1, xp.exp(np.minimum(x, 0)))


register(_act("elu", np_elu, lambda x: x if x > 0 else mpmath.expm1(x), simplicity=224,
              doc="x for x > 0, exp(x) - 1 otherwise (alpha = 1: the derivative is continuous at 0)",
              vjp=(lambda g, ans, x: g * _elu_d(x),), jvp=lambda ts, ans, x: ts[0] * _elu_d(x),
              props=lambda a, params, shapes: {NZ} if NZ in a[0] else set()))


def np_selu(x):
    alpha, scale = _SELU_ALPHA.value, _SELU_SCALE.value
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _selu_d(x):
    return _SELU_SCALE.like(x) * np.where(x > 0, 1, _SELU_ALPHA.like(x) * xp.exp(np.minimum(x, 0)))


def _mp_selu(x):
    scale, alpha = _SELU_SCALE.mp(), _SELU_ALPHA.mp()
    return scale * (x if x > 0 else alpha * mpmath.expm1(x))


register(_act("selu", np_selu, _mp_selu, simplicity=225, kink=np.abs,
              doc="scale·(x for x > 0, alpha·(exp(x) - 1) otherwise): the derivative jumps at 0 (a kink)",
              vjp=(lambda g, ans, x: g * _selu_d(x),), jvp=lambda ts, ans, x: ts[0] * _selu_d(x),
              props=lambda a, params, shapes: {NZ} if NZ in a[0] else set(),
              special=Special(signed_kink=lambda a: a[0])))


# ---- leaky_relu (a slope parameter), softsign


def np_leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, x * np.asarray(slope, dtype=x.dtype))


def _leaky_d(x, slope):
    s = _mpf(slope) if xp.is_mp(x) else np.asarray(slope, np.asarray(x).dtype)
    return np.where(x > 0, 1, s)


register(_act("leaky_relu", np_leaky_relu, lambda v, slope=0.01: v if v > 0 else _mpf(slope) * v, simplicity=226,
              params={"slope": 0.01}, kink=lambda x, slope=0.01: np.abs(x),
              doc="x for x > 0, slope·x otherwise: a kink at 0",
              vjp=(lambda g, ans, x, slope=0.01: g * _leaky_d(x, slope),),
              jvp=lambda ts, ans, x, slope=0.01: ts[0] * _leaky_d(x, slope),
              props=lambda a, params, shapes: ({NZ} if NZ in a[0] else set()) | shrinking(a[0]),
              special=Special(signed_kink=lambda a, **p: a[0]),
              draw_params={"slope": (0.01, 0.2)},
              example=lambda shape: ([shape], {"slope": 0.01})))


def np_softsign(x):
    return x / (1 + np.abs(x))


register(_act("softsign", np_softsign, lambda x: x / (1 + abs(x)), simplicity=227, doc="x / (1 + |x|)",
              vjp=(lambda g, ans, x: g / ((1 + np.abs(x)) * (1 + np.abs(x))),),
              jvp=lambda ts, ans, x: ts[0] / ((1 + np.abs(x)) * (1 + np.abs(x))),
              props=lambda a, params, shapes: {UNIT, SMALL} | ({NZ} if NZ in a[0] else set())))


# ---- clipping: kinks at both bounds


def _clip_props(lo, hi):
    def props(a, params, shapes):
        lo_, hi_ = lo(params), hi(params)
        out = set()
        if -1 <= lo_ and hi_ <= 1:
            out |= {UNIT, SMALL}
        elif -1.25 <= lo_ and hi_ <= 1.25:
            out |= {SMALL}
        if lo_ > 0:
            out |= {POS, NZ}
        return out
    return props


def _clip_rule(lo, hi):
    def d(x, params):
        return (x > lo(params)) & (x < hi(params))
    return d


def _clip(name, npf, lo, hi, *, simplicity, doc, params=None, draw_params=None, example=None):
    d = _clip_rule(lo, hi)
    return _act(name, npf, lambda v, **p: min(max(v, _mpf(lo(p))), _mpf(hi(p))), simplicity=simplicity,
                params=params, doc=doc,
                kink=lambda x, **p: np.minimum(np.abs(x - lo(p)), np.abs(x - hi(p))),
                vjp=(lambda g, ans, x, **p: np.where(d(x, p), g, 0),),
                jvp=lambda ts, ans, x, **p: np.where(d(x, p), ts[0], 0),
                props=_clip_props(lo, hi), special=Special(signed_kink=lambda a, **p: (a[0] - lo(p)) * (hi(p) - a[0])),
                draw_params=draw_params, example=example)


def np_relu6(x):
    return np.minimum(np.maximum(x, 0), 6).astype(x.dtype)


def np_hardtanh(x):
    return np.clip(x, -1, 1).astype(x.dtype)


def np_clip(x, lo=-1.0, hi=1.0):
    return np.clip(x, lo, hi).astype(x.dtype)


register(_clip("relu6", np_relu6, lambda p: 0.0, lambda p: 6.0, simplicity=228,
               doc="min(max(x, 0), 6): kinks at 0 and 6"))
register(_clip("hardtanh", np_hardtanh, lambda p: -1.0, lambda p: 1.0, simplicity=229,
               doc="min(max(x, -1), 1): kinks at -1 and 1"))
register(_clip("clip", np_clip, lambda p: p["lo"], lambda p: p["hi"], simplicity=230,
               params={"lo": -1.0, "hi": 1.0}, doc="min(max(x, lo), hi) for lo < hi: kinks at both bounds",
               draw_params={"lo": (-1.0, -0.5, 0.0), "hi": (1.0, 0.5, 1.5)},
               example=lambda shape: ([shape], {"lo": -0.5, "hi": 1.0})))
