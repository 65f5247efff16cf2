"""Dual numbers with a running error magnitude: how the reference tape differentiates its own reverse pass.

The reference VJP rules run on float arrays and on object arrays of mpf (:mod:`advalidate.xp`). On object arrays
of :class:`Dual` they run a third way: each number carries a value ``a`` and a tangent ``b``, the derivative of
``a`` along a direction u of the inputs, and every operation applies the product and chain rules to it. The
reverse pass run on duals, with the forward values' tangents from the forward-mode pass (``J·u`` of every node),
gives Jᵀv in ``a`` and its derivative along u in ``b``: the Hessian-vector product ``H_v·u``, forward-over-reverse
with the registrations' own rules and nothing else written by hand (:func:`advalidate.backends.numpy_ref.hvp`).

A dual's components are of one number type: NumPy float scalars of the function's dtype (the float reference,
rounded as the tape rounds) or mpf (the same rules at high precision). Constants an mpf-aware rule supplies
(``mpmath.mpf(1)``) are cast to the dual's float type, so a float run stays in its dtype.

Each dual also carries ``A`` and ``B``, the magnitudes of the computations of ``a`` and ``b`` (running error
analysis, Higham ch. 3): every term that was added is added in absolute value, and a function's rounding is
carried through its derivative, so that a value computed in floating point is within a small multiple of
``u·A`` of the exact value of the same formula, and its tangent within a small multiple of ``u·B``. For a sum
``A = A₁ + A₂``; for a product ``A = |a₂|A₁ + |a₁|A₂`` and ``B = |a₁|B₂ + |b₂|A₁ + |a₂|B₁ + |b₁|A₂``; for a
function ``f(a)``: ``A = |f(a)| + |f′(a)|·A_a`` and ``B = |f′(a)·b| + |f″(a)|·|b|·A_a + |f′(a)|·B_b`` (the tangent
``f′(a)·b`` moves with the error of a through f″). The error model's scale for ``H_v·u`` is the B of the result
(:mod:`advalidate.second_order`).

Comparisons compare the values (a branch of a rule follows the point), and no dual converts to a float: a rule
that would drop a tangent that way raises instead, and the tape says the primitive has no second order. A tangent
that is exactly zero is a structural zero (JAX's symbolic zeros): its products are 0 even with an infinite factor.
"""

from __future__ import annotations

import contextlib
import contextvars

import mpmath
import numpy as np

__all__ = ["Dual", "apply", "dual_array", "values_of", "tangents_of", "magnitudes_of", "is_dual_array", "primal"]


_TINY = contextvars.ContextVar("advalidate_dual_tiny", default=0.0)


@contextlib.contextmanager
def underflow(tiny: float):
    """Within the block, every value or tangent whose size is below ``tiny`` (a dtype's smallest normal number, while
    the magnitudes are computed in float64) adds ``tiny`` to its magnitude: below the normal range a float holds an
    absolute error up to its spacing, ``tiny·u``, not a relative one (gradual underflow), and ``tiny`` in magnitude
    units (errors are ``u·magnitude``) says so. A later product carries it: r = 1/x² below float32's range at x = 1.9e22,
    times x again, leaves 1e-23 of error where the relative model alone says 1e-29."""
    token = _TINY.set(tiny)
    try:
        yield
    finally:
        _TINY.reset(token)


def _floor(x, m):
    """The magnitude ``m`` of a value or tangent ``x``, plus the dtype's ``tiny`` where x lies below it (m itself may
    have underflowed to 0: 1/y² at y = 2.9e161 is subnormal in float64, and so is everything it multiplies)."""
    tiny = _TINY.get()
    return m + tiny if tiny and abs(x) < tiny else m


def _times(x, y):
    """``x·y``, exactly 0 where either factor is: a tangent or magnitude that is exactly 0 is a structural zero (a
    constant's), and stays 0 against an infinite factor (1/x at a subnormal x overflows; its product with the
    tangent of a constant is 0, not NaN)."""
    return y * 0 if y == 0 else x * 0 if x == 0 else x * y


