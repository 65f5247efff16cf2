"""Linear algebra: ``matmul`` of 1-D or 2-D operands."""

from __future__ import annotations

import numpy as np

from . import shapes
from ._forms import sum_of_terms
from .primitive import Draw, Primitive
from .registry import register


def grad_matmul_a(g, ans, a, b):
    if b.ndim == 1:
        return np.multiply.outer(g, b) if a.ndim == 2 else g * b
    return np.matmul(g, b.T) if a.ndim == 2 else np.matmul(b, g)


def grad_matmul_b(g, ans, a, b):
    if a.ndim == 1:
        return np.multiply.outer(a, g) if b.ndim == 2 else g * a
    return np.matmul(a.T, g) if b.ndim == 2 else np.matmul(g, a)


register(Primitive(
    "matmul", 2, "linalg", shapes.matmul, np.matmul, np.matmul, doc="1-D or 2-D operands",
    vjp=(grad_matmul_a, grad_matmul_b),
    jvp=lambda ts, ans, a, b: np.matmul(ts[0], b) + np.matmul(a, ts[1]),
    # the sums inside the rules mix signs: |J|^T |v| takes absolute values of the factors first
    magnitude=(lambda g, ans, a, b: grad_matmul_a(g, ans, np.abs(a), np.abs(b)),
               lambda g, ans, a, b: grad_matmul_b(g, ans, np.abs(a), np.abs(b))),
    rounding=lambda value, args, params: sum_of_terms(value, args, params, np.matmul),
    draw=Draw(simplicity=20, rule="matmul", ranks=lambda max_dims: (1, min(2, max_dims)), rank_text="1 or 2"),
    example=lambda shape: ([shape, shape[::-1]], {})))


# ---- issue 16: linear algebra factorisations and solves
#
# Square operands n×n (n >= 1, rank 2, no batching), drawn by the square-matrix samplers of
# :mod:`advalidate.primitives.operands` (well-conditioned, symmetric positive definite, symmetric with gapped
# eigenvalues). Symmetric-input operations (``cholesky``, ``eigvalsh``) are functions of ``sym(A) = (A + Aᵀ)/2``:
# that is JAX's documented semantics (``symmetrize_input=True``), torch and autograd read one triangle, so their
# templates symmetrize explicitly; a derivative with respect to a symmetric input is only defined up to its
# skew part, and through ``sym`` every library's answer is comparable.
#
# The error-model facts (``rounding``: forward values; ``magnitude``: the scale of the VJP's own rounding) are the
# componentwise backward-error bounds of the factorisations (Higham, *Accuracy and Stability of Numerical
# Algorithms*, 2nd ed.): an LU-based solve, inverse or determinant is exact for A + ΔA with
# |ΔA| <= γ_3n·G, G = Pᵀ|L||U| (:func:`advalidate.xp.lu_growth`, >= |A|), so the solve's error is
# <= γ_3n·|A⁻¹|·G·|x| — the condition number enters through |A⁻¹|·G, no constant is tuned; Cholesky is exact
# for A + ΔA with |ΔA| <= γ_(n+1)·|L||Lᵀ| (Thm 10.3); a symmetric eigensolver's eigenvalues move by at most
# p(n)·u·‖A‖ (Weyl), its eigenvectors by that over the gap to the other eigenvalues. The γ_k = k·u constants
# (k <= 3n = 12 for the n <= 4 of the default strategies) are within the error model's K·(n + 1) >= 64.
#
# Work (unit costs, charged by every counter: advalidate.counting, cost.jaxpr, cost.dispatch): an LU
# factorisation 2n³/3, a triangular solve n² per right-hand side column (a solve: LU plus two of them), an
# inverse 2n³, a Cholesky factorisation n³/3, a symmetric eigensolver 9n³ with eigenvectors and 4n³/3 without
# (Golub and Van Loan, *Matrix Computations*, 4th ed., §8.3), determinants LU plus n.

import mpmath  # noqa: E402

from .. import xp  # noqa: E402
from ._forms import unit_roundoff_of  # noqa: E402
from .operands import POS_DIAGONAL, SINGULAR_GAPPED, SPD, SYMMETRIC_GAPPED, WELL_CONDITIONED  # noqa: E402
from .primitive import ShapeError  # noqa: E402

_NAN = mpmath.mpf("nan")


def _sym(a):
    return (a + a.T) / 2


def _f64(a):
    return np.array(a, dtype=np.float64)


def _check_square(a, what="operand"):
    if len(a) != 2 or a[0] != a[1] or a[0] == 0:
        raise ShapeError(f"the {what} must be a non-empty square matrix, got shape {tuple(a)}")
    return a[0]


def _square(result):
    """A shape rule for one square operand: ``result(n)`` is the result's shape."""
    def rule(shapes):
        (a,) = shapes
        return tuple(result(_check_square(a)))
    return rule


def _solve_shape(shapes, **_):
    a, b = shapes
    n = _check_square(a, "matrix")
    if not 1 <= len(b) <= 2 or b[0] != n:
        raise ShapeError(f"the right-hand side must have shape ({n},) or ({n}, k), got {tuple(b)}")
    return tuple(b)


