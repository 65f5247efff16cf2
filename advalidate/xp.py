"""Array functions for formulas that run on float arrays and on object arrays of mpmath numbers.

The reference VJP rules (and the catalogue's gap functions) are written once and run in two ways: on float
arrays, as the NumPy reference tape (the values and the work a float backend is held to), and on object
arrays of ``mpf``, at high precision (the error model's test that a formula is right, not only that it lost
digits). NumPy's arithmetic, comparisons, ``abs``, ``where``, reductions, ``matmul``, ``cumprod`` and every
structural function already work on object arrays; its transcendental ufuncs do not (they look for an
``exp`` method on each element). This namespace supplies those: each function hands a float array to the
NumPy ufunc itself — the same values, and the same call the work counter observes — and an object array (or
a bare ``mpf``, what NumPy returns for a 0-d object result) to the mpmath function, elementwise, at the
working precision.

Write a rule against it: ``lambda g, ans, x: g * xp.cos(x)``. A constant that is not exact in binary
(``log(2/sqrt(pi))``) is a :class:`Constant`, its float value for float arrays and its mpmath value at the
working precision for mpf arrays (a float64 constant would cap the mpmath run at 53 bits).
"""

from __future__ import annotations

import math
from typing import Callable

import mpmath
import numpy as np

from . import scalar_forms

__all__ = ["is_mp", "mp_or_np", "Constant", "cos", "sin", "exp", "log", "sqrt", "cosh", "sinh", "sign", "where",
           "float_ufunc", "floor", "round", "erf", "erfc", "digamma", "trigamma", "tanh", "log1p", "expm1"]


def is_mp(x) -> bool:
    """True for an object array (of mpf) or a bare mpf; False for float arrays and scalars."""
    dtype = getattr(x, "dtype", None)  # one attribute look-up on the float path: it runs on every rule call
    return dtype.kind == "O" if dtype is not None else isinstance(x, mpmath.mpf)


def mp_or_np(npf, mpf):
    """``npf`` on float input (called directly: same values, same observed ufunc); ``mpf`` elementwise on
    object arrays and mpf scalars."""
    ufunc = np.frompyfunc(mpf, 1, 1)
    return lambda x: ufunc(x) if is_mp(x) else npf(x)


class Constant:
    """A constant with a float value (what the float rules use, unchanged) and an mpmath form, evaluated at
    the working precision when a rule runs on mpf values."""

    def __init__(self, value: float, mp: Callable[[], mpmath.mpf]):
        self.value, self.mp = value, mp

    def like(self, x):
        """The constant in the number system of ``x``."""
        return self.mp() if is_mp(x) else self.value


cos = mp_or_np(np.cos, mpmath.cos)
sin = mp_or_np(np.sin, mpmath.sin)
exp = mp_or_np(np.exp, mpmath.exp)
log = mp_or_np(np.log, mpmath.log)
sqrt = mp_or_np(np.sqrt, mpmath.sqrt)
cosh = mp_or_np(np.cosh, mpmath.cosh)
sinh = mp_or_np(np.sinh, mpmath.sinh)
sign = mp_or_np(np.sign, mpmath.sign)
where = np.where  # works on object arrays as it is (conditions from comparisons are bool arrays)


# ---- issue 16: elementwise, activations, special functions


def float_ufunc(scalar):
    """A dtype-preserving float form from a scalar function of Python floats (``math.erf``): ``np.frompyfunc``
    (a ufunc, so the work counter sees it), its object result cast back to the operand's float dtype."""
    ufunc = np.frompyfunc(scalar, 1, 1)

    def form(x):
        out = ufunc(x)
        # frompyfunc returns a Python float for 0-d input
        return out.astype(x.dtype) if isinstance(out, np.ndarray) else np.asarray(out, dtype=np.asarray(x).dtype)

    form.__name__ = getattr(scalar, "__name__", "float_ufunc")
    return form


floor = mp_or_np(np.floor, mpmath.floor)
round = mp_or_np(np.round, mpmath.nint)  # noqa: A001  half to even, as np.round and mpmath.nint
erf = mp_or_np(float_ufunc(math.erf), mpmath.erf)
erfc = mp_or_np(float_ufunc(math.erfc), mpmath.erfc)
digamma = mp_or_np(float_ufunc(scalar_forms.digamma), mpmath.digamma)
trigamma = mp_or_np(float_ufunc(scalar_forms.trigamma), lambda x: mpmath.psi(1, x))
tanh = mp_or_np(np.tanh, mpmath.tanh)
log1p = mp_or_np(np.log1p, mpmath.log1p)
expm1 = mp_or_np(np.expm1, mpmath.expm1)