class Dual:
    """A value, its tangent and their magnitudes (module docstring)."""

    __slots__ = ("a", "b", "A", "B")

    def __init__(self, a, b, A=None, B=None):
        self.a, self.b = a, b
        self.A = abs(a) if A is None else A
        self.B = abs(b) if B is None else B

    def __repr__(self):
        return f"Dual({self.a!r}, {self.b!r})"

    # ---- the number type of the components, for the constants a rule mixes in
    def _lift(self, other):
        if isinstance(other, np.ndarray):  # a 0-d array an object array may hold as an element (out[i] = g of shape ())
            other = other[()]
        if isinstance(other, Dual):
            return other
        if isinstance(other, (bool, np.bool_)):
            other = int(other)
        if isinstance(self.a, mpmath.mpf):
            c = mpmath.mpf(other) if not isinstance(other, mpmath.mpf) else other
        else:
            c = type(self.a)(other)
        zero = c * 0
        return Dual(c, zero, abs(c), zero)

    # ---- arithmetic
    def __add__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        o = self._lift(other)
        return Dual(self.a + o.a, self.b + o.b, self.A + o.A, self.B + o.B)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        o = self._lift(other)
        return Dual(self.a - o.a, self.b - o.b, self.A + o.A, self.B + o.B)

    def __rsub__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        return self._lift(other) - self

    def __mul__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        o = self._lift(other)
        a1, a2 = abs(self.a), abs(o.a)
        a, b = self.a * o.a, _times(self.a, o.b) + _times(self.b, o.a)
        B = _times(a1, o.B) + _times(abs(o.b), self.A) + _times(a2, self.B) + _times(abs(self.b), o.A)
        moving = self.b != 0 or o.b != 0 or self.B != 0 or o.B != 0  # else a constant's tangent: a structural zero
        return Dual(a, b, _floor(a, _times(a2, self.A) + _times(a1, o.A)), _floor(b, B) if moving else B)

    __rmul__ = __mul__

    def reciprocal(self):
        r = 1 / self.a
        return self._chain(r, -r * r, 2 * r * r * r)

    def __truediv__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        o = self._lift(other)
        return self * o.reciprocal()

    def __rtruediv__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        return self._lift(other) * self.reciprocal()

    def __neg__(self):
        return Dual(-self.a, -self.b, self.A, self.B)

    def __pos__(self):
        return self

    def __abs__(self):
        s = 1 if self.a > 0 else -1 if self.a < 0 else 0
        return Dual(abs(self.a), self.b * s, self.A, self.B)

    def __pow__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        if isinstance(other, Dual):
            if other.b == 0 and other.a == int(other.a):
                return self ** int(other.a)
            return apply("exp", other * apply("log", self))
        if isinstance(other, (int, np.integer)) or float(other) == int(other):
            c = int(other)
            if c == 0:
                return self._lift(1)
            if c == 1:
                return self
            if c == 2:
                return self * self
            if self.a == 0 and c > 2:
                zero = self.a * 0
                return self._chain(zero, zero, 2 * zero if c > 2 else 2 * self._lift(1).a)
            return self._chain(self.a ** c, c * self.a ** (c - 1), c * (c - 1) * self.a ** (c - 2))
        c = self._lift(other).a
        return self._chain(self.a ** c, c * self.a ** (c - 1), c * (c - 1) * self.a ** (c - 2))

    def __rpow__(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented
        return apply("exp", self * apply("log", self._lift(other)))

    def _chain(self, f0, f1, f2):
        """``f(self)`` from ``f(a)``, ``f′(a)`` and ``f″(a)`` (the magnitudes of the module docstring)."""
        t = _times(f1, self.b)
        B = abs(t) + _times(_times(abs(f2), abs(self.b)), self.A) + _times(abs(f1), self.B)
        moving = self.b != 0 or self.B != 0  # else a constant's tangent: a structural zero
        return Dual(f0, t, _floor(f0, abs(f0) + _times(abs(f1), self.A)), _floor(t, B) if moving else B)

    # ---- comparisons: on the values
    def _key(self, other):
        return other.a if isinstance(other, Dual) else other

    def __lt__(self, other):
        return self.a < self._key(other)

    def __le__(self, other):
        return self.a <= self._key(other)

    def __gt__(self, other):
        return self.a > self._key(other)

    def __ge__(self, other):
        return self.a >= self._key(other)

    def __eq__(self, other):
        return self.a == self._key(other)

    def __ne__(self, other):
        return self.a != self._key(other)

    __hash__ = None

    # ---- the methods NumPy's ufuncs call on object arrays
    def exp(self):
        return apply("exp", self)

    def log(self):
        return apply("log", self)

    def sqrt(self):
        return apply("sqrt", self)

    def sin(self):
        return apply("sin", self)

    def cos(self):
        return apply("cos", self)

    def tanh(self):
        return apply("tanh", self)

    def sinh(self):
        return apply("sinh", self)

    def cosh(self):
        return apply("cosh", self)

    def log1p(self):
        return apply("log1p", self)

    def expm1(self):
        return apply("expm1", self)

    def conjugate(self):
        return self


# ---- elementary functions: value, first and second derivative at a (float scalars or mpf)

def _np(name):
    return getattr(np, name)


def _is_mp(a) -> bool:
    return isinstance(a, mpmath.mpf)


def _f(name, a):
    """``name`` of the xp namespace at a scalar of either kind (the float form keeps the dtype)."""
    from . import xp

    if _is_mp(a):
        return getattr(xp, name)(np.asarray(a, dtype=object)).item() if name in _XP_ONLY else _MP[name](a)
    return type(a)(getattr(xp, name)(np.asarray(a))[()])


_MP = {"exp": mpmath.exp, "log": mpmath.log, "sqrt": mpmath.sqrt, "sin": mpmath.sin, "cos": mpmath.cos,
       "tanh": mpmath.tanh, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "log1p": mpmath.log1p, "expm1": mpmath.expm1,
       "erf": mpmath.erf, "erfc": mpmath.erfc, "digamma": mpmath.digamma, "trigamma": lambda x: mpmath.psi(1, x),
       "sign": mpmath.sign, "floor": mpmath.floor, "round": mpmath.nint}
_XP_ONLY = ("i0e", "i1e")


def _polygamma(n, a):
    if _is_mp(a):
        return mpmath.psi(n, a)
    with mpmath.workprec(64):
        return type(a)(float(mpmath.psi(n, mpmath.mpf(float(a)))))


def _const(a, value):
    return mpmath.mpf(value) if _is_mp(a) else type(a)(value)


def _two_over_sqrt_pi(a):
    return 2 / mpmath.sqrt(mpmath.pi) if _is_mp(a) else type(a)(1.1283791670955126)


def _derivatives(name, a):
    """``(f(a), f′(a), f″(a))`` for the xp function ``name``."""
    f = lambda n: _f(n, a)  # noqa: E731
    if name == "exp":
        e = f("exp")
        return e, e, e
    if name == "log":
        return f("log"), 1 / a, -1 / (a * a)
    if name == "sqrt":
        s = f("sqrt")
        return s, 1 / (2 * s), -1 / (4 * s * a)
    if name == "sin":
        s, c = f("sin"), f("cos")
        return s, c, -s
    if name == "cos":
        s, c = f("sin"), f("cos")
        return c, -s, -c
    if name == "sinh":
        s, c = f("sinh"), f("cosh")
        return s, c, s
    if name == "cosh":
        s, c = f("sinh"), f("cosh")
        return c, s, c
    if name == "tanh":
        t = f("tanh")
        d = 1 - t * t
        return t, d, -2 * t * d
    if name == "log1p":
        p = 1 + a
        return f("log1p"), 1 / p, -1 / (p * p)
    if name == "expm1":
        e = f("exp")
        return f("expm1"), e, e
    if name in ("erf", "erfc"):
        g = _two_over_sqrt_pi(a) * _f("exp", -(a * a))
        s = 1 if name == "erf" else -1
        return f(name), s * g, -2 * a * s * g
    if name == "digamma":
        return f("digamma"), f("trigamma"), _polygamma(2, a)
    if name == "trigamma":
        return f("trigamma"), _polygamma(2, a), _polygamma(3, a)
    if name in ("sign", "floor", "round"):
        zero = _const(a, 0)
        return f(name), zero, zero
    if name in ("i0e", "i1e"):
        i0, i1 = f("i0e"), f("i1e")
        sg = _const(a, 1 if a > 0 else -1 if a < 0 else 0)
        d1e = i0 - sg * i1 - (i1 / a if a != 0 else _const(a, 0.5))
        if name == "i0e":
            d = i1 - sg * i0
            return i0, d, d1e - sg * d
        return i1, d1e, _second_by_difference(name, a)
    raise TypeError(f"no dual form of {name}")


def _second_by_difference(name, a):
    """``f″(a)`` by mpmath's numerical differentiation at 64 bits (it only scales a magnitude)."""
    from . import xp

    mpf_fn = {"i1e": lambda x: mpmath.besseli(1, x) * mpmath.exp(-abs(x))}[name]
    with mpmath.workprec(64):
        d = mpmath.diff(mpf_fn, mpmath.mpf(a) if _is_mp(a) else mpmath.mpf(float(a)), 2)
    del xp
    return d if _is_mp(a) else type(a)(float(d))


def apply(name: str, x: Dual) -> Dual:
    """The xp function ``name`` at a dual (the chain rule, with the magnitudes)."""
    return x._chain(*_derivatives(name, x.a))


# ---- arrays of duals

def is_dual_array(x) -> bool:
    """True for an object array whose first element is a Dual (the tape's arrays hold one kind)."""
    if getattr(getattr(x, "dtype", None), "kind", None) != "O":
        return isinstance(x, Dual)
    flat = np.asarray(x).reshape(-1)
    return flat.size > 0 and isinstance(flat[0], Dual)


def dual_array(values, tangents, A=None, B=None, number=None) -> np.ndarray:
    """An object array of duals from arrays of values and tangents (and magnitudes: default their absolute
    values); ``number`` casts every component (``mpmath.mpf``; default: the values' own float type)."""
    values = np.asarray(values)
    shape = values.shape
    tangents = np.broadcast_to(np.asarray(tangents), shape)
    A = np.broadcast_to(np.asarray(np.abs(values) if A is None else A), shape)
    B = np.broadcast_to(np.asarray(np.abs(tangents) if B is None else B), shape)
    if number is None:
        kind = values.dtype.type if values.dtype.kind == "f" else np.float64
        number = kind
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = Dual(number(values[idx]), number(tangents[idx]), number(A[idx]), number(B[idx]))
    return out


def _field(x, name, dtype):
    x = np.asarray(x, dtype=object)
    out = np.empty(x.shape, dtype=dtype)
    for idx in np.ndindex(*x.shape):
        e = x[idx]
        while isinstance(e, np.ndarray):  # a 0-d array held as an element (see Dual._lift)
            e = e[()]
        out[idx] = getattr(e, name) if isinstance(e, Dual) else (e if name == "a" else 0 * e if name != "A" else abs(e))
    return out


def values_of(x, dtype=object):
    """The values of an array of duals (plain numbers in it are values with zero tangent)."""
    return _field(x, "a", dtype)


def tangents_of(x, dtype=object):
    """The tangents of an array of duals."""
    return _field(x, "b", dtype)


def magnitudes_of(x, dtype=object):
    """The tangents' magnitudes B of an array of duals."""
    return _field(x, "B", dtype)


def primal(x):
    """``x`` with every tangent dropped (its values as duals of zero tangent): what a rule that treats an operand as a
    constant computes. Planted second-order bugs use it (tests/hvp_mutants.py); the registrations never do."""
    if not is_dual_array(x):
        return x
    arr = np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(*arr.shape):
        e = arr[idx]
        out[idx] = Dual(e.a, e.a * 0, e.A, e.a * 0) if isinstance(e, Dual) else e
    return out