def _refusing(form, shape):
    """An mpmath form that gives NaN where mpmath refuses the matrix (singular, not positive definite; mpmath's
    pivot search raises TypeError on a zero column): outside the domain, as the oracle expects."""
    def run(*args):
        try:
            return form(*args)
        except (ZeroDivisionError, ValueError, TypeError):
            return np.full(shape(*args), _NAN, dtype=object)
    return run


def _float_refusing(form, shape):
    """A float form that gives NaN where LAPACK refuses the matrix (singular, not positive definite), as NumPy's
    elementwise functions do outside their domain, instead of raising."""
    def run(*args):
        try:
            return form(*args)
        except np.linalg.LinAlgError:
            return np.full(shape(*args), np.nan, dtype=np.result_type(*args))
    return run


def _square_example(shape):
    return [(shape[0], shape[0])], {}


def _draw(simplicity):
    return Draw(simplicity=simplicity, rule="square", ranks=lambda max_dims: (2, min(2, max_dims)), rank_text="2", nonempty=True)


def _invertible(a, *_):
    """The domain gap of an inverse: 1/κ₂(A) = σ_min/σ_max (0 when singular), from float64 values."""
    s = np.linalg.svd(_f64(a), compute_uv=False)
    return np.asarray(s[-1] / s[0] if s[0] > 0 else 0.0)


def _inv_abs(a):
    """|A⁻¹|, infinite where A is exactly singular (a bound that says nothing there, rather than an error)."""
    try:
        return np.abs(xp.inv(a))
    except (np.linalg.LinAlgError, ZeroDivisionError, TypeError):
        return np.full(np.shape(a), mpmath.inf if xp.is_mp(a) else np.inf, dtype=object if xp.is_mp(a) else float)


def _amplified(a):
    """``|A⁻¹|·G·|A⁻¹|`` (G: :func:`advalidate.xp.lu_growth`): what an LU-based inverse's error is bounded by,
    γ_3n times it (>= |A⁻¹| entrywise)."""
    y = _inv_abs(a)
    m = y @ xp.lu_growth(a) @ y
    return np.where(m != m, np.inf, m)  # inf·0 where A is (numerically) singular: no bound there, not NaN


# -- solve: x = A⁻¹ b

def _solve_vjp(g, x, a, b):
    gb = xp.solve(a.T, g)
    return -(np.multiply.outer(gb, x) if np.ndim(x) == 1 else gb @ x.T), gb


def _solve_magnitude(g, x, a, b):
    # b̄ = A⁻ᵀ ḡ by the transposed LU: error <= γ_3n |A⁻ᵀ| Gᵀ |b̄| <= γ_3n |A⁻ᵀ| Gᵀ |A⁻ᵀ| |ḡ|; Ā = -b̄ xᵀ
    y = _inv_abs(a).T
    gb = y @ (xp.lu_growth(a).T @ (y @ g))
    return (np.multiply.outer(gb, np.abs(x)) if np.ndim(x) == 1 else gb @ np.abs(x).T), gb


def _solve_rounding(x, args, params):
    a = _f64(args[0])
    n = a.shape[0]
    return 3 * n * unit_roundoff_of(x) * (_inv_abs(a) @ xp.lu_growth(a) @ np.abs(_f64(x)))


register(Primitive(
    "solve", 2, "linalg", _solve_shape, _float_refusing(xp.solve, lambda a, b: np.shape(b)),
    _refusing(xp.solve, lambda a, b: np.shape(b)),
    domain=_invertible, doc="A⁻¹ b for a square A and b of shape (n,) or (n, k) (LU with partial pivoting)",
    vjp=_solve_vjp, jvp=lambda ts, x, a, b: xp.solve(a, ts[1] - ts[0] @ x),
    operands=(WELL_CONDITIONED,), magnitude=_solve_magnitude, rounding=_solve_rounding, draw=_draw(60),
    constant=lambda same, args, shapes, params: same(args[0], args[1]),  # A⁻¹A = I
    example=lambda shape: ([(shape[0], shape[0]), (shape[0], shape[-1])], {})))


# -- inv: Y = A⁻¹

def _inv_magnitude(g, y, a):
    m = _amplified(a).T
    return m @ g @ m


register(Primitive(
    "inv", 1, "linalg", _square(lambda n: (n, n)), _float_refusing(xp.inv, lambda a: np.shape(a)),
    _refusing(xp.inv, lambda a: np.shape(a)),
    domain=_invertible, doc="the inverse of a square matrix",
    vjp=(lambda g, y, a: -(y.T @ g @ y.T),), jvp=lambda ts, y, a: -(y @ ts[0] @ y),
    operands=(WELL_CONDITIONED,), magnitude=(_inv_magnitude,),
    rounding=lambda y, args, params: 3 * len(y) * unit_roundoff_of(y) * _f64(_amplified(_f64(args[0]))),
    draw=_draw(61), example=_square_example))


# -- det and slogdet

