"""The oracle on the singular values and the sign-fixed QR factors (issue 16) against independent derivatives:
relative error <= 1e-25 and its error bound holding, as tests/test_oracle_linalg.py does for the other
factorisations.

``svdvals``: the closed form dσᵢ/dA = uᵢvᵢᵀ (distinct nonzero singular values), so the VJP of ⟨w, σ(A)⟩ is
Σᵢ wᵢ·uᵢvᵢᵀ, with U and V from mpmath's SVD. ``qr_r`` and ``qr_q``: the QR factors with a positive diagonal of R are
unique, and classical Gram–Schmidt (a different algorithm from the Householder one of the primitives' mpmath form)
builds them directly: qⱼ = (aⱼ - Σₖ₍ₖ<ⱼ₎ (qₖᵀaⱼ) qₖ)/rⱼⱼ, rⱼⱼ > 0; the VJP of ⟨V, F(A)⟩ entry by entry is mpmath's
own numerical derivative (``mpmath.diff``, its step chosen for the working precision) of t -> ⟨V, F(A + t·Eᵢⱼ)⟩ at
300 bits, good to about 2^-280 of the largest entry (a reference error the comparison adds to the oracle's bound:
an entry that is exactly 0 — Q of a square A does not depend on A's last column — comes out of the numerical
derivative as ~1e-100). Square operands and a tall 4×3 one (the primitives take any m×n, m >= n for QR); no 1×1 Q
(it is the constant ±1)."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle
from advalidate.primitives.operands import SINGULAR_GAPPED, WELL_CONDITIONED

M = mpmath


def _point(sampler, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.4, 1.6, shape) * rng.choice([-1.0, 1.0], shape)
    return sampler.fixed(x)  # a square x is made valid by the sampler; a tall one is used as drawn


def _one(prim, shape):
    b = Builder()
    x = b.input(*shape)
    return b.build(getattr(b, prim)(x))


def _svdvals(shape):
    a = _point(SINGULAR_GAPPED, shape, 11)
    k = min(shape)
    w = np.linspace(-1.0, 1.5, k)
    u, s, vt = M.svd_r(M.matrix(to_mp(a).tolist()), full_matrices=False, compute_uv=True)
    order = sorted(range(k), key=lambda i: -s[i])  # the primitive's values are descending
    grad = sum(to_mp(w)[p] * np.array((u[:, i] * vt[i, :]).tolist(), dtype=object) for p, i in enumerate(order))
    return _one("svdvals", a.shape), [a], [w], [grad], 0  # exact: no reference error


def _gram_schmidt(a):
    """(Q, R) with R's diagonal positive, by classical Gram–Schmidt on object arrays of mpf."""
    m, n = a.shape
    q = np.empty((m, n), dtype=object)
    r = np.array([[M.mpf(0)] * n for _ in range(n)], dtype=object)
    for j in range(n):
        v = a[:, j].copy()
        for k in range(j):
            r[k, j] = np.sum(q[:, k] * a[:, j])
            v = v - r[k, j] * q[:, k]
        r[j, j] = M.sqrt(np.sum(v * v))
        q[:, j] = v / r[j, j]
    return q, r


def _qr(which, seed):
    def make(shape):
        a = _point(WELL_CONDITIONED, shape, seed)
        out = shape if which == "q" else (shape[1], shape[1])
        v = np.arange(np.prod(out), dtype=float).reshape(out) / 3 - 1
        A, V = to_mp(a), to_mp(v)

        def phi(i, j):
            def at(t):
                b = A.copy()
                b[i, j] += t
                return np.sum(V * _gram_schmidt(b)[0 if which == "q" else 1])
            return at

        grad = np.array([[M.diff(phi(i, j), 0) for j in range(shape[1])] for i in range(shape[0])], dtype=object)
        return _one(f"qr_{which}", a.shape), [a], [v], [grad], M.mpf(2) ** -280
    return make


