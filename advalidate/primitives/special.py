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
