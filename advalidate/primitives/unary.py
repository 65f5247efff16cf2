"""Elementwise primitives of one operand (including the activations sigmoid, softplus and relu).

Rules: ``vjp`` per operand ``rule(g, ans, x)``; ``jvp(ts, ans, x)`` with ``ts = (t,)``. Both run on float and on
mpf object arrays (:mod:`advalidate.xp`).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import ew
from .operands import NZ, POS, POSITIVE, SMALL, SMALL_ANGLE, UNIT, shrinking
from .primitive import Draw, Primitive, Special
from .registry import register


def unary(name, npf, mpf, *, family="elementwise", domain=None, simplicity=float("inf"), activation=None, **facts):
    """An elementwise primitive of one operand, its mpmath form from a scalar mpmath function."""
    return Primitive(name, 1, family, shapes.same, npf, ew(mpf, 1, domain), domain=domain,
                     draw=Draw(simplicity=simplicity, activation=activation), **facts)


# ---- float forms NumPy lacks (dtype-preserving)

_erf = np.frompyfunc(math.erf, 1, 1)


def np_erf(x):
    out = _erf(x)  # a ufunc: the work counter sees it
    # frompyfunc returns a Python float for 0-d input
    return out.astype(x.dtype) if isinstance(out, np.ndarray) else np.asarray(out, dtype=np.asarray(x).dtype)


def np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def np_softplus(x):
    return np.logaddexp(0, x)


def np_relu(x):
    return np.maximum(x, 0)


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_logaddexp(a, b):
    m = max(a, b)
    return m + mpmath.log(mpmath.exp(a - m) + mpmath.exp(b - m))


# ---- gaps and property helpers


def _positive(x):
    return x


def _abs_arg(x):
    return np.abs(x)


def _tan_domain(x):
    return np.abs(xp.cos(x))


def _keeps_nz(a):
    return {NZ} if NZ in a[0] else set()


def _pos_if(flag):
    return lambda a, params, shapes: {POS, NZ} if flag in a[0] else set()


_LOG_2_OVER_SQRT_PI = xp.Constant(math.log(2 / math.sqrt(math.pi)), lambda: mpmath.log(2 / mpmath.sqrt(mpmath.pi)))


def _square_props(a, params, shapes):
    return ({POS, NZ} if NZ in a[0] else set()) | ({UNIT, SMALL} if UNIT in a[0] else set())


register(unary("neg", np.negative, lambda x: -x, simplicity=0,
               vjp=(lambda g, ans, x: -g,), jvp=lambda ts, ans, x: -ts[0],
               props=lambda a, params, shapes: _keeps_nz(a) | shrinking(a[0])))
register(unary("square", np.square, lambda x: x * x, simplicity=4,
               vjp=(lambda g, ans, x: g * (2 * x),), jvp=lambda ts, ans, x: 2 * x * ts[0], props=_square_props))
register(unary("sqrt", np.sqrt, mpmath.sqrt, domain=_positive, doc="defined and smooth for x > 0", simplicity=17,
               vjp=(lambda g, ans, x: g / (2 * ans),), jvp=lambda ts, ans, x: ts[0] / (2 * ans),
               operands=(POSITIVE,), props=_pos_if(POS)))
register(unary("exp", np.exp, mpmath.exp, simplicity=5,
               vjp=(lambda g, ans, x: g * ans,), jvp=lambda ts, ans, x: ts[0] * ans,
               props=lambda a, params, shapes: {POS, NZ}))
register(unary("expm1", np.expm1, mpmath.expm1, simplicity=32,
               vjp=(lambda g, ans, x: g * (ans + 1),), jvp=lambda ts, ans, x: ts[0] * (ans + 1),
               props=lambda a, params, shapes: _keeps_nz(a)))
register(unary("log", np.log, mpmath.log, domain=_positive, simplicity=16,
               vjp=(lambda g, ans, x: g / x,), jvp=lambda ts, ans, x: ts[0] / x, operands=(POSITIVE,)))
register(unary("log1p", np.log1p, mpmath.log1p, domain=lambda x: 1 + x, simplicity=33,
               vjp=(lambda g, ans, x: g / (1 + x),), jvp=lambda ts, ans, x: ts[0] / (1 + x),
               operands=(POSITIVE,), props=_pos_if(POS)))
register(unary("sin", np.sin, mpmath.sin, simplicity=6, activation=4,
               vjp=(lambda g, ans, x: g * xp.cos(x),), jvp=lambda ts, ans, x: ts[0] * xp.cos(x),
               props=lambda a, params, shapes: {UNIT, SMALL}))
register(unary("cos", np.cos, mpmath.cos, simplicity=7,
               vjp=(lambda g, ans, x: -(g * xp.sin(x)),), jvp=lambda ts, ans, x: -(ts[0] * xp.sin(x)),
               props=lambda a, params, shapes: {UNIT, SMALL}))
register(unary("tan", np.tan, mpmath.tan, domain=_tan_domain, doc="poles where cos(x) = 0", simplicity=34,
               vjp=(lambda g, ans, x: g * (1 + ans * ans),), jvp=lambda ts, ans, x: ts[0] * (1 + ans * ans),
               operands=(SMALL_ANGLE,), props=lambda a, params, shapes: _keeps_nz(a)))
register(unary("tanh", np.tanh, mpmath.tanh, simplicity=8, activation=0,
               vjp=(lambda g, ans, x: g * (1 - ans * ans),), jvp=lambda ts, ans, x: ts[0] * (1 - ans * ans),
               props=lambda a, params, shapes: {UNIT, SMALL} | _keeps_nz(a),
               special=Special(saturation=3.0, slope=lambda x: 1 / np.cosh(x) ** 2)))
register(unary("sinh", np.sinh, mpmath.sinh, simplicity=35,
               vjp=(lambda g, ans, x: g * xp.cosh(x),), jvp=lambda ts, ans, x: ts[0] * xp.cosh(x),
               props=lambda a, params, shapes: _keeps_nz(a)))
register(unary("cosh", np.cosh, mpmath.cosh, simplicity=36,
               vjp=(lambda g, ans, x: g * xp.sinh(x),), jvp=lambda ts, ans, x: ts[0] * xp.sinh(x),
               props=lambda a, params, shapes: {POS, NZ}))
register(unary("arctan", np.arctan, mpmath.atan, simplicity=37,
               vjp=(lambda g, ans, x: g / (1 + x * x),), jvp=lambda ts, ans, x: ts[0] / (1 + x * x),
               props=lambda a, params, shapes: _keeps_nz(a)))
register(unary("arcsinh", np.arcsinh, mpmath.asinh, simplicity=38,
               # cosh(arcsinh x) = sqrt(1 + x^2)
               vjp=(lambda g, ans, x: g / xp.cosh(ans),), jvp=lambda ts, ans, x: ts[0] / xp.cosh(ans),
               props=lambda a, params, shapes: _keeps_nz(a)))
register(unary("sigmoid", np_sigmoid, _mp_sigmoid, family="nn", simplicity=9, activation=2,
               vjp=(lambda g, ans, x: g * (ans * (1 - ans)),), jvp=lambda ts, ans, x: ts[0] * (ans * (1 - ans)),
               props=lambda a, params, shapes: {POS, NZ, UNIT, SMALL},
               special=Special(saturation=5.0, slope=lambda x: 1 / np.cosh(x / 2) ** 2)))  # 4 s (1 - s)
register(unary("softplus", np_softplus, lambda x: mp_logaddexp(mpmath.mpf(0), x), family="nn", simplicity=39,
               activation=3,
               # sigmoid(x) = exp(x - softplus(x))
               vjp=(lambda g, ans, x: g * xp.exp(x - ans),), jvp=lambda ts, ans, x: ts[0] * xp.exp(x - ans),
               props=lambda a, params, shapes: {POS, NZ}, special=Special(saturation=5.0)))
register(unary("erf", np_erf, mpmath.erf, simplicity=40,
               vjp=(lambda g, ans, x: g * xp.exp(_LOG_2_OVER_SQRT_PI.like(x) - x * x),),
               jvp=lambda ts, ans, x: ts[0] * xp.exp(_LOG_2_OVER_SQRT_PI.like(x) - x * x),
               props=lambda a, params, shapes: {UNIT, SMALL} | _keeps_nz(a)))
register(unary("abs", np.abs, abs, kink=_abs_arg, doc="kink at 0; derivative 0 there", simplicity=11,
               vjp=(lambda g, ans, x: g * xp.sign(x),), jvp=lambda ts, ans, x: ts[0] * xp.sign(x),
               props=lambda a, params, shapes: _square_props(a, params, shapes) | shrinking(a[0]),
               special=Special(signed_kink=lambda a: a[0])))
register(unary("relu", np_relu, lambda x: x if x > 0 else mpmath.mpf(0), family="nn", kink=_abs_arg,
               doc="kink at 0; derivative 0 there", simplicity=10, activation=1,
               vjp=(lambda g, ans, x: np.where(x > 0, g, 0),), jvp=lambda ts, ans, x: np.where(x > 0, ts[0], 0),
               props=lambda a, params, shapes: _pos_if(POS)(a, params, shapes) | shrinking(a[0]),
               special=Special(signed_kink=lambda a: a[0])))
