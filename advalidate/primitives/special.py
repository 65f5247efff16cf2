"""Special functions (issue 16): gammaln and digamma (poles at 0, -1, -2, ...), erfc, erfinv, xlogy and xlog1py,
logit, log_sigmoid, and the binary cross-entropy with logits.

Default operands of gammaln and digamma are positive (the poles are special points: tiny operands reach the
pole at 0); their negative, non-integer operands are in the domain. The float forms are float implementations
(``math``, NumPy, or :mod:`advalidate.scalar_forms` through ``np.frompyfunc``), never mpmath.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import scalar_forms, xp
from . import shapes
from ._forms import ew
from .binary import binary
from .operands import INSIDE_UNIT, NZ, OPEN_UNIT, POS, POSITIVE, SMALL, UNIT
from .primitive import Draw, Primitive, Special
from .registry import register
from .unary import np_sigmoid, np_softplus

_SQRT_PI_2 = xp.Constant(math.sqrt(math.pi) / 2, lambda: mpmath.sqrt(mpmath.pi) / 2)
_MINUS_2_OVER_SQRT_PI = xp.Constant(-2 / math.sqrt(math.pi), lambda: -2 / mpmath.sqrt(mpmath.pi))


def _unary(name, npf, mpf, *, simplicity, domain=None, family="elementwise", **facts):
    return Primitive(name, 1, family, shapes.same, npf, ew(mpf, 1, domain), domain=domain,
                     draw=Draw(simplicity=simplicity), **facts)


def _pole_gap(x):
    """Distance to the nearest pole at 0, -1, -2, ... (x > 0: x itself)."""
    return np.where(x > 0, x, np.abs(x - xp.round(x)))


def _mp_gammaln(x):
    return mpmath.loggamma(x) if x > 0 else mpmath.log(abs(mpmath.gamma(x)))


np_gammaln = xp.float_ufunc(scalar_forms.lgamma)
np_digamma = xp.float_ufunc(scalar_forms.digamma)

register(_unary("gammaln", np_gammaln, _mp_gammaln, simplicity=240, domain=_pole_gap,
                doc="log|Gamma(x)|; poles at 0, -1, -2, ...",
                vjp=(lambda g, ans, x: g * xp.digamma(x),), jvp=lambda ts, ans, x: ts[0] * xp.digamma(x),
                operands=(POSITIVE,)))
register(_unary("digamma", np_digamma, mpmath.digamma, simplicity=241, domain=_pole_gap,
                doc="Gamma'(x)/Gamma(x); poles at 0, -1, -2, ...",
                vjp=(lambda g, ans, x: g * xp.trigamma(x),), jvp=lambda ts, ans, x: ts[0] * xp.trigamma(x),
                operands=(POSITIVE,)))

np_erfc = xp.float_ufunc(math.erfc)


def _erfc_rule(g, ans, x):
    # -2/sqrt(pi)·exp(-x²)·g as g / exp(x²) (four operations; exp(x²) overflows only where the derivative is
    # below float64's smallest normal number)
    return _MINUS_2_OVER_SQRT_PI.like(x) * (g / xp.exp(x * x))


register(_unary("erfc", np_erfc, mpmath.erfc, simplicity=242, doc="1 - erf(x), accurate in the right tail",
                vjp=(_erfc_rule,), jvp=lambda ts, ans, x: _erfc_rule(ts[0], ans, x),
                props=lambda a, params, shapes: {POS, NZ}))

np_erfinv = xp.float_ufunc(scalar_forms.erfinv)


def _erfinv_d(ans):
    return _SQRT_PI_2.like(ans) * xp.exp(ans * ans)


register(_unary("erfinv", np_erfinv, mpmath.erfinv, simplicity=243, domain=lambda x: 1 - np.abs(x),
                doc="the inverse of erf on (-1, 1); poles at ±1",
                vjp=(lambda g, ans, x: g * _erfinv_d(ans),), jvp=lambda ts, ans, x: ts[0] * _erfinv_d(ans),
                operands=(INSIDE_UNIT,), props=lambda a, params, shapes: {NZ} if NZ in a[0] else set()))


# ---- x·log(y), x·log1p(y): 0 where x = 0 (even where the log is not defined)


def np_xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0 * y, x * np.log(y))


def np_xlog1py(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0 * y, x * np.log1p(y))


register(binary("xlogy", np_xlogy, lambda x, y: mpmath.mpf(0) if x == 0 else x * mpmath.log(y),
                domain=lambda x, y: y + 0 * x, simplicity=244, doc="x·log(y), 0 where x = 0; y > 0",
                # g·(x / y): (g·x) / y would round g·x to a subnormal with few bits at subnormal operands
                vjp=(lambda g, ans, x, y: g * xp.log(y), lambda g, ans, x, y: g * (x / y)),
                jvp=lambda ts, ans, x, y: ts[0] * xp.log(y) + ts[1] * (x / y),
                operands=(None, POSITIVE)))
register(binary("xlog1py", np_xlog1py, lambda x, y: mpmath.mpf(0) if x == 0 else x * mpmath.log1p(y),
                domain=lambda x, y: 1 + y + 0 * x, simplicity=245, doc="x·log(1 + y), 0 where x = 0; y > -1",
                vjp=(lambda g, ans, x, y: g * xp.log1p(y), lambda g, ans, x, y: g * (x / (1 + y))),
                jvp=lambda ts, ans, x, y: ts[0] * xp.log1p(y) + ts[1] * (x / (1 + y)),
                operands=(None, POSITIVE)))


# ---- logit, log_sigmoid


def np_logit(x):
    # near 1/2 the quotient is near 1 and its log would be 100s of ulps off relative to the small result:
    # log1p((2x - 1) / (1 - x)) there (2x - 1 and, for x >= 1/2, 1 - x exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x > 0.25) & (x < 0.75), np.log1p((2 * x - 1) / (1 - x)), np.log(x / (1 - x)))


register(_unary("logit", np_logit, lambda x: mpmath.log(x / (1 - x)), simplicity=246,
                domain=lambda x: np.minimum(x, 1 - x), doc="log(x / (1 - x)) on (0, 1); poles at 0 and 1",
                vjp=(lambda g, ans, x: g / (x * (1 - x)),), jvp=lambda ts, ans, x: ts[0] / (x * (1 - x)),
                operands=(OPEN_UNIT,)))


def np_log_sigmoid(x):
    return -np_softplus(-x)


def _log_sigmoid_d(x):
    # sigmoid(-x), accurate in both tails
    return 1 / (1 + xp.exp(x)) if xp.is_mp(x) else np_sigmoid(-x)


register(_unary("log_sigmoid", np_log_sigmoid, lambda x: -mpmath.log1p(mpmath.exp(-x)), simplicity=247,
                family="nn", doc="log(sigmoid(x)) = -softplus(-x)",
                vjp=(lambda g, ans, x: g * _log_sigmoid_d(x),), jvp=lambda ts, ans, x: ts[0] * _log_sigmoid_d(x),
                special=Special(saturation=5.0)))


# ---- binary cross-entropy with logits: max(z, 0) - z·y + log(1 + exp(-|z|)), elementwise


def np_bce_with_logits(z, y):
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _mp_bce(z, y):
    return mpmath.log1p(mpmath.exp(-abs(z))) + max(z, 0) - z * y


def _bce_dz(z):
    return 1 / (1 + xp.exp(-z)) if xp.is_mp(z) else np_sigmoid(z)


register(Primitive("bce_with_logits", 2, "nn", shapes.broadcast, np_bce_with_logits, ew(_mp_bce, 2),
                   doc="binary cross-entropy of a logit z and a label y (unreduced): -(y·log s + (1 - y)·log(1 - s)),"
                       " s = sigmoid(z)",
                   vjp=(lambda g, ans, z, y: g * (_bce_dz(z) - y), lambda g, ans, z, y: -(g * z)),
                   jvp=lambda ts, ans, z, y: ts[0] * (_bce_dz(z) - y) - ts[1] * z,
                   magnitude=(lambda g, ans, z, y: np.abs(g) * (_bce_dz(z) + np.abs(y)),
                              lambda g, ans, z, y: np.abs(g * z)),
                   operands=(None, OPEN_UNIT), props=lambda a, params, shapes: {POS, NZ},
                   special=Special(saturation=5.0), draw=Draw(simplicity=248)))


# ---- issue 16: bessel. i0e(x) = exp(-|x|)·I0(x), i1e(x) = exp(-|x|)·I1(x) (float forms: Chebyshev series,
# advalidate.scalar_forms); log1mexp(x) = log(1 - exp(-x)) for x > 0, the convention of jax.nn.log1mexp (undefined
# for x < 0; TensorFlow Probability's tfp.math.log1mexp takes |x|); torch and autograd have no log1mexp.
#
# i0e'(x) = i1e(x) - sign(x)·i0e(x): a kink at 0 (exp(-|x|)), one-sided derivatives -1 (right) and +1 (left).
# i1e'(x) = i0e(x) - sign(x)·i1e(x) - i1e(x)/x: smooth at 0 (C¹; the second derivative jumps), 1/2 there.
# Both VJPs are differences of terms of size i0e(x) that cancel to about i0e(x)/(2|x|) for large |x|: their
# magnitude rules sum the terms' absolute values (``Primitive.magnitude``). Past |x| = 8 the differences have lost
# 5 bits: default points keep |x| <= 8 (``saturation``), special points drive it into the tail (8 to 1024).

_BESSEL_TAIL = 8.0
_TINY_X = 2.0 ** -53  # below, i1e(x)/x = 1/2 - |x|/2 + O(x²) rounds to 1/2


def _i1e_over_x(x, ans):
    """i1e(x)/x (1/2 at 0) from ans = i1e(x): float: 1/2 below 2^-53 (where ans, about x/2, may be subnormal and
    ans/x lose its bits; above, ans is normal and ans/x within an ulp); mpf: exact (ans/x, the limit 1/2 at 0)."""
    if xp.is_mp(x):
        zero = x == 0
        return np.where(zero, mpmath.mpf(1) / 2, ans / np.where(zero, 1, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(x) < _TINY_X, 0.5, ans / x)


def _i0e_d(x, ans):
    return xp.i1e(x) - xp.sign(x) * ans


def _i1e_d(x, ans):
    return xp.i0e(x) - xp.sign(x) * ans - _i1e_over_x(x, ans)


np_i0e = xp.float_ufunc(scalar_forms.i0e)
np_i1e = xp.float_ufunc(scalar_forms.i1e)

register(_unary("i0e", np_i0e, lambda x: mpmath.besseli(0, x) * mpmath.exp(-abs(x)), simplicity=250,
                kink=lambda x: np.abs(x),
                doc="exp(-|x|)·I0(x), the exponentially scaled modified Bessel function of order 0; kink at 0",
                vjp=(lambda g, ans, x: g * _i0e_d(x, ans),), jvp=lambda ts, ans, x: ts[0] * _i0e_d(x, ans),
                magnitude=(lambda g, ans, x: np.abs(g) * (np.abs(xp.i1e(x)) + np.abs(ans)),),
                props=lambda a, params, shapes: {POS, NZ, UNIT, SMALL},
                special=Special(saturation=_BESSEL_TAIL, signed_kink=lambda a: a[0]),
                # a Bessel function weighs 1 per element like any elementwise op, and the VJP needs the other order's:
                # autograd's rule for any order, g·(ive(n, x)·(n/x - sign x) + ive(n + 1, x)), is 7 operations per
                # element, and its backward pass adds the cotangent into the gradient (1), on top of the forward's 1
                # (jax's and torch's i1e(x) - sign(x)·i0e(x) is 5): 9 forwards
                omega=9.0))
register(_unary("i1e", np_i1e, lambda x: mpmath.besseli(1, x) * mpmath.exp(-abs(x)), simplicity=251,
                doc="exp(-|x|)·I1(x), the exponentially scaled modified Bessel function of order 1 (odd)",
                vjp=(lambda g, ans, x: g * _i1e_d(x, ans),), jvp=lambda ts, ans, x: ts[0] * _i1e_d(x, ans),
                magnitude=(lambda g, ans, x: np.abs(g) * (np.abs(xp.i0e(x)) + np.abs(ans)
                                                          + np.abs(_i1e_over_x(x, ans))),),
                props=lambda a, params, shapes: ({NZ} if NZ in a[0] else set()) | {UNIT, SMALL},
                special=Special(saturation=_BESSEL_TAIL),
                # i0e(x) - i1e(x)·(sign(x) + 1/x), guarded at 0 (jax and torch: |x|, a comparison with eps, a select
                # of a safe x, i0e, sign, 1/x, an add, a mul, a sub, the select of the limit 1/2, the mul by g): 11
                # operations per element, 12 in jax, whose 1/x is integer_pow(x, -1) (weight 2, cost.jaxpr), on top
                # of the forward's 1: 13 forwards
                omega=13.0))


def np_log1mexp(x):
    # Mächler (2012): log(-expm1(-x)) below log 2, log1p(-exp(-x)) above (as jax.nn.log1mexp)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x < math.log(2), np.log(-np.expm1(-x)), np.log1p(-np.exp(-x)))


register(_unary("log1mexp", np_log1mexp, lambda x: mpmath.log(-mpmath.expm1(-x)), simplicity=252,
                domain=lambda x: x, doc="log(1 - exp(-x)) for x > 0 (jax.nn.log1mexp's convention); pole at 0",
                vjp=(lambda g, ans, x: g / xp.expm1(x),), jvp=lambda ts, ans, x: ts[0] / xp.expm1(x),
                operands=(POSITIVE,)))
