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
from .dual import Dual, apply

__all__ = ["is_mp", "mp_or_np", "Constant", "cos", "sin", "exp", "log", "sqrt", "cosh", "sinh", "sign", "where",
           "solve", "inv", "det", "cholesky", "eigh", "lu_growth", "solve_triangular",
           "svd", "svdvals", "qr", "float_ufunc", "floor", "round", "erf", "erfc", "digamma", "trigamma", "tanh",
           "log1p", "expm1", "i0e", "i1e"]


def is_mp(x) -> bool:
    """True for an object array (of mpf, or of duals: :mod:`advalidate.dual`) or a bare mpf or dual; False for float
    arrays and scalars."""
    dtype = getattr(x, "dtype", None)  # one attribute look-up on the float path: it runs on every rule call
    return dtype.kind == "O" if dtype is not None else isinstance(x, (mpmath.mpf, Dual))


def mp_or_np(npf, mpf, name: str | None = None):
    """``npf`` on float input (called directly: same values, same observed ufunc); ``mpf`` elementwise on
    object arrays and mpf scalars; on a dual number (:mod:`advalidate.dual`) of an object array, the function
    ``name`` of this namespace with its tangent (the chain rule)."""
    if name is None:
        ufunc = np.frompyfunc(mpf, 1, 1)
    else:
        ufunc = np.frompyfunc(lambda e: apply(name, e) if isinstance(e, Dual) else mpf(e), 1, 1)
    return lambda x: ufunc(x) if is_mp(x) else npf(x)


class Constant:
    """A constant with a float value (what the float rules use, unchanged) and an mpmath form, evaluated at
    the working precision when a rule runs on mpf values."""

    def __init__(self, value: float, mp: Callable[[], mpmath.mpf]):
        self.value, self.mp = value, mp

    def like(self, x):
        """The constant in the number system of ``x``."""
        return self.mp() if is_mp(x) else self.value


cos = mp_or_np(np.cos, mpmath.cos, "cos")
sin = mp_or_np(np.sin, mpmath.sin, "sin")
exp = mp_or_np(np.exp, mpmath.exp, "exp")
log = mp_or_np(np.log, mpmath.log, "log")
sqrt = mp_or_np(np.sqrt, mpmath.sqrt, "sqrt")
cosh = mp_or_np(np.cosh, mpmath.cosh, "cosh")
sinh = mp_or_np(np.sinh, mpmath.sinh, "sinh")
sign = mp_or_np(np.sign, mpmath.sign, "sign")
where = np.where  # works on object arrays as it is (conditions from comparisons are bool arrays)


# ---- linear algebra (square matrices): NumPy's LAPACK calls on float arrays (the calls the work counter charges,
# advalidate.counting._OPAQUE), mpmath's matrix routines on object arrays of mpf at the working precision

def _mp_matrix(a):
    return mpmath.matrix(np.asarray(a, dtype=object).tolist())


def _from_mp(m, shape) -> np.ndarray:
    return np.array(m.tolist(), dtype=object).reshape(shape)


def _lu(a):
    """Gaussian elimination with partial pivoting, ``A[perm] = L·U``, on float or object arrays: (perm, L, U, sign
    of the permutation). No tolerance: only an exactly zero pivot column is skipped (mpmath's own LU calls a pivot
    below ‖A‖·2^-prec singular, so its det is 0 and its solve refuses a nonsingular matrix with tiny entries,
    diag(1e-300, 1) at 53 bits)."""
    mp = is_mp(a)
    u = np.array(a, dtype=object if mp else np.float64)
    n = u.shape[0]
    zero = mpmath.mpf(0) if mp else 0.0
    lower = np.array([[mpmath.mpf(int(i == j)) if mp else float(i == j) for j in range(n)] for i in range(n)],
                     dtype=u.dtype).reshape(n, n)
    perm, sign = list(range(n)), 1
    for k in range(n):
        p = k + max(range(n - k), key=lambda i: abs(u[k + i, k]))
        if p != k:
            u[[k, p]] = u[[p, k]]
            lower[[k, p], :k] = lower[[p, k], :k]
            perm[k], perm[p] = perm[p], perm[k]
            sign = -sign
        if u[k, k] == zero:
            continue
        for i in range(k + 1, n):
            lower[i, k] = u[i, k] / u[k, k]
            u[i, k:] = u[i, k:] - lower[i, k] * u[k, k:]
            u[i, k] = zero
    return perm, lower, u, sign