def _adjugate_t(a, d):
    """``adj(A)ᵀ``: det(A)·A⁻ᵀ where A is invertible and A⁻¹ finite (in logarithms where det(A) underflows); where the
    inverse fails (an exactly singular A) or overflows (a determinant below 1/max: subnormal entries), the cofactors
    themselves, ``(-1)^(i+j)·det(A without row i and column j)``: a polynomial in A with no division, each computed
    on its own minor, so a tiny cofactor keeps its digits (an SVD's ``U·diag(Π_(j≠i) σ_j)·Vᵀ`` has an error of
    u·σ₁σ₂ in every entry: -3.2e-17 for an exact cofactor of -3.8e-317 beside subnormal columns)."""
    try:
        y = xp.inv(a)
        if xp.is_mp(a):
            return d * y.T
        if np.isfinite(np.asarray(y)).all():  # a plain view: the check is not the rule's work
            if abs(float(np.asarray(d))) >= np.finfo(np.asarray(y).dtype).tiny:
                return d * y.T
            # det(A) underflowed (0 or subnormal: a product of tiny pivots) while the cofactors det·A⁻¹ are
            # representable (subnormal entries): the product in logarithms, sign·exp(log|det| + log|A⁻¹|), keeps
            # them (the plain product gave 0 for cofactors ~1e-308 at a 4×4 with a tiny column)
            sign, logdet = np.linalg.slogdet(np.asarray(a))
            if sign == 0:
                raise np.linalg.LinAlgError("singular")
            yt = np.asarray(y).T
            with np.errstate(divide="ignore"):
                return sign * np.sign(yt) * np.exp(logdet + np.log(np.abs(yt)))
    except (np.linalg.LinAlgError, ZeroDivisionError, TypeError):
        pass
    return _cofactors(a)


def _cofactors(a):
    """The cofactor matrix of a square ``a`` (= adj(A)ᵀ), each entry the signed determinant of its minor."""
    a = a if xp.is_mp(a) else np.asarray(a)
    n = a.shape[0]
    if n == 1:
        return np.ones((1, 1), dtype=a.dtype)
    out = np.empty((n, n), dtype=a.dtype)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            out[i, j] = (-1) ** (i + j) * xp.det(minor)[()]
    return out


def _det_rounding(d, args, params):
    # the LU's backward error, |Δdet| <= γ_3n·|det|·Σ|A⁻ᵀ|∘G; and the exponential of a log-determinant (NumPy's det
    # is sign·exp(Σ log|u_ii|), which keeps the product of the pivots from overflowing): u·|log|det|| relative
    a = _f64(args[0])
    y = _inv_abs(a)
    size = np.abs(_f64(d))
    with np.errstate(divide="ignore"):
        logs = np.abs(np.log(size)) if size > 0 else 0.0
    return unit_roundoff_of(d) * size * (3 * a.shape[0] * np.sum(y.T * xp.lu_growth(a)) + logs)


register(Primitive(
    "det", 1, "linalg", _square(lambda n: ()), xp.det, xp.det,
    doc="the determinant (LU with partial pivoting); its derivative is the adjugate, det(A)·A⁻ᵀ",
    vjp=(lambda g, d, a: g * _adjugate_t(a, d),), jvp=lambda ts, d, a: np.sum(_adjugate_t(a, d) * ts[0]),
    operands=(WELL_CONDITIONED,), magnitude=(lambda g, d, a: g * np.abs(d) * _amplified(a).T,),
    rounding=_det_rounding, draw=_draw(62), example=_square_example))


def _logabsdet(a):
    return np.linalg.slogdet(a)[1]


def _mp_logabsdet(a):
    return np.asarray(mpmath.log(abs(xp.det(a).item())), dtype=object)


def _slogdet_rounding(value, args, params):
    a = _f64(args[0])
    return 3 * a.shape[0] * unit_roundoff_of(value) * np.sum(_inv_abs(a).T * xp.lu_growth(a))


register(Primitive(
    "slogdet", 1, "linalg", _square(lambda n: ()), _logabsdet, _refusing(_mp_logabsdet, lambda a: ()),
    domain=_invertible, doc="log|det A| (the log-magnitude of slogdet; its sign is piecewise constant)",
    vjp=(lambda g, l, a: g * xp.inv(a).T,), jvp=lambda ts, l, a: np.sum(xp.inv(a).T * ts[0]),
    operands=(WELL_CONDITIONED,), magnitude=(lambda g, l, a: g * _amplified(a).T,),
    rounding=_slogdet_rounding, draw=_draw(63), example=_square_example))


# -- cholesky: L lower with L Lᵀ = sym(A)

def _phi(x):
    """The lower triangle with the diagonal halved (Murray, arXiv:1602.07527)."""
    return np.tril(x) - np.diag(np.diag(x)) / 2


def _chol_vjp(g, l, a):
    z = xp.solve_triangular(l.T, _phi(l.T @ g), lower=False)  # L⁻ᵀ Φ(Lᵀ Ḡ)
    return _sym(xp.solve_triangular(l.T, z.T, lower=False).T)  # ... L⁻¹, symmetrized


def _chol_jvp(ts, l, a):
    y = xp.solve_triangular(l, xp.solve_triangular(l, _sym(ts[0])).T)  # L⁻¹ sym(dA) L⁻ᵀ
    return l @ _phi(y)


def _positive_definite(a, *_):
    """λ_min(sym A)/max|λ| (<= 0: not positive definite), from float64 values."""
    lam = np.linalg.eigvalsh(_sym(_f64(a)))
    return np.asarray(lam[0] / np.max(np.abs(lam)) if np.max(np.abs(lam)) > 0 else 0.0)


