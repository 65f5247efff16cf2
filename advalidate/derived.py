"""What a user's op does not bring, derived from its mpmath form (:mod:`advalidate.extend`).

The NumPy reference tape and the error model need, for every node, a float form and a reference VJP rule that
runs on float arrays (the tape) and on object arrays of mpf (the error model's high-precision run). A catalogue
primitive has both written by hand; a user's op may bring only its mathematics, so both are derived here:

- the **float form** is the mpmath form evaluated at :data:`FLOAT_PREC` bits and rounded to the dtype: a
  correctly rounded implementation, which no float program beats;
- the **reference VJP** is the exact derivative, by central differences ``(f(x + h) - f(x - h)) / 2h`` at twice
  the working precision plus 40 bits, with ``h = 2^-(prec + 20)`` relative to the operand (truncation ``h²·f'''``
  and rounding both far below ``2^-prec``; a step relative to x stays inside a relative domain such as log's at
  x = 1e-316, where ``mpmath.diff``'s absolute step crosses 0): for an elementwise op the partial derivatives of
  the scalar function, elementwise; otherwise one Jacobian column per input component. On float arrays the
  product with the cotangent is formed at :data:`FLOAT_PREC` bits and rounded to the dtype once (a zero cotangent
  times a derivative past the dtype's range is 0, as it is exactly); on mpf it runs at the working precision.
  Its magnitude rule (``|v|ᵀ|J|``, the error model's scale) and its JVP come from the same derivatives.

Consequence for the error model: the derived rule is the exact derivative rounded once, so the float tape never
loses digits on a user's op, and a backend that misses the oracle on it is ``wrong-value`` (or ``nan-inf``),
never ``precision-loss`` ("right formula, lost digits" needs a float formula to blame: give one as ``vjp=``).
The cost is two evaluations of the mpmath form per derivative entry, paid only by numpy-ref and the error model.
"""

from __future__ import annotations

from typing import NamedTuple

import mpmath
import numpy as np

from . import xp


class Rules(NamedTuple):
    """The reference rules of an op: ``vjp`` (one rule per operand), ``magnitude`` (the rules of ``|J|ᵀ|v|``) and
    ``jvp(tangents, ans, *operands)``, each on float arrays and on mpf object arrays."""

    vjp: tuple
    magnitude: tuple
    jvp: object

__all__ = ["FLOAT_PREC", "scalar_mp", "float_form", "elementwise_rules", "jacobian_rules", "Rules"]

FLOAT_PREC = 160  # bits for the derived float forms and float rules: far past float64's 53, then rounded once

NAN = mpmath.mpf("nan")


def scalar_mp(fn):
    """``fn`` returning a real mpf: a complex result (``mpmath.log(-1)``) is NaN, an exception too."""
    def real(*args):
        try:
            out = fn(*args)
        except (ValueError, ZeroDivisionError, ArithmeticError):
            return NAN
        if isinstance(out, mpmath.mpc):
            return out.real if out.imag == 0 else NAN
        return mpmath.mpf(out)

    return real


def _as_mpf(v):
    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v))


def _rounded(arrays, compute):
    """``compute(*mpf arrays)`` at FLOAT_PREC bits, rounded to the float dtype of ``arrays``."""
    dtype = np.result_type(*[np.asarray(a).dtype for a in arrays])
    with mpmath.workprec(FLOAT_PREC):
        out = compute(*[np.asarray(a) for a in arrays])
    return np.asarray(np.asarray(out, dtype=object).astype(np.float64), dtype=dtype)


def float_form(mp_array_form):
    """A float form from an array-level mpmath form: the exact value rounded to the operands' dtype."""
    to_mp = np.frompyfunc(_as_mpf, 1, 1)

    def form(*arrays, **params):
        with np.errstate(all="ignore"):
            return _rounded(arrays, lambda *a: mp_array_form(*[to_mp(x) for x in a], **params))

    return form


def _partial(fn, i):
    """∂fn/∂x_i at mpf (or float) arguments, by a central difference with a step relative to x_i (module docstring)."""
    def d(*args):
        prec = mpmath.mp.prec
        with mpmath.workprec(2 * prec + 40):
            args = [_as_mpf(a) for a in args]
            x = args[i]
            h = mpmath.ldexp(abs(x) if x != 0 else mpmath.mpf(1), -(prec + 20))
            plus, minus = list(args), list(args)
            plus[i], minus[i] = x + h, x - h
            return (fn(*plus) - fn(*minus)) / (2 * h)

    return d


