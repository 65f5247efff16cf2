"""The oracle on the linear-algebra factorisations and solves (issue 16) against closed-form derivatives: relative
error <= 1e-25 and its error bound holding, as tests/test_core_oracle.py does for the elementwise catalogue.

The closed forms: d det(A)/dA = det(A)·A⁻ᵀ; d log|det A|/dA = A⁻ᵀ (A⁻¹ for an SPD A); the derivative of an
eigenvalue λᵢ of a symmetric A with respect to A is vᵢvᵢᵀ; for x = A⁻¹b, d⟨w, x⟩/db = A⁻ᵀw and d⟨w, x⟩/dA = -A⁻ᵀw xᵀ;
d⟨V, A⁻¹⟩/dA = -A⁻ᵀ V A⁻ᵀ; for x = T⁻¹b with T = tril(A) the same with T, the upper triangle getting 0; for S = sqrtm(A) the Sylvester equation S X + X S = sym(Ḡ); the 2×2 Cholesky factor of sym(A) entry by entry."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle
from advalidate.primitives.operands import SPD, SYMMETRIC_GAPPED, WELL_CONDITIONED

from .helpers import assert_matches_closed_form

M = mpmath


def _mat(a):
    return M.matrix(np.asarray(a, dtype=object).tolist())


def _arr(m, shape):
    return np.array(m.tolist(), dtype=object).reshape(shape)


def _point(sampler, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.4, 1.6, (n, n)) * rng.choice([-1.0, 1.0], (n, n))
    return sampler.fixed(x)


def _one(prim, shapes):
    b = Builder()
    xs = [b.input(*s) for s in shapes]
    return b.build(getattr(b, prim)(*xs))


def _det(n):
    a = _point(WELL_CONDITIONED, n, 1)
    v = np.array(-1.25)
    A = _mat(to_mp(a))
    return _one("det", [a.shape]), [a], [v], [to_mp(v) * M.det(A) * _arr(M.inverse(A).T, a.shape)]


def _slogdet_spd(n):
    a = _point(SPD, n, 2)
    v = np.array(0.75)
    return _one("slogdet", [a.shape]), [a], [v], [to_mp(v) * _arr(M.inverse(_mat(to_mp(a))), a.shape)]


def _eigvalsh(n):
    a = _point(SYMMETRIC_GAPPED, n, 3)
    v = np.linspace(-1.0, 1.5, n)
    w, q = M.eigsy(_mat(to_mp(a)))
    order = sorted(range(n), key=lambda i: w[i])
    grad = sum(to_mp(v)[k] * _arr(q[:, i] * q[:, i].T, a.shape) for k, i in enumerate(order))
    return _one("eigvalsh", [a.shape]), [a], [v], [grad]


def _solve(n):
    a = _point(WELL_CONDITIONED, n, 4)
    b = np.linspace(0.5, 1.5, n)
    w = np.linspace(-1.0, 2.0, n)
    A = _mat(to_mp(a))
    x = M.lu_solve(A, _mat(to_mp(b)))
    gb = M.lu_solve(A.T, _mat(to_mp(w)))
    return (_one("solve", [a.shape, b.shape]), [a, b], [w],
            [-_arr(gb * x.T, a.shape), _arr(gb, b.shape)])


def _inv(n):
    a = _point(WELL_CONDITIONED, n, 5)
    v = np.arange(n * n, dtype=float).reshape(n, n) / 4 - 1
    Y = M.inverse(_mat(to_mp(a)))
    return _one("inv", [a.shape]), [a], [v], [-_arr(Y.T * _mat(to_mp(v)) * Y.T, a.shape)]


def _cholesky_2x2(_n=2):
    a = _point(SPD, 2, 6)
    a[0, 1] += 0.25  # not symmetric: the factor is that of sym(A)
    v = np.array([[0.5, 0.0], [-1.5, 2.0]])  # the upper entry of L is 0 whatever A is
    A = to_mp(a)
    p, q, c = A[0, 0], (A[0, 1] + A[1, 0]) / 2, A[1, 1]
    l22 = M.sqrt(c - q * q / p)
    # dL/dp, dL/dq, dL/dc for L = [[√p, 0], [q/√p, √(c - q²/p)]]
    dp = np.array([[1 / (2 * M.sqrt(p)), 0], [-q / (2 * p * M.sqrt(p)), q * q / (p * p) / (2 * l22)]], dtype=object)
    dq = np.array([[0, 0], [1 / M.sqrt(p), -q / p / l22]], dtype=object)
    dc = np.array([[0, 0], [0, 1 / (2 * l22)]], dtype=object)
    V = to_mp(v)
    gp, gq, gc = (np.sum(V * d) for d in (dp, dq, dc))
    grad = np.array([[gp, gq / 2], [gq / 2, gc]], dtype=object)
    return _one("cholesky", [a.shape]), [a], [v], [grad]


def _triangular(n):
    a = _point(WELL_CONDITIONED, n, 7)
    b = np.linspace(-0.5, 1.5, n)
    w = np.linspace(1.0, -2.0, n)
    t = _mat(to_mp(np.tril(a)))
    x = M.lu_solve(t, _mat(to_mp(b)))
    gb = M.lu_solve(t.T, _mat(to_mp(w)))
    return (_one("triangular_solve", [a.shape, b.shape]), [a, b], [w],
            [np.tril(-_arr(gb * x.T, a.shape)), _arr(gb, b.shape)])


def _sqrtm(n):
    """S = sqrtm(A) satisfies S·S = sym(A): the VJP Ā is the symmetric X with S X + X S = sym(Ḡ) (the Sylvester
    operator is self-adjoint for a symmetric S), solved as an n²×n² linear system."""
    a = _point(SPD, n, 8)
    v = np.arange(n * n, dtype=float).reshape(n, n) / 3 - 1
    w, q = M.eigsy(_mat(to_mp(a)))
    s_ = q * M.diag([M.sqrt(x) for x in w]) * q.T
    eye = M.eye(n)
    k = M.matrix(n * n, n * n)
    for i in range(n):
        for j in range(n):
            for p in range(n):  # (S X + X S)_ij = sum_p S_ip X_pj + X_ip S_pj
                k[i * n + j, p * n + j] += s_[i, p]
                k[i * n + j, i * n + p] += s_[p, j]
    g = to_mp(v)
    rhs = M.matrix([(g[i, j] + g[j, i]) / 2 for i in range(n) for j in range(n)])
    x = M.lu_solve(k, rhs)
    del eye
    return _one("sqrtm", [a.shape]), [a], [v], [np.array([[x[i * n + j] for j in range(n)] for i in range(n)],
                                                        dtype=object)]


CASES = {f"{name}-{n}": (make, n) for name, make in [("det", _det), ("slogdet-spd", _slogdet_spd),
                                                     ("eigvalsh", _eigvalsh), ("solve", _solve), ("inv", _inv),
                                                     ("triangular", _triangular), ("sqrtm", _sqrtm)]
         for n in (1, 2, 3)}
CASES["cholesky-2"] = (_cholesky_2x2, 2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_closed_form(case):
    make, n = CASES[case]
    with mpmath.workprec(300):
        fn, xs, vs, exact = make(n)
    result = Oracle().vjp(fn, xs, vs)
    assert_matches_closed_form(result, exact, relative_to="array", label=case)