def _chol_rounding(l, args, params):
    # L̂ L̂ᵀ = A + ΔA, |ΔA| <= γ_(n+1) |L̂||L̂ᵀ|; ΔL = L Φ(L⁻¹ ΔA L⁻ᵀ)
    L = np.abs(_f64(l))
    li = _inv_abs(_f64(l))
    return (L.shape[0] + 1) * unit_roundoff_of(l) * (L @ np.tril(li @ L @ L.T @ li.T))


def _chol_magnitude(g, l, a):
    # two triangular solves with L (each: error <= γ_n |L⁻¹||L||result|), Φ(Lᵀ Ḡ) between them
    L = np.abs(l)
    li = np.abs(xp.inv(l))
    amp = li @ L @ li
    m = amp.T @ np.tril(L.T @ g) @ amp
    return _sym(m)


register(Primitive(
    "cholesky", 1, "linalg", _square(lambda n: (n, n)),
    _float_refusing(lambda a: np.linalg.cholesky(_sym(a)), lambda a: np.shape(a)),
    _refusing(lambda a: xp.cholesky(_sym(a)), lambda a: np.shape(a)),
    domain=_positive_definite,
    doc="the lower Cholesky factor of sym(A) = (A + Aᵀ)/2 (symmetric positive definite)",
    vjp=(_chol_vjp,), jvp=_chol_jvp, operands=(SPD,), magnitude=(_chol_magnitude,), rounding=_chol_rounding,
    # of an SPD operand (eigenvalues >= 1/2): L_ii >= 1/√2 and κ(L) = √κ(A), a well-conditioned triangle
    props=lambda a, params, shapes: {WELL_CONDITIONED.flag, POS_DIAGONAL} if SPD.flag in a[0] else set(),
    # the forward is n³/3 (and the symmetrization's 2n²); a VJP adds Lᵀ·Ḡ as a dense product (2n³) and two
    # triangular solves with n right-hand sides (2n³): (1/3 + 4)n³ = 13 factorisations, plus O(n²)
    omega=13.0, draw=_draw(64), example=_square_example))


# -- eigvalsh: the eigenvalues of sym(A), ascending

def _eig_gaps(a, *_):
    """The gaps between consecutive eigenvalues (0 at a repeated one: the kink): exact on mpf values (the eigenvalues
    of sym(A) in mpmath), so that a gap below float64's resolution (a ± 5.6e-18 at a = 0.27: 0 from LAPACK) is still
    seen, and the reflection across it (check.py) has a squared gap to follow; from float64 values otherwise."""
    if xp.is_mp(a):
        return np.diff(xp.eigh(_sym(a))[0])
    return np.diff(np.linalg.eigvalsh(_sym(_f64(a))))


def _eig_vjp(g, lam, a):
    v = xp.eigh(_sym(a))[1]
    return (v * g) @ v.T


def _eig_jvp(ts, lam, a):
    v = xp.eigh(_sym(a))[1]
    return np.sum(v * (_sym(ts[0]) @ v), axis=0)


def _eig_magnitude(g, lam, a):
    # V diag(ḡ) Vᵀ with V from a backward-stable eigensolver: the eigenvectors are those of sym(A) + E with
    # ‖E‖ <= p(n)·u·‖A‖, which moves V diag(ḡ) Vᵀ by sum_(i != j) (ḡ_i - ḡ_j)/(λ_i - λ_j)·(vᵢᵀ E vⱼ)·sym(vᵢ vⱼᵀ)
    s = _sym(a)
    w, v = xp.eigh(s)
    out = np.abs(v) @ (g[:, None] * np.abs(v).T)
    n = len(w)
    pairs = [(g[i] + g[j]) / abs(w[i] - w[j]) for i in range(n) for j in range(i + 1, n) if w[i] != w[j]]
    if pairs:
        norm = xp.sqrt(np.sum(s * s))
        out = out + norm * max(pairs)
    return out


register(Primitive(
    "eigvalsh", 1, "linalg", _square(lambda n: (n,)), lambda a: np.linalg.eigvalsh(_sym(a)),
    lambda a: xp.eigh(_sym(a))[0], kink=_eig_gaps,
    doc="the eigenvalues of sym(A), ascending; a repeated eigenvalue is a kink (the gap to the next one is 0)",
    vjp=(_eig_vjp,), jvp=_eig_jvp, operands=(SYMMETRIC_GAPPED,), magnitude=(_eig_magnitude,),
    kink_is_value_gap=True,  # the eigensolver's own rounding may close a gap between eigenvalues (check.py)
    # Weyl: |Δλ| <= ‖ΔA‖₂ with the Householder eigensolver's backward error ‖ΔA‖ <= p(n)·u·‖A‖, p(n) = n² (the
    # rigorous order: n Householder reflections of γ_cn each, Higham 2002 §19.3); p(n) = n was exceeded by
    # NumPy's own eigvalsh on gapped 4×4 samples (1.07× the bound)
    rounding=lambda lam, args, params: len(lam) ** 2 * unit_roundoff_of(lam) * np.sqrt(np.sum(_f64(args[0]) ** 2))
    * np.ones(np.shape(lam)),
    # the eigenvalues alone cost 4n³/3; their VJP needs the eigenvectors (9n³) and V·diag(ḡ)·Vᵀ (2n³):
    # (4/3 + 9 + 2)/(4/3) = 9.25 eigenvalue computations, plus O(n²)
    omega=10.0, draw=_draw(65), example=_square_example))


# -- triangular_solve: x = T⁻¹ b with T the lower (or upper) triangle of the matrix operand