def elementwise_rules(fn, nin: int) -> Rules:
    """The rules of an elementwise op with scalar mpmath form ``fn`` of ``nin`` arguments:
    ``rule_i(g, ans, *args) = g·∂f/∂x_i`` elementwise (the tape sums away broadcast dimensions), and
    ``jvp = Σ_i t_i·∂f/∂x_i``."""
    partials = [_partial(fn, i) for i in range(nin)]
    scaled = [np.frompyfunc(lambda g, *a, _d=d: _as_mpf(g) * _d(*a), nin + 1, 1) for d in partials]
    scaled_abs = [np.frompyfunc(lambda g, *a, _d=d: abs(_as_mpf(g) * _d(*a)), nin + 1, 1) for d in partials]

    def apply(table, i, g, args):
        if xp.is_mp(g) or any(xp.is_mp(a) for a in args):
            return table[i](g, *args)
        return _rounded([g, *args], table[i])

    rules = tuple((lambda i: lambda g, ans, *args: apply(scaled, i, g, args))(i) for i in range(nin))
    magnitude = tuple((lambda i: lambda g, ans, *args: apply(scaled_abs, i, g, args))(i) for i in range(nin))

    def jvp(ts, ans, *args):
        return sum(apply(scaled, i, t, args) for i, t in enumerate(ts))

    return Rules(rules, magnitude, jvp)


def _columns(mp_form, args, i, params):
    """The Jacobian of ``mp_form`` in argument ``i``, one column (an output-shaped array) per component."""
    prec = mpmath.mp.prec
    with mpmath.workprec(2 * prec + 40):
        base = [np.asarray(a, dtype=object).copy() for a in args]
        cols = []
        for j in range(base[i].size):
            x = base[i].reshape(-1)[j]
            h = mpmath.ldexp(max(abs(x), 1), -(prec + 20))
            plus, minus = [a.copy() for a in base], [a.copy() for a in base]
            plus[i].reshape(-1)[j] = x + h
            minus[i].reshape(-1)[j] = x - h
            cols.append((np.asarray(mp_form(*plus, **params), dtype=object)
                         - np.asarray(mp_form(*minus, **params), dtype=object)) / (2 * h))
    return cols


def jacobian_rules(mp_form, nin: int) -> Rules:
    """The rules of an op whose mpmath form works on whole object arrays: ``rule_i(g, ...)_j = Σ_k g_k·∂f_k/∂x_ij``
    from the Jacobian columns (magnitude: ``Σ_k |g_k|·|∂f_k/∂x_ij|``; jvp: ``Σ_ij t_ij·∂f/∂x_ij``)."""
    to_mp = np.frompyfunc(_as_mpf, 1, 1)

    def contract(g, args, i, params, absolute):
        def run(*a):
            gg = np.asarray(g, dtype=object) if xp.is_mp(g) else to_mp(np.asarray(g, np.float64))
            cols = _columns(mp_form, [to_mp(x) if not xp.is_mp(x) else x for x in a], i, params)
            terms = [np.sum(np.abs(gg) * np.abs(c)) if absolute else np.sum(gg * c) for c in cols]
            return np.array(terms + [mpmath.mpf(0)], dtype=object)[:-1].reshape(np.shape(a[i]))

        if any(xp.is_mp(a) for a in args) or xp.is_mp(g):
            return run(*args)
        return _rounded(list(args) + [np.asarray(g)], lambda *a: run(*a[:-1]))

    rules = tuple((lambda i: lambda g, ans, *args, **p: contract(g, args, i, p, False))(i) for i in range(nin))
    magnitude = tuple((lambda i: lambda g, ans, *args, **p: contract(g, args, i, p, True))(i) for i in range(nin))

    def jvp(ts, ans, *args, **params):
        def run(*a):
            total = np.zeros(np.shape(ans), dtype=object) + mpmath.mpf(0)
            for i, t in enumerate(ts):
                tt = np.asarray(t, dtype=object) if xp.is_mp(t) else to_mp(np.asarray(t, np.float64))
                for c, tij in zip(_columns(mp_form, [x if xp.is_mp(x) else to_mp(x) for x in a], i, params),
                                  tt.reshape(-1)):
                    total = total + tij * c
            return total

        if any(xp.is_mp(a) for a in args) or any(xp.is_mp(t) for t in ts):
            return run(*args)
        return _rounded(list(args) + [np.asarray(t) for t in ts], lambda *a: run(*a[:len(args)]))

    return Rules(rules, magnitude, jvp)