def _mp_solve(a, b):
    perm, lower, upper, _ = _lu(a)
    if any(upper[k, k] == 0 for k in range(upper.shape[0])):
        raise ZeroDivisionError("singular matrix")
    y = solve_triangular(lower, np.asarray(b, dtype=object)[perm])
    return solve_triangular(upper, y, lower=False)


def solve(a, b):
    """``a⁻¹ b`` for a square ``a`` and ``b`` of shape (n,) or (n, k) (mpf: LU with partial pivoting, exact zero
    pivots refused with ZeroDivisionError)."""
    if not (is_mp(a) or is_mp(b)):
        return np.linalg.solve(a, b) if np.ndim(b) == 2 else np.linalg.solve(a, b[:, None])[:, 0]
    return _mp_solve(np.asarray(a, dtype=object), np.asarray(b, dtype=object))


def inv(a):
    """``a⁻¹``."""
    if not is_mp(a):
        return np.linalg.inv(a)
    n = np.shape(a)[0]
    eye = np.array([[mpmath.mpf(int(i == j)) for j in range(n)] for i in range(n)], dtype=object).reshape(n, n)
    return _mp_solve(np.asarray(a, dtype=object), eye)


def det(a):
    """``det a`` (a 0-d array of the operand's kind)."""
    if not is_mp(a):
        return np.linalg.det(a)
    _, _, upper, sign = _lu(a)
    out = mpmath.mpf(sign)
    for k in range(upper.shape[0]):
        out *= upper[k, k]
    return np.asarray(out, dtype=object)


def cholesky(a):
    """The lower Cholesky factor of a symmetric positive definite ``a`` (reads its lower triangle)."""
    if not is_mp(a):
        return np.linalg.cholesky(a)
    return _from_mp(mpmath.cholesky(_mp_matrix(a)), np.shape(a))


def eigh(a):
    """``(eigenvalues ascending, eigenvectors as columns)`` of a symmetric ``a`` (mpmath: ``eigsy``, Jacobi)."""
    if not is_mp(a):
        return np.linalg.eigh(a)
    n = np.shape(a)[0]
    w, v = mpmath.eigsy(_mp_matrix(a))
    order = sorted(range(n), key=lambda i: w[i])
    lam = np.array([w[i] for i in order], dtype=object)
    vecs = np.array([[v[r, i] for i in order] for r in range(n)], dtype=object).reshape(n, n)
    return lam, vecs


def lu_growth(a):
    """``Pᵀ|L||U|`` of Gaussian elimination with partial pivoting, ``PA = LU``: the matrix that bounds the backward
    error of an LU-based solve, inverse or determinant componentwise, ``|ΔA| <= γ_3n Pᵀ|L||U|`` (Higham, *Accuracy
    and Stability of Numerical Algorithms*, 2nd ed., Thm 9.3-9.4). It is >= |a| entrywise, and equal to it when
    no entry grows during the elimination."""
    perm, lower, upper, _ = _lu(a)
    grown = np.abs(lower) @ np.abs(upper)
    out = np.empty_like(grown)
    out[perm] = grown
    return out


def solve_triangular(t, b, lower=True):
    """``t⁻¹ b`` for a triangular ``t`` (lower or upper; the other triangle is not read) by substitution, written
    with NumPy operations that run on float and object arrays alike: its work is observed as it runs, n² per
    right-hand side column (a row's dot product, a subtraction and a division)."""
    n = np.shape(t)[0]
    x = np.zeros_like(b)
    rows = range(n) if lower else range(n - 1, -1, -1)
    for i in rows:
        done = slice(0, i) if lower else slice(i + 1, n)
        x[i] = (b[i] - t[i, done] @ x[done]) / t[i, i]
    return x