def _triangle(a, lower):
    return np.tril(a) if lower else np.triu(a)


def _tri_vjp(g, x, a, b, lower=True):
    gb = xp.solve_triangular(_triangle(a, lower).T, g, lower=not lower)
    return -_triangle(np.multiply.outer(gb, x) if np.ndim(x) == 1 else gb @ x.T, lower), gb


def _tri_jvp(ts, x, a, b, lower=True):
    return xp.solve_triangular(_triangle(a, lower), ts[1] - _triangle(ts[0], lower) @ x, lower=lower)


def _nonzero_diagonal(a, b):
    """min|a_ii| / max|a_ij| (0: the triangle, either one, is singular: they share the diagonal), from float64."""
    t = np.abs(_f64(a))
    return np.asarray(np.min(np.diag(t)) / np.max(t) if np.max(t) > 0 else 0.0)


def _tri_abs_inv(t, lower):
    """|T⁻¹| for a triangular T, by substitution (the identity's columns), infinite where T is singular."""
    n = np.shape(t)[0]
    eye = np.eye(n) if not xp.is_mp(t) else np.array(
        [[mpmath.mpf(int(i == j)) for j in range(n)] for i in range(n)], dtype=object).reshape(n, n)
    with np.errstate(all="ignore"):
        m = np.abs(xp.solve_triangular(t, eye, lower=lower))
    return np.where(m != m, np.inf, m)


def _tri_magnitude(g, x, a, b, lower=True):
    # substitution is componentwise backward stable, |ΔT| <= γ_n |T| (Higham Thm 8.5): b̄ = T⁻ᵀ ḡ has error
    # <= γ_n |T⁻ᵀ||Tᵀ||b̄| <= γ_n |T⁻ᵀ||Tᵀ||T⁻ᵀ||ḡ|; T̄ = -tri(b̄ xᵀ)
    t = _triangle(a, lower)
    y = _tri_abs_inv(t, lower).T
    gb = y @ (np.abs(t).T @ (y @ g))
    return _triangle(np.multiply.outer(gb, np.abs(x)) if np.ndim(x) == 1 else gb @ np.abs(x).T, lower), gb


def _tri_rounding(x, args, params):
    t = _triangle(_f64(args[0]), params["lower"])
    return t.shape[0] * unit_roundoff_of(x) * (_tri_abs_inv(t, params["lower"]) @ np.abs(t) @ np.abs(_f64(x)))


def _np_tri(a, b, lower=True):
    with np.errstate(all="ignore"):
        return xp.solve_triangular(_triangle(a, lower), b, lower=lower)


def _mp_tri(a, b, lower=True):
    t = _triangle(a, lower)
    if any(t[i, i] == 0 for i in range(t.shape[0])):
        return np.full(np.shape(b), _NAN, dtype=object)
    return xp.solve_triangular(t, b, lower=lower)


register(Primitive(
    "triangular_solve", 2, "linalg", _solve_shape, _np_tri, _mp_tri, params={"lower": True},
    domain=_nonzero_diagonal,
    doc="T⁻¹ b for T the lower (lower=True) or upper triangle of a square matrix (the other triangle is not read)",
    vjp=_tri_vjp, jvp=_tri_jvp, operands=(WELL_CONDITIONED,), magnitude=_tri_magnitude, rounding=_tri_rounding,
    draw=_draw(66), example=lambda shape: ([(shape[0], shape[0]), (shape[0], shape[-1])], {"lower": True})))


# -- sqrtm: a spectral function through eigh, V·diag(√λ)·Vᵀ for a symmetric positive definite sym(A)
#
# Sign-invariant (each eigenvector enters as vᵢvᵢᵀ) and smooth at repeated eigenvalues, where the eigenvectors are
# not: its derivative is the Daleckii-Krein form dS = V (F ∘ (Vᵀ sym(dA) V)) Vᵀ with the divided differences
# F_ij = (√λᵢ - √λⱼ)/(λᵢ - λⱼ) = 1/(√λᵢ + √λⱼ) (1/(2√λᵢ) on the diagonal): no division by an eigenvalue gap. A library
# that differentiates through its eigh meets 1/(λᵢ - λⱼ) instead (0·∞ at a repeated eigenvalue).

def _sqrtm(a):
    w, v = xp.eigh(_sym(a))
    return (v * xp.sqrt(w)) @ v.T


def _np_sqrtm(a):
    with np.errstate(invalid="ignore"):
        return _sqrtm(a)


def _mp_sqrtm(a):
    w, v = xp.eigh(_sym(a))
    if any(x <= 0 for x in w):
        return np.full(np.shape(a), _NAN, dtype=object)
    return (v * xp.sqrt(w)) @ v.T


def _daleckii_krein(a):
    w, v = xp.eigh(_sym(a))
    r = xp.sqrt(w)
    return v, 1 / (r[:, None] + r[None, :])


def _sqrtm_vjp(g, s, a):
    v, f = _daleckii_krein(a)
    return _sym(v @ (f * (v.T @ _sym(g) @ v)) @ v.T)


def _sqrtm_jvp(ts, s, a):
    v, f = _daleckii_krein(a)
    return v @ (f * (v.T @ _sym(ts[0]) @ v)) @ v.T