CASES = {f"{name}-{'x'.join(map(str, shape))}": (make, shape)
         for name, make in [("svdvals", _svdvals), ("qr_r", _qr("r", 12)), ("qr_q", _qr("q", 13))]
         for shape in [(1, 1), (2, 2), (3, 3), (4, 3)] if (name, shape) != ("qr_q", (1, 1))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_independent_derivative(case):
    make, shape = CASES[case]
    with mpmath.workprec(300):
        fn, xs, vs, exact, reference_error = make(shape)
    result = Oracle().vjp(fn, xs, vs)
    with mpmath.workprec(300):
        for got, err, want in zip(result.grads_mp, result.errors, exact):
            want = np.broadcast_to(np.asarray(want, dtype=object), np.shape(got))
            actual = [abs(g - w) for g, w in zip(np.asarray(got).reshape(-1), np.asarray(want).reshape(-1))]
            scale = max(abs(w) for w in np.asarray(want).reshape(-1))
            slack = reference_error * scale
            assert all(a <= e + slack for a, e in zip(actual, np.asarray(err).reshape(-1))), "the error bound must hold"
            assert max(actual) <= M.mpf("1e-25") * scale
            assert np.max(err) <= 1e-25 * float(scale)


def test_the_sign_fix_makes_every_diagonal_of_r_positive_and_q_r_the_operand():
    """The forms' factors at 300 bits: R upper triangular with a positive diagonal, QᵀQ = I, QR = A (both forms)."""
    a = _point(WELL_CONDITIONED, (4, 4), 14)
    a[0, 0] = -a[0, 0]
    from advalidate.primitives import get

    with mpmath.workprec(300):
        A = to_mp(a)
        q, r = get("qr_q").mp(A), get("qr_r").mp(A)
        assert all(r[i, i] > 0 for i in range(4)) and all(r[i, j] == 0 for i in range(4) for j in range(i))
        assert max(abs(x) for x in (q.T @ q - np.eye(4)).reshape(-1)) < M.mpf(2) ** -280
        assert max(abs(x) for x in (q @ r - A).reshape(-1)) < M.mpf(2) ** -280
    qf, rf = get("qr_q").np(a), get("qr_r").np(a)
    assert np.all(np.diag(rf) > 0) and np.allclose(qf @ rf, a, rtol=0, atol=1e-14)


@pytest.mark.parametrize("prim", ["qr_r", "qr_q"])
def test_a_rank_deficient_matrix_is_outside_the_qr_domain_and_a_badly_scaled_regular_one_is_not(prim):
    """Householder in mpmath leaves R_ii = 3e-100 (not 0) for a column that repeats the first one exactly: the rank
    test reads R_ii against that column's norm at the working precision (found by a float32 campaign, where the
    all-equal 3×3 matrix was judged regular and numpy-ref's R⁻¹ gave NaN). diag(1, 1e-300) has an exact, regular R."""
    from advalidate.errors import DomainError

    b = Builder()
    fn = b.build(b.apply(prim, b.input((3, 3))))
    with pytest.raises(DomainError):
        Oracle().check_point(fn, [np.full((3, 3), -1.4954413175582886)])
    with pytest.raises(DomainError):
        Oracle().check_point(fn, [np.array([[1.0, 2.0, 0.5], [-1.0, -2.0, 0.25], [3.0, 6.0, 1.0]])])
    assert Oracle().check_point(fn, [np.diag([1.0, 1e-300, 2.0])]) == []


# a 4×4 whose first column is [5.1e-316, 8.3e-317, 0.40, 1.5] (a --special campaign on qr_q, seed 0: i0e(qr_q(A))
# was a convention finding on numpy-ref, torch and jax alike)
TINY_COLUMN = np.array([[5.1180715e-316, -1.0557465018264538, -1.8565926662233185, -1.9421532756501483],
                        [8.289046e-317, 4.717553536302104, 1.792149e-317, 1.218133e-317],
                        [0.40268747012898004, 1.7727534832571887, 2.15467433e-316, -9.4341759e-316],
                        [1.5009149680564926, -1.8824504864308746, 1.107830616e-315, -5.822364844883214]])


def test_q_keeps_the_digits_of_its_tiny_entries():
    """Householder's entries are exact to 2^-prec of the column norms: Q[0, 0] = ±a00/|a0| = 3.3e-316 came out 0 at
    the oracle's precision. With as many more bits as the entries' exponents spread, every entry keeps its own."""
    from advalidate.primitives import get

    with mpmath.workprec(256):
        q = get("qr_q").mp(to_mp(TINY_COLUMN))
        a0 = to_mp(TINY_COLUMN[:, 0])
        norm = M.sqrt(M.fsum(v * v for v in a0))
        for i in range(4):
            assert abs(abs(q[i, 0]) - abs(a0[i]) / norm) <= M.mpf(2) ** -250 * abs(a0[i]) / norm


def test_every_element_near_a_kink_the_rounding_crosses_gets_its_other_side():
    """Q[0, 3] = -4.3e-317, Q[1, 0] = 5.3e-317 and Q[0, 0] = 3.3e-316 are all within Householder's rounding of i0e's
    kink at 0, and the cotangent reaches Q[0, 0] only: the derivative across its kink must be offered (the nearest
    element's alone left every library's 0, between the sides -0.64 and +0.64, a convention finding)."""
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.check import check_example

    b = Builder()
    fn = b.build(b.i0e(b.qr_q(b.input((4, 4)))))
    v = np.zeros((4, 4))
    v[0, 0] = 1.0
    with np.errstate(all="ignore"):
        result = check_example(fn, [TINY_COLUMN], [v], [NumpyReference()], Oracle())
    assert result.point == "kink"
    outcome = result.outcomes[0]
    assert outcome.status == "pass", outcome.message
    assert outcome.convention == "between", outcome.convention  # 0: between -0.64 (left, right) and +0.64 (across)
