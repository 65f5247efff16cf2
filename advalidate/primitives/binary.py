"""Elementwise primitives of two or three operands, broadcasting (NumPy's rules).

A rule may return a cotangent of the broadcast shape: the tape sums the broadcast dimensions away.
``jvp(ts, ans, *operands)`` gets one tangent per operand, of its own shape.
"""

from __future__ import annotations

import mpmath
import numpy as np

from .. import xp
from . import shapes
from ._forms import ew, exp_shift_magnitude, sum_of_terms, unit_roundoff_of
from .operands import NONNEG, NONZERO, NZ, POS, POSITIVE, SMALL, UNIT, Unless, any_has, both
from .primitive import Draw, Primitive, Special
from .registry import register
from .unary import mp_logaddexp


def binary(name, npf, mpf, *, domain=None, simplicity=float("inf"), self_ties=False, **facts):
    """A broadcasting elementwise primitive of two operands, its mpmath form from a scalar mpmath function."""
    return Primitive(name, 2, "binary", shapes.broadcast, npf, ew(mpf, 2, domain), domain=domain,
                     draw=Draw(simplicity=simplicity, self_ties=self_ties), **facts)


def _tie(a, b):
    return np.abs(a - b)


def _atan2_domain(y, x):
    # atan2 jumps across the negative x axis (y = 0, x < 0) and is singular at the origin
    return np.where(x > 0, np.abs(x) + np.abs(y), np.abs(y))


def _hypot_kink(a, b):
    return np.maximum(np.abs(a), np.abs(b))


def _where_kink(p, x, y):
    return np.abs(p) + 0 * (x + y)


def _sum_rounding(np_form):
    return lambda value, args, params: sum_of_terms(value, args, params, np_form)


def _sub_rounding(value, args, params):
    # |a - b| rounds relative to |a| + |b|
    magnitude = np.abs(np.asarray(args[0], np.float64)) + np.abs(np.asarray(args[1], np.float64))
    return unit_roundoff_of(value) * np.broadcast_to(magnitude, np.shape(value))


def _same_operands(same, args, shapes, params):
    return same(args[0], args[1])


def grad_atan2(g, ans, y, x):
    q = g / (x * x + y * y)
    return q * x, -(q * y)


def _positive_sum(a) -> bool:
    """Both operands positive, or one positive and the other nonnegative (a variance plus a positive eps)."""
    nonneg = [POS in p or NONNEG in p for p in a]
    return all(nonneg) and any(POS in p for p in a)


def _flags(*flags):
    return lambda a, params, shapes: {f for f in flags if f in both(a)}


register(binary("add", np.add, lambda a, b: a + b, simplicity=1,
                vjp=(lambda g, ans, a, b: g, lambda g, ans, a, b: g), jvp=lambda ts, ans, a, b: ts[0] + ts[1],
                props=lambda a, params, shapes: {POS, NZ} if _positive_sum(a) else set(),
                rounding=_sum_rounding(np.add)))
register(binary("sub", np.subtract, lambda a, b: a - b, simplicity=3, self_ties=True,
                vjp=(lambda g, ans, a, b: g, lambda g, ans, a, b: -g), jvp=lambda ts, ans, a, b: ts[0] - ts[1],
                constant=_same_operands, rounding=_sub_rounding))