def _sqrtm_magnitude(g, s, a):
    # the products on absolute values, and the eigendecomposition's backward error: V, λ are exact for
    # sym(A) + E with ‖E‖ <= p(n)·u·‖A‖, which moves the Daleckii-Krein map by at most ‖E‖·‖Ḡ‖ times the second
    # divided differences of √, |√[λᵢ, λⱼ, λₖ]| <= 1/(8 λ_min^(3/2))
    sa = _sym(a)
    v, f = _daleckii_krein(a)
    av = np.abs(v)
    out = av @ (f * (av.T @ g @ av)) @ av.T
    w = xp.eigh(sa)[0]
    lo = min(w)
    if lo > 0:
        norm_a = xp.sqrt(np.sum(sa * sa))
        norm_g = xp.sqrt(np.sum(g * g))
        out = out + norm_a * norm_g / (8 * lo * xp.sqrt(lo))
    return out


def _sqrtm_rounding(s, args, params):
    # ‖ΔS‖ <= ‖E‖·max F = p(n)·u·‖A‖/(2√λ_min) (the Fréchet derivative's norm), entrywise, with eigh's backward
    # error p(n) = n² as eigvalsh's (p(n) = n was exceeded by NumPy's own sqrtm through eigh: 1.39× on SPD 4×4)
    a = _sym(_f64(args[0]))
    lam = np.linalg.eigvalsh(a)
    n = a.shape[0]
    with np.errstate(all="ignore"):
        return n ** 2 * unit_roundoff_of(s) * np.sqrt(np.sum(a * a)) / (2 * np.sqrt(max(lam[0], 0))) * np.ones(np.shape(s))


register(Primitive(
    "sqrtm", 1, "linalg", _square(lambda n: (n, n)), _np_sqrtm, _mp_sqrtm, domain=_positive_definite,
    doc="the principal square root of a symmetric positive definite sym(A), V·diag(√λ)·Vᵀ through eigh",
    vjp=(_sqrtm_vjp,), jvp=_sqrtm_jvp, operands=(SPD,), magnitude=(_sqrtm_magnitude,), rounding=_sqrtm_rounding,
    draw=_draw(67), example=_square_example))


# ---- issue 16: singular values and QR
#
# ``svdvals``: the singular values of an m×n matrix, descending (drawn square, n <= 4, by SINGULAR_GAPPED: gaps
# >= 0.5 between consecutive values and from 0). dσᵢ = uᵢᵀ dA vᵢ for distinct nonzero σᵢ; a repeated singular value
# and a zero one (rank-deficient: σ_min is |.| there) are kinks (the kink gaps are the consecutive differences and
# σ_min). ``qr_r``, ``qr_q``: the reduced QR of an m×n A (m >= n) of full column rank with the signs fixed so that R
# has a non-negative diagonal — R's rows and Q's columns multiplied by s = where(diag R < 0, -1, 1), the same
# composition rendered in every library after its own QR. The sign-fixed factors are unique and smooth wherever A
# has full column rank (diag R never vanishes there, so s is locally constant), so every library's answer is
# comparable with the oracle's (mpmath's Householder ``qr``, sign-fixed alike). Their derivative (X = Qᵀ dA R⁻¹,
# Ω = tril(X, -1) - tril(X, -1)ᵀ): dR = (X - Ω) R, dQ = dA R⁻¹ - Q (X - Ω); the VJPs (Walter, Lehmann and Lamour
# 2012; Seeger et al. 2017): Ā = Q·copyu(R̄ Rᵀ)·R⁻ᵀ for R̄, (Q̄ - Q·copyu(Qᵀ Q̄))·R⁻ᵀ for Q̄, copyu(B) = triu(B) +
# triu(B, 1)ᵀ. Operands: WELL_CONDITIONED (special: near-singular, a zero leading entry).
#
# Error model: Weyl for singular values, |Δσ| <= ‖ΔA‖₂ <= p·u·‖A‖ with p = m·n (as eigvalsh's n²); the singular
# vectors the VJP uses move by that over the gaps |σᵢ - σⱼ| (and σᵢ when m > n). Householder QR is exact for
# A + ΔA with ‖Δaⱼ‖ <= γ_mn‖aⱼ‖ column by column (Higham Thm 19.4), which moves R and Q through the derivative above
# (first order: |X| <= |Qᵀ|·E·|R⁻¹|, E_ij = γ_mn‖aⱼ‖), and Q̂ is γ_mn·√n from orthonormal.
#
# Work (unit costs, every counter): Householder QR 2mn² - 2n³/3 for R, as much again to form the thin Q (LAPACK's
# geqrf and orgqr counts); the singular values alone 4mn² - 4n³/3 (bidiagonalisation), with U and V
# 4m²n + 8mn² + 9n³ (with a thin U at most 14mn² + 8n³; Golub and Van Loan §5.4.5, §8.6): 8n³/3 and 21n³ for n×n.


def _full_column_rank(a, *_):
    """σ_min/σ_max (0: rank-deficient), from float64 values."""
    return _invertible(a)


def _svd_shape(shapes, **_):
    (a,) = shapes
    if len(a) != 2 or 0 in a:
        raise ShapeError(f"the operand must be a non-empty matrix, got shape {tuple(a)}")
    return (min(a),)


