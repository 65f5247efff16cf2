"""Elementary functions beyond ``unary`` and ``binary`` (issue 16): inverse trigonometric and hyperbolic
functions with their domain edges, exp2/log2/log10, reciprocal and rsqrt, cbrt (singular at 0), integer powers,
the piecewise-constant sign/floor/round, and the remainders fmod/remainder.

sign, floor and round have derivative 0 almost everywhere; their jumps are kinks (the kink gap is the distance
to the nearest jump), and so are the jumps of fmod and remainder. Rules run on float and on mpf object arrays
(:mod:`advalidate.xp`).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import ew
from .binary import binary
from .operands import ABOVE_ONE, INSIDE_UNIT, NONZERO, NZ, POS, POSITIVE, SMALL, UNIT, shrinking
from .primitive import Draw, Primitive, Special
from .registry import register

_LN2 = xp.Constant(math.log(2), lambda: mpmath.log(2))
_LN10 = xp.Constant(math.log(10), lambda: mpmath.log(10))


def _unary(name, npf, mpf, *, simplicity, domain=None, **facts):
    return Primitive(name, 1, "elementwise", shapes.same, npf, ew(mpf, 1, domain), domain=domain,
                     draw=Draw(simplicity=simplicity), **facts)


def _keeps_nz(a, params=None, shapes=None):
    return {NZ} if NZ in a[0] else set()


def _inside_unit(x):
    return 1 - np.abs(x)


def _zero_rule(g, ans, *args, **params):
    return 0 * g


def _zero_jvp(ts, ans, *args, **params):
    return 0 * ts[0]


# ---- inverse trigonometric and hyperbolic functions (domain edges at ±1, and 1 for arccosh)

register(_unary("arcsin", np.arcsin, mpmath.asin, simplicity=200, domain=_inside_unit,
                doc="defined on (-1, 1); the derivative is singular at ±1",
                # 1 - x·x: |x| <= 0.9 (the sampler) keeps it accurate; four operations, within the cost bound
                vjp=(lambda g, ans, x: g / xp.sqrt(1 - x * x),), jvp=lambda ts, ans, x: ts[0] / xp.sqrt(1 - x * x),
                operands=(INSIDE_UNIT,), props=lambda a, params, shapes: _keeps_nz(a) | {SMALL}))
register(_unary("arccos", np.arccos, mpmath.acos, simplicity=201, domain=_inside_unit,
                doc="defined on (-1, 1); the derivative is singular at ±1",
                # sin(arccos x) = sqrt(1 - x^2) (ans in (0, pi): sin(ans) > 0)
                vjp=(lambda g, ans, x: -(g / xp.sin(ans)),), jvp=lambda ts, ans, x: -(ts[0] / xp.sin(ans)),
                operands=(INSIDE_UNIT,), props=lambda a, params, shapes: {POS, NZ}))
register(_unary("arctanh", np.arctanh, mpmath.atanh, simplicity=202, domain=_inside_unit,
                doc="defined on (-1, 1); poles at ±1",
                vjp=(lambda g, ans, x: g / ((1 - x) * (1 + x)),),
                jvp=lambda ts, ans, x: ts[0] / ((1 - x) * (1 + x)),
                operands=(INSIDE_UNIT,), props=lambda a, params, shapes: _keeps_nz(a)))
register(_unary("arccosh", np.arccosh, mpmath.acosh, simplicity=203, domain=lambda x: x - 1,
                doc="defined on (1, inf); the derivative is singular at 1",
                # sinh(arccosh x) = sqrt(x^2 - 1), accurate near x = 1 too
                vjp=(lambda g, ans, x: g / xp.sinh(ans),), jvp=lambda ts, ans, x: ts[0] / xp.sinh(ans),
                operands=(ABOVE_ONE,), props=lambda a, params, shapes: {POS, NZ}))

# ---- exponentials and logarithms in other bases, reciprocals and roots

register(_unary("exp2", np.exp2, lambda x: mpmath.power(2, x), simplicity=204,
                vjp=(lambda g, ans, x: g * ans * _LN2.like(x),), jvp=lambda ts, ans, x: ts[0] * ans * _LN2.like(x),
                props=lambda a, params, shapes: {POS, NZ}))
register(_unary("log2", np.log2, lambda x: mpmath.log(x, 2), simplicity=205, domain=lambda x: x,
                # (g / ln 2) / x: x·ln 2 would round to a subnormal with few bits at a subnormal x
                vjp=(lambda g, ans, x: g / _LN2.like(x) / x,), jvp=lambda ts, ans, x: ts[0] / _LN2.like(x) / x,
                operands=(POSITIVE,)))
register(_unary("log10", np.log10, mpmath.log10, simplicity=206, domain=lambda x: x,
                vjp=(lambda g, ans, x: g / _LN10.like(x) / x,), jvp=lambda ts, ans, x: ts[0] / _LN10.like(x) / x,
                operands=(POSITIVE,)))
register(_unary("reciprocal", np.reciprocal, lambda x: 1 / x, simplicity=207, domain=np.abs, doc="pole at 0",
                vjp=(lambda g, ans, x: -(g * ans * ans),), jvp=lambda ts, ans, x: -(ts[0] * ans * ans),
                operands=(NONZERO,), props=lambda a, params, shapes: {p for p in (POS, NZ) if p in a[0]}))


def np_rsqrt(x):
    return 1 / np.sqrt(x)


register(_unary("rsqrt", np_rsqrt, lambda x: 1 / mpmath.sqrt(x), simplicity=208, domain=lambda x: x,
                doc="1/sqrt(x), defined for x > 0",
                vjp=(lambda g, ans, x: -(g * ans / (2 * x)),), jvp=lambda ts, ans, x: -(ts[0] * ans / (2 * x)),
                operands=(POSITIVE,), props=lambda a, params, shapes: {POS, NZ}))


def _mp_cbrt(x):
    return mpmath.cbrt(x) if x >= 0 else -mpmath.cbrt(-x)


register(_unary("cbrt", np.cbrt, _mp_cbrt, simplicity=209, domain=np.abs,
                doc="the real cube root; its derivative is singular at 0 (outside the domain of differentiability)",
                vjp=(lambda g, ans, x: g / (3 * ans * ans),), jvp=lambda ts, ans, x: ts[0] / (3 * ans * ans),
                operands=(NONZERO,), props=lambda a, params, shapes: {p for p in (POS, NZ) if p in a[0]}))


# ---- integer powers, negative bases included

def np_int_pow(x, n=3):
    return np.power(x, int(n))


def _mp_int_pow(x, n=3):
    return ew(lambda v: v ** int(n), 1)(x)


def _int_pow_props(a, params, shapes):
    n = int(params["n"])
    out = _keeps_nz(a)
    if n % 2 == 0 and NZ in a[0]:
        out |= {POS}
    if n > 0 and UNIT in a[0]:
        out |= {UNIT, SMALL}
    return out


register(Primitive("int_pow", 1, "elementwise", shapes.same, np_int_pow, _mp_int_pow, params={"n": 3},
                   domain=np.abs,
                   doc="x ** n for an integer n (negative bases too); 0 is outside the domain for every n "
                       "(a pole for n < 0; domain gaps do not see parameters)",
                   vjp=(lambda g, ans, x, n=3: g * (int(n) * x ** (int(n) - 1)),),
                   jvp=lambda ts, ans, x, n=3: ts[0] * (int(n) * x ** (int(n) - 1)),
                   operands=(NONZERO,), props=_int_pow_props,
                   draw=Draw(simplicity=210, params={"n": (3, 2, -1, -2, 4, -3)}),
                   example=lambda shape: ([shape], {"n": 3})))

# ---- piecewise constant: derivative 0 almost everywhere, the jumps are kinks


def _floor_gap(x):
    # distance to the nearest integer (floor jumps there)
    return np.abs(x - xp.round(x))


def _round_gap(x):
    # distance to the nearest half-integer (round jumps there)
    return np.abs(x - xp.floor(x) - 0.5)


register(_unary("sign", np.sign, mpmath.sign, simplicity=211, kink=np.abs, piecewise_constant=True,
                doc="a jump at 0 (a kink); derivative 0 elsewhere",
                vjp=(_zero_rule,), jvp=_zero_jvp,
                props=lambda a, params, shapes: {NZ, UNIT, SMALL} if NZ in a[0] else {UNIT, SMALL},
                special=Special(signed_kink=lambda a: a[0])))
register(_unary("floor", np.floor, mpmath.floor, simplicity=212, kink=_floor_gap, recurring_kinks=True,
                piecewise_constant=True,
                doc="jumps at the integers (kinks); derivative 0 elsewhere",
                vjp=(_zero_rule,), jvp=_zero_jvp,
                special=Special(signed_kink=lambda a: a[0] - np.round(a[0]))))
register(_unary("round", np.round, mpmath.nint, simplicity=213, kink=_round_gap, recurring_kinks=True,
                piecewise_constant=True,
                doc="half to even; jumps at the half-integers (kinks); derivative 0 elsewhere",
                vjp=(_zero_rule,), jvp=_zero_jvp,
                special=Special(signed_kink=lambda a: a[0] - np.floor(a[0]) - 0.5)))


# ---- remainders: jumps (kinks) where a / b crosses an integer


def _mp_fmod(a, b):
    q = a / b  # (mpmath.fmod is Python's %, the sign of b)
    return a - b * (mpmath.floor(q) if q >= 0 else mpmath.ceil(q))


def _fmod_gap(a, b):
    # fmod is continuous through a = 0 (|a| < |b|: no jump until |a| reaches |b|); elsewhere it jumps where a
    # crosses a nonzero multiple of b
    r = np.abs(a - b * _trunc(a / _nonzero(b)))
    m = np.abs(b)
    return np.where(m == 0, 0 * m, np.where(np.abs(a) < m, m - np.abs(a), np.minimum(r, m - r)))


def _nonzero(b):
    # b = 0 is outside the domain (its gap says so); kink gaps are still evaluated there (the gap is 0), and an
    # mpf division by zero raises: divide by 1 instead
    return np.where(b == 0, 1, b)


def _trunc(q):
    return np.where(q >= 0, xp.floor(q), -xp.floor(-q))


def _neg_quotient(ans, a, b):
    # -q for a = q·b + ans (q = trunc(a / b) for fmod, floor(a / b) for remainder), an integer: (ans - a) / b
    # rounded (exact on mpf, rounding noise on floats)
    return xp.round((ans - a) / b)


def _remainder_gap(a, b):
    r = np.abs(a - b * xp.floor(a / _nonzero(b)))
    m = np.abs(b)
    return np.where(m == 0, 0 * m, np.minimum(r, m - r))


def _mp_remainder(a, b):
    return a - b * mpmath.floor(a / b)


register(binary("fmod", np.fmod, _mp_fmod, domain=lambda a, b: np.abs(b), simplicity=214,
                doc="a - trunc(a / b)·b (the sign of a); jumps where a crosses a nonzero multiple of b",
                kink=_fmod_gap, recurring_kinks=True,
                vjp=(lambda g, ans, a, b: g, lambda g, ans, a, b: g * _neg_quotient(ans, a, b)),
                jvp=lambda ts, ans, a, b: ts[0] + ts[1] * _neg_quotient(ans, a, b),
                operands=(None, NONZERO), special=Special(signed_kink=lambda a: np.sin(np.pi * a[0] / a[1]))))
register(binary("remainder", np.remainder, _mp_remainder, domain=lambda a, b: np.abs(b), simplicity=215,
                doc="a - floor(a / b)·b (the sign of b); jumps where a crosses any multiple of b",
                kink=_remainder_gap, recurring_kinks=True,
                vjp=(lambda g, ans, a, b: g, lambda g, ans, a, b: g * _neg_quotient(ans, a, b)),
                jvp=lambda ts, ans, a, b: ts[0] + ts[1] * _neg_quotient(ans, a, b),
                operands=(None, NONZERO), special=Special(signed_kink=lambda a: np.sin(np.pi * a[0] / a[1]))))