# ---- issue 16: linear algebra: singular values and QR (m×n with m >= n for qr; any m×n for the SVD)

def svd(a):
    """The thin SVD ``(U, s, Vᵀ)`` of an m×n ``a``: k = min(m, n) singular values descending, U m×k, Vᵀ k×n (mpf:
    mpmath's ``svd_r``, sorted)."""
    if not is_mp(a):
        return np.linalg.svd(a, full_matrices=False)
    m, n = np.shape(a)
    k = min(m, n)
    u, s, vt = mpmath.svd_r(_mp_matrix(a), full_matrices=False, compute_uv=True)
    order = sorted(range(k), key=lambda i: -s[i])
    u = np.array([[u[r, i] for i in order] for r in range(m)], dtype=object).reshape(m, k)
    vt = np.array([[vt[i, c] for c in range(n)] for i in order], dtype=object).reshape(k, n)
    return u, np.array([s[i] for i in order], dtype=object), vt


def svdvals(a):
    """The singular values of an m×n ``a``, descending (float: LAPACK without U and V, the call the counters charge
    as such)."""
    if not is_mp(a):
        return np.linalg.svd(a, compute_uv=False)
    s = mpmath.svd_r(_mp_matrix(a), compute_uv=False)
    return np.array(sorted((s[i] for i in range(len(s))), reverse=True), dtype=object)


def qr(a):
    """The reduced QR factorisation ``(Q, R)`` of an m×n ``a``, m >= n: Q m×n with orthonormal columns, R n×n upper
    triangular, both in the signs the algorithm leaves (Householder: LAPACK's, or mpmath's ``qr`` at the working
    precision)."""
    if not is_mp(a):
        return np.linalg.qr(a)
    m, n = np.shape(a)
    # Householder's entries are exact to 2^-prec of the column norms, not of themselves (Q[0, 0] = -a00/|a0| is
    # 1 - (a00 + |a0|)/|a0| in the reflection): a column [5.1e-316, 8.3e-317, 0.40, 1.5] left Q[0, 0] = 0 at 256 bits
    # for 3.3e-316, so a kink of i0e(Q) there was "exactly on it". As many more bits as the entries' exponents
    # spread keep every entry's own digits
    mags = [mpmath.mag(v) for v in np.asarray(a, dtype=object).reshape(-1) if v]
    spread = max(mags) - min(mags) if mags else 0
    with mpmath.workprec(mpmath.mp.prec + spread):
        q, r = mpmath.qr(_mp_matrix(a), mode="skinny")
        q, r = _from_mp(q, (m, n)), _from_mp(r, (n, n))
    zero = mpmath.mpf(0)
    for i in range(n):  # mpmath leaves rounding residue below the diagonal of its Householder R: exactly 0
        r[i, :i] = zero
    return q, r


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


floor = mp_or_np(np.floor, mpmath.floor, "floor")
round = mp_or_np(np.round, mpmath.nint, "round")  # noqa: A001  half to even, as np.round and mpmath.nint
erf = mp_or_np(float_ufunc(math.erf), mpmath.erf, "erf")
erfc = mp_or_np(float_ufunc(math.erfc), mpmath.erfc, "erfc")
digamma = mp_or_np(float_ufunc(scalar_forms.digamma), mpmath.digamma, "digamma")
trigamma = mp_or_np(float_ufunc(scalar_forms.trigamma), lambda x: mpmath.psi(1, x), "trigamma")
tanh = mp_or_np(np.tanh, mpmath.tanh, "tanh")
log1p = mp_or_np(np.log1p, mpmath.log1p, "log1p")
expm1 = mp_or_np(np.expm1, mpmath.expm1, "expm1")


# ---- issue 16: bessel (exponentially scaled modified Bessel functions of the first kind)
i0e = mp_or_np(float_ufunc(scalar_forms.i0e), lambda x: mpmath.besseli(0, x) * mpmath.exp(-abs(x)), "i0e")
i1e = mp_or_np(float_ufunc(scalar_forms.i1e), lambda x: mpmath.besseli(1, x) * mpmath.exp(-abs(x)), "i1e")