def _sv_gaps(a, *_):
    """σ_min and the gaps between consecutive singular values (0 at a zero or repeated one: the kinks), float64."""
    s = np.linalg.svd(_f64(a), compute_uv=False)[::-1]
    return np.concatenate([s[:1], np.diff(s)])


def _sv_vjp(g, s, a):
    u, _, vt = xp.svd(a)
    return (u * g) @ vt


def _sv_jvp(ts, s, a):
    u, _, vt = xp.svd(a)
    return np.sum(u * (ts[0] @ vt.T), axis=0)


_U64 = 2.0 ** -53  # float64's unit roundoff: the magnitude scale is a float64 quantity (errormodel.magnitude)


def _sv_magnitude(g, s, a):
    # U diag(ḡ) Vᵀ with U, V from a backward-stable SVD (exact for A + E, ‖E‖ <= p·u·‖A‖, p = m·n): the singular
    # vectors move by ‖E‖ over the gaps to the other singular values (|σᵢ - σⱼ| <= σᵢ + σⱼ), and uᵢvᵢᵀ flips its sign
    # when E moves σᵢ across 0 (over σᵢ). A gap below the SVD's own resolution p·u·‖A‖ counts as that resolution:
    # there U and V are arbitrary within the (numerically) repeated singular values, and the term, ‖A‖·(ḡᵢ + ḡⱼ)/
    # (p·u·‖A‖), makes the tolerance cover any rotation of them (an error of at most about ḡᵢ + ḡⱼ), not less
    u, w, vt = xp.svd(a)
    out = np.abs(u) @ (g[:, None] * np.abs(vt))
    norm = xp.sqrt(np.sum(a * a))
    resolution = np.prod(np.shape(a)) * _U64 * norm
    if not resolution > 0:
        return out
    k = len(w)
    terms = [(g[i] + g[j]) / max(abs(w[i] - w[j]), resolution) for i in range(k) for j in range(i + 1, k)]
    terms += [g[i] / max(w[i], resolution) for i in range(k)]
    return out + norm * max(terms)


register(Primitive(
    "svdvals", 1, "linalg", _svd_shape, xp.svdvals, xp.svdvals, kink=_sv_gaps,
    doc="the singular values of a matrix, descending; a repeated or a zero singular value is a kink",
    vjp=(_sv_vjp,), jvp=_sv_jvp, operands=(SINGULAR_GAPPED,), magnitude=(_sv_magnitude,),
    rounding=lambda s, args, params: (np.prod(np.shape(args[0])) * unit_roundoff_of(s)
                                      * np.sqrt(np.sum(_f64(args[0]) ** 2)) * np.ones(np.shape(s))),
    # the singular values alone cost 8n³/3; their VJP needs U and V (21n³) and U·diag(ḡ)·Vᵀ (2n³): 8.6 forwards,
    # 9.4 in jax (whose forward under jax.vjp computes U and V, and whose ḡ is scattered into a diagonal matrix
    # multiplied in two products), plus O(n²)
    omega=10.0, draw=_draw(68), example=_square_example))


def _qr_shape(which):
    def rule(shapes, **_):
        (a,) = shapes
        if len(a) != 2 or 0 in a or a[0] < a[1]:
            raise ShapeError(f"the operand must be an m×n matrix with m >= n >= 1, got shape {tuple(a)}")
        return (a[0], a[1]) if which == "q" else (a[1], a[1])
    return rule


def _qr_fixed(a):
    """Reduced (Q, R) with R's diagonal made non-negative: R's rows and Q's columns times where(diag R < 0, -1, 1)."""
    q, r = xp.qr(a)
    neg = np.diagonal(r) < 0
    return np.where(neg, -q, q), np.where(neg[:, None], -r, r)


def _rank_deficient(a, r) -> bool:
    """Whether the mpf matrix ``a`` has a column in the span of the ones before it, read from its R: |R_ii| at the
    rounding noise of Householder QR at the working precision, 2^(8 - prec)·n·‖a_i‖ (a column of exactly repeated
    floats leaves R_ii = 3e-100 at 300 bits, or 0, where the exact value is 0). A column's own norm, not ‖A‖: the
    R of diag(1, 1e-300) is exact and regular. A genuinely regular column that close to the span has cond > 2^120,
    no correct digit in any float implementation: it is outside the domain too."""
    m, n = np.shape(a)
    tol = mpmath.ldexp(n, 8 - mpmath.mp.prec)
    return any(abs(r[i, i]) <= tol * mpmath.sqrt(mpmath.fsum(x * x for x in a[:, i])) for i in range(n))


def _mp_qr(which):
    def form(a):
        q, r = _qr_fixed(a)
        if _rank_deficient(a, r):  # outside the domain: Q's last columns and R's derivative are undefined
            return np.full(np.shape(q if which == "q" else r), _NAN, dtype=object)
        return q if which == "q" else r
    shape = (lambda a: np.shape(a)) if which == "q" else (lambda a: (np.shape(a)[1],) * 2)
    return _refusing(form, shape)


def _np_qr(which):
    def form(a):
        q, r = _qr_fixed(a)
        return q if which == "q" else r
    return form


def _copyu(b):
    """triu(B) + triu(B, 1)ᵀ: the upper triangle mirrored into the lower one."""
    return np.triu(b) + np.triu(b, 1).T


def _times_r_inv_t(y, r):
    """Y·R⁻ᵀ = (R⁻¹ Yᵀ)ᵀ by back substitution."""
    return xp.solve_triangular(r, y.T, lower=False).T