register(binary("mul", np.multiply, lambda a, b: a * b, simplicity=2,
                vjp=(lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
                jvp=lambda ts, ans, a, b: ts[0] * b + a * ts[1],
                props=lambda a, params, shapes: _flags(POS, NZ)(a, params, shapes)
                | ({UNIT, SMALL} if UNIT in both(a) else set())))
register(binary("div", np.divide, lambda a, b: a / b, domain=lambda a, b: np.abs(b), doc="pole at b = 0",
                simplicity=15,
                vjp=(lambda g, ans, a, b: g / b, lambda g, ans, a, b: -(g / b * ans)),
                jvp=lambda ts, ans, a, b: ts[0] / b - ts[1] / b * ans,
                operands=(None, NONZERO), props=_flags(POS, NZ), constant=_same_operands))
register(binary("pow", np.power, mpmath.power, domain=lambda a, b: a, doc="positive base only", simplicity=41,
                vjp=(lambda g, ans, a, b: g * ans * b / a, lambda g, ans, a, b: g * ans * xp.log(a)),
                jvp=lambda ts, ans, a, b: ts[0] * ans * b / a + ts[1] * ans * xp.log(a),
                operands=(POSITIVE,), props=lambda a, params, shapes: {POS, NZ}))
register(binary("maximum", np.maximum, max, kink=_tie, doc="tie at a = b; a tie goes to the first operand",
                simplicity=18, self_ties=True,
                vjp=(lambda g, ans, a, b: np.where(a >= b, g, 0), lambda g, ans, a, b: np.where(a >= b, 0, g)),
                jvp=lambda ts, ans, a, b: np.where(a >= b, ts[0], ts[1]),
                props=lambda a, params, shapes: ({POS, NZ} if any_has(a, POS) else set())
                | _flags(UNIT, SMALL)(a, params, shapes),
                special=Special(signed_kink=lambda a: a[0] - a[1], tie=True)))
register(binary("minimum", np.minimum, min, kink=_tie, doc="tie at a = b; a tie goes to the first operand",
                simplicity=19, self_ties=True,
                vjp=(lambda g, ans, a, b: np.where(a <= b, g, 0), lambda g, ans, a, b: np.where(a <= b, 0, g)),
                jvp=lambda ts, ans, a, b: np.where(a <= b, ts[0], ts[1]),
                props=_flags(POS, NZ, UNIT, SMALL), special=Special(signed_kink=lambda a: a[0] - a[1], tie=True)))
def _logaddexp_magnitude(which):
    return lambda g, ans, a, b: exp_shift_magnitude(g, (a, b)[which] - ans)


register(binary("logaddexp", np.logaddexp, mp_logaddexp, simplicity=42,
                magnitude=(_logaddexp_magnitude(0), _logaddexp_magnitude(1)),
                vjp=(lambda g, ans, a, b: g * xp.exp(a - ans), lambda g, ans, a, b: g * xp.exp(b - ans)),
                jvp=lambda ts, ans, a, b: ts[0] * xp.exp(a - ans) + ts[1] * xp.exp(b - ans)))
register(binary("hypot", np.hypot, mpmath.hypot, kink=_hypot_kink, doc="cone at the origin", simplicity=43,
                vjp=(lambda g, ans, a, b: g / ans * a, lambda g, ans, a, b: g / ans * b),
                jvp=lambda ts, ans, a, b: (ts[0] * a + ts[1] * b) / ans,
                props=lambda a, params, shapes: {POS, NZ} if any_has(a, NZ) else set()))
register(binary("atan2", np.arctan2, mpmath.atan2, domain=_atan2_domain, simplicity=44,
                doc="jump across y = 0, x < 0; singular at 0",
                vjp=grad_atan2,  # one rule for both operands: they share q
                jvp=lambda ts, ans, y, x: (ts[0] * x - ts[1] * y) / (x * x + y * y),
                # x > 0 unless y != 0 (off the branch cut and the origin)
                operands=(None, Unless(NZ, 0, POSITIVE)),
                repeats=lambda args, shapes, shape: args[0] == args[1]))  # atan2(a, a): only pi/4 and -3pi/4
register(Primitive("where", 3, "binary", shapes.broadcast, lambda p, x, y: np.where(p > 0, x, y),
                   ew(lambda p, x, y: x if p > 0 else y, 3), kink=_where_kink,
                   doc="where(p > 0, x, y); a jump at p = 0; no derivative in p",
                   vjp=(None, lambda g, ans, p, x, y: np.where(p > 0, g, 0),
                        lambda g, ans, p, x, y: np.where(p > 0, 0, g)),
                   jvp=lambda ts, ans, p, x, y: np.where(p > 0, ts[1], ts[2]),
                   props=lambda a, params, shapes: set(a[1] & a[2]),
                   special=Special(signed_kink=lambda a: a[0]), draw=Draw(simplicity=45, rule="where")))