def _power_of_two_exponent(a) -> int:
    """k with 2^k·max|A| in [1, 2) (0 on mpf values, whose exponent range needs none, and for a zero A):
    Q(2^k·A) = Q(A) and R(2^k·A) = 2^k·R(A), exactly, so the rules run on 2^k·A, in range. Unscaled, R⁻¹ of a
    subnormal A (1e-310) overflows inside the back substitution and gives inf - inf where the exact cotangent is
    finite or a signed inf. (An exponent, not a factor: 2^1030 is no float64.)"""
    if xp.is_mp(a):
        return 0
    big = float(np.max(np.abs(a))) if np.size(a) else 0.0
    if not np.isfinite(big) or big == 0:
        return 0
    return int(1 - np.frexp(big)[1])


# The rules take the factor the forward computed (``ans``: R for qr_r, Q for qr_q), as an AD library saves it, and
# the other one from it (Q = A R⁻¹) or recomputed (R): the error model's sensitivity run rounds ``ans`` differently
# and so sees how far the VJP moves with it (with R's signs, Q's). Where the factor has no correct digit in the dtype (float32 R of a matrix with σ_min/σ_max below
# u: LAPACK's R_nn is 0 or noise, 1/R_nn inf) the point is then ill-conditioned, as it is in every implementation.

def _qr_r_vjp(g, ans, a):
    # R(A) = R(2^k A)/2^k: the cotangent is the same at 2^k A
    k = _power_of_two_exponent(a)
    a = np.ldexp(a, k) if k else a
    r = np.ldexp(ans, k) if k else ans
    q = xp.solve_triangular(r.T, a.T, lower=True).T  # Q = A R⁻¹: the Q of this R (its column signs follow R's)
    return _times_r_inv_t(q @ _copyu(g @ r.T), r)


def _qr_q_vjp(g, ans, a):
    # Q(A) = Q(2^k A): the cotangent at A is 2^k times the one at 2^k A (overflowing to a signed inf, not inf - inf)
    k = _power_of_two_exponent(a)
    _, r = _qr_fixed(np.ldexp(a, k) if k else a)
    q = ans
    out = _times_r_inv_t(g - q @ _copyu(q.T @ g), r)
    if not k:
        return out
    with np.errstate(over="ignore"):
        return np.ldexp(out, k)


def _qr_tangents(t, a):
    """(Q, R, dA R⁻¹, X - Ω) of the derivative (module comment above)."""
    q, r = _qr_fixed(a)
    y = xp.solve_triangular(r.T, t.T, lower=True).T  # dA R⁻¹
    x = q.T @ y
    return q, r, y, np.triu(x) + np.tril(x, -1).T


def _qr_r_jvp(ts, ans, a):
    q, r, y, w = _qr_tangents(ts[0], a)
    return w @ r


def _qr_q_jvp(ts, ans, a):
    q, r, y, w = _qr_tangents(ts[0], a)
    return y - q @ w


def _qr_magnitude(which):
    # the rule on absolute values, |R⁻¹| for the back substitution (its own rounding, γ_n·|R⁻¹||R| relative to the
    # result, is within the K·(n + 1) of the tolerance where R is well-conditioned; where it is not, the sensitivity
    # run, which rounds the forward's factor differently, sees the VJP move: an ill-conditioned point, judged by no one)
    def rule(g, ans, a):
        q, r = _qr_fixed(a)
        aq, ar = np.abs(q), np.abs(r)
        ri = _tri_abs_inv(r, False)
        inner = aq @ _copyu(g @ ar.T) if which == "r" else g + aq @ _copyu(aq.T @ g)
        return inner @ ri.T
    return rule


def _qr_rounding(which):
    def rule(value, args, params):
        a = _f64(args[0])
        m, n = a.shape
        q, r = _qr_fixed(a)
        gamma = m * n * unit_roundoff_of(value)
        e = gamma * np.broadcast_to(np.sqrt(np.sum(a * a, axis=0)), a.shape)  # |Δa_ij| <= γ‖a_j‖
        ri = _tri_abs_inv(r, False)
        xb = np.abs(q).T @ e @ ri
        w = np.triu(xb) + np.tril(xb, -1).T
        with np.errstate(all="ignore"):
            if which == "r":
                out = w @ np.abs(r)
            else:
                out = e @ ri + np.abs(q) @ w + gamma * np.sqrt(n)
        return np.where(out != out, np.inf, out)
    return rule


for _which, _simplicity in (("r", 69), ("q", 70)):
    register(Primitive(
        f"qr_{_which}", 1, "linalg", _qr_shape(_which), _np_qr(_which), _mp_qr(_which), domain=_full_column_rank,
        doc=(f"the reduced QR factorisation's {'R (n×n, upper triangular)' if _which == 'r' else 'Q (m×n)'} of an m×n "
             "matrix (m >= n, full column rank), signs fixed so that R's diagonal is non-negative"),
        vjp=(_qr_r_vjp if _which == "r" else _qr_q_vjp,), jvp=_qr_r_jvp if _which == "r" else _qr_q_jvp,
        operands=(WELL_CONDITIONED,), magnitude=(_qr_magnitude(_which),), rounding=_qr_rounding(_which),
        draw=_draw(_simplicity), example=_square_example))
