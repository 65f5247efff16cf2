"""The PyTensor plug-in's known behaviours (``advalidate_pytensor/known/*.txt``), each reproduced in plain PyTensor
against an exact value, with no advalidate code in the computation: a PyTensor release that fixes one fails its test
here, and the entry is then to be dropped.

    pytest plugins/advalidate-pytensor/tests/test_known_evidence.py -s   # prints PyTensor's values against exact
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

pytensor = pytest.importorskip("pytensor")
import pytensor.tensor as pt  # noqa: E402
import pytensor.tensor.linalg  # noqa: E402, F401

pytensor.config.floatX = "float64"
mpmath.mp.prec = 200

X = np.array([[1.4091492565444623, 0.6575245165870549, 1.579953993482067, -1.1655383748890995],
              [-0.6455811485272913, 1.40374532531564, 1.2108990304202132, -1.0371870013315485],
              [0.890084066435973, 1.5207614486044982, -1.015819484178222, -1.4667915045063795]])


def test_norm_along_an_axis_has_no_gradient_for_a_real_input():
    """pt.linalg.norm(x, axis=1) of a real x is sqrt(sum(real(x·conj(x)))): the gradient of Real gives a complex128
    cotangent for the real input, and pytensor.grad raises TypeError (every mode: reverse, forward, second order)."""
    x = pt.tensor("x", dtype="float64", shape=X.shape)
    y = pt.linalg.norm(x, axis=1)
    assert "Real" in str(pytensor.dprint(y, file="str"))
    with pytest.raises(TypeError, match="Real.grad illegally"):
        pytensor.grad(y.sum(), x)
    # the norm itself is right, and its gradient is x_ij/||x_i|| (the exact value PyTensor cannot give)
    f = pytensor.function([x], y, mode="FAST_COMPILE")
    exact = [mpmath.sqrt(sum(mpmath.mpf(v) ** 2 for v in row)) for row in X]
    np.testing.assert_allclose(f(X), [float(e) for e in exact], rtol=1e-15)
    # the whole-array norm (no Real in its graph) differentiates: x/||x||
    g = pytensor.function([x], pytensor.grad(pt.linalg.norm(x), x), mode="FAST_COMPILE")(X)
    whole = mpmath.sqrt(sum(mpmath.mpf(v) ** 2 for v in X.ravel()))
    np.testing.assert_allclose(g, [[float(mpmath.mpf(v) / whole) for v in row] for row in X], rtol=1e-14)


def _compile(inputs, outputs):
    return pytensor.function(inputs, outputs, mode="FAST_COMPILE", on_unused_input="ignore")


A = np.array([0.1, 0.2, 0.3])
U = np.array([1.0, -0.5, 0.25])
W = np.array([2.0, 0.75, -1.5])


def test_pullback_takes_each_cotangent_as_its_outputs_total_gradient():
    """pytensor.gradient.pullback([y, z], [a], [u, w]) with z = 2·y, y = sin(a) is cos(a)·(u + 2w) (its docstring:
    vJp[j] = sum_i cotangents[i] df[i]/dwrt[j]); PyTensor gives cos(a)·u: pullback passes the cotangents as
    grad(known_grads={y: u, z: w}), and a known gradient is taken as the total gradient of its variable, so z's
    part through y is dropped (and of a repeated output, dict(zip(f, cotangents)) keeps only the last cotangent).
    The backend computes its VJP as pytensor.grad of the scalar <u, y> + <w, z>, which is right: the README says so."""
    from pytensor.gradient import pullback

    a, u, w = (pt.tensor(n, dtype="float64", shape=(3,)) for n in "auw")
    y = pt.sin(a)
    got = _compile([a, u, w], pullback([y, 2 * y], [a], [u, w])[0])(A, U, W)
    exact = np.array([float(mpmath.cos(x) * (mpmath.mpf(p) + 2 * mpmath.mpf(q))) for x, p, q in zip(A, U, W)])
    print("\npullback of (sin a, 2 sin a):", got, "exact", exact)
    np.testing.assert_allclose(got, np.cos(A) * U, rtol=1e-15)  # only u's part
    assert np.abs(got - exact).max() > 0.1, "fixed: drop this test and the README's note"
    repeated = _compile([a, u, w], pullback([y, y], [a], [u, w])[0])(A, U, W)
    np.testing.assert_allclose(repeated, np.cos(A) * W, rtol=1e-15)  # the last cotangent only
    # the scalar-cost gradient the backend runs is exact
    right = _compile([a, u, w], pytensor.grad((u * y).sum() + (w * 2 * y).sum(), a))(A, U, W)
    np.testing.assert_allclose(right, exact, rtol=1e-14)


def test_pushforward_of_add_and_sub_keeps_one_tangent():
    """pytensor.gradient.pushforward (PyTensor's default, two pullbacks through a dummy cotangent c) of a + b is
    w_b alone, of a - b w_a alone: add's pullback returns c itself for both inputs, sub's c and -c, and the second
    pullback then takes the tangent of c's first appearance as c's whole gradient (the bug above). The exact JVPs are
    w_a + w_b and w_a - w_b; use_op_pushforward=True (the ops' own forward rules) gives them."""
    from pytensor.gradient import pushforward

    a, b, wa, wb = (pt.tensor(n, dtype="float64", shape=(3,)) for n in ("a", "b", "wa", "wb"))
    add = _compile([a, b, wa, wb], pushforward(a + b, [a, b], [wa, wb]))(A, A, U, W)
    sub = _compile([a, b, wa, wb], pushforward(a - b, [a, b], [wa, wb]))(A, A, U, W)
    direct = _compile([a, b, wa, wb], pushforward(a + b, [a, b], [wa, wb], use_op_pushforward=True))(A, A, U, W)
    print("\nJVP of a + b:", add, "exact", U + W, "; of a - b:", sub, "exact", U - W)
    np.testing.assert_array_equal(add, W)
    np.testing.assert_array_equal(sub, U)
    np.testing.assert_array_equal(direct, U + W)


def test_prod_has_no_forward_mode():
    """pushforward transposes a pullback, so it needs the pullback of prod's pullback, which PyTensor lacks:
    ProdWithoutZeros has no gradient ("2nd derivatives of `product(a)` is not currently supported")."""
    from pytensor.gradient import NullTypeGradError, pushforward

    x, w = (pt.tensor(n, dtype="float64", shape=(3, 4)) for n in "xw")
    with pytest.raises(NullTypeGradError, match="ProdWithoutZeros"):
        pushforward(pt.prod(x, axis=1), [x], [w])


def _grad(build, x, v=None):
    """PyTensor's gradient of <v, build(x)> at x (FAST_COMPILE: the values are the same in NUMBA)."""
    x = np.asarray(x, dtype=np.float64)
    xv = pt.tensor("x", dtype="float64", shape=x.shape)
    y = build(xv)
    v = np.ones(y.type.shape) if v is None else np.asarray(v, dtype=np.float64)
    return _compile([xv], pytensor.grad((y * v).sum(), xv))(x)


def test_logsumexp_gradient_is_nan_when_every_exp_underflows():
    """pt.logsumexp's value subtracts the max; its gradient exp(x)/sum(exp(x)) does not: NaN at x = [-749.75]*2."""
    got = _grad(lambda x: pt.logsumexp(x, axis=None), [-749.75, -749.75])
    print("\nlogsumexp gradient at [-749.75, -749.75]:", got, "exact [0.5, 0.5]")
    assert np.all(np.isnan(got)), "fixed: drop its known-behaviour entries"


def test_logaddexp_gradient_is_nan_when_exp_overflows():
    """d logaddexp(x, x)/dx = 1; PyTensor's exp(a)/(exp(a) + exp(b)) is inf/inf at x = 6.8e154."""
    got = _grad(lambda x: pt.logaddexp(x, x), [6.810022548055588e154])
    print("\nlogaddexp(x, x) gradient at 6.8e154:", got, "exact [1.0]")
    assert np.isnan(got[0]), "fixed: drop its known-behaviour entries"


def test_cumprod_gradient_is_nan_at_a_zero():
    """cumprod([x]) = x has derivative 1 everywhere; PyTensor divides by x: NaN at 0."""
    got = _grad(lambda x: pt.cumprod(x, axis=-1), [0.0])
    print("\ncumprod gradient at [0]:", got, "exact [1.0]")
    assert np.isnan(got[0]), "fixed: drop its known-behaviour entries"


def test_norm_gradient_at_zero_is_nan():
    """x/||x|| at x = 0 is 0/0 (the one-sided derivatives are -1 and 1; a subgradient, 0, is what JAX gives)."""
    got = _grad(lambda x: pt.linalg.norm(x), [0.0])
    print("\nnorm gradient at [0]:", got)
    assert np.isnan(got[0]), "fixed: drop its known-behaviour entry"


def test_kron_refuses_two_vectors():
    """NumPy's kron of two vectors is their Kronecker product (np.kron([2], [3]) = [6]); pt.linalg.kron raises."""
    a = pt.tensor("a", dtype="float64", shape=(1,))
    assert np.kron([2.0], [3.0]).tolist() == [6.0]
    with pytest.raises(TypeError, match="must sum to 3 or more"):
        pt.linalg.kron(a, a)


def test_pad_edge_gradient_miscounts_the_edge_entries():
    """The gradient of sum(pad(x, w, mode='edge')) counts how many times each entry appears in the output: for a
    3-vector and w = (1, 2) that is [2, 1, 3] (the first entry once more, the last twice more); PyTensor gives
    [2, 1, 2]. For w = (0, 0) (no padding) it is [1, 1, 1]; PyTensor gives [2, 1, 1]."""
    x = np.array([0.5, -1.0, 2.0])
    padded = _grad(lambda x: pt.pad(x, [(1, 2)], mode="edge"), x)
    unpadded = _grad(lambda x: pt.pad(x, [(0, 0)], mode="edge"), x)
    np.testing.assert_array_equal(np.pad(x, [(1, 2)], mode="edge"), [0.5, 0.5, -1.0, 2.0, 2.0, 2.0])
    print("\npad edge gradients:", padded, "exact [2, 1, 3];", unpadded, "exact [1, 1, 1]")
    np.testing.assert_array_equal(padded, [2.0, 1.0, 2.0])
    np.testing.assert_array_equal(unpadded, [2.0, 1.0, 1.0])


def test_prod_gradient_of_a_single_zero_is_zero():
    """d prod([x])/dx = 1 (the empty product of the other entries); at x = 0 PyTensor gives 0 (with a second entry it
    is right: [0, 3] gives [3, 0])."""
    single = _grad(lambda x: pt.prod(x), [0.0])
    pair = _grad(lambda x: pt.prod(x), [0.0, 3.0])
    print("\nprod gradient at [0]:", single, "exact [1]; at [0, 3]:", pair, "exact [3, 0]")
    assert single[0] == 0.0, "fixed: drop its known-behaviour entry"
    np.testing.assert_array_equal(pair, [3.0, 0.0])


def test_norm_of_a_vector_along_its_axis_has_no_gradient():
    x = pt.tensor("x", dtype="float64", shape=(2,))
    with pytest.raises(TypeError, match="NoneType"):
        pytensor.grad(pt.linalg.norm(x, axis=0), x)


def test_det_gradient_raises_at_a_singular_matrix():
    """d det(A)/dA is the adjugate's transpose, defined everywhere (zero here: a rank-1 3×3 matrix has a zero
    adjugate); PyTensor computes det(A)·inv(A)ᵀ, and the inverse of a singular A raises."""
    a = np.full((3, 3), -1.8565926662233185)
    with pytest.raises(np.linalg.LinAlgError):
        _grad(lambda x: pt.linalg.det(x), a)


def test_ive_is_nan_for_a_huge_argument():
    """pt.ive(0, x) at x = 6.8e154: exp(-x)·I0(x) = 1.5287476093142896e-78 (mpmath); PyTensor's Ive (scipy's ive)
    gives NaN, and so does its gradient."""
    x = np.array([6.810022548055588e154])
    xv = pt.tensor("x", dtype="float64", shape=(1,))
    value, grad = _compile([xv], [pt.ive(0, xv), pytensor.grad(pt.ive(0, xv).sum(), xv)])(x)
    exact = float(mpmath.besseli(0, mpmath.mpf(x[0])) * mpmath.exp(-mpmath.mpf(x[0])))
    print("\nive(0, 6.8e154):", value, "exact", exact, "; its gradient", grad)
    assert np.isnan(value[0]) and np.isnan(grad[0]), "fixed: drop its known-behaviour entries"


def test_sqrtm_through_eigh_is_nan_at_a_repeated_eigenvalue():
    """sqrtm(A) = V·diag(√λ)·Vᵀ by pt.linalg.eigh: at A = I/2 the derivative of sum(sqrtm(A)) exists (sqrtm is smooth
    on SPD matrices: d sqrtm(I/2)[E] = E/(2·√(1/2)) = E/√2), but Eigh's gradient divides by λi - λj = 0."""
    a = pt.tensor("a", dtype="float64", shape=(2, 2))
    w, v = pt.linalg.eigh(a)
    s = pt.matmul(v * pt.sqrt(w), v.T)
    with np.errstate(invalid="ignore"):
        got = _compile([a], pytensor.grad(s.sum(), a))(np.eye(2) / 2)
    print("\nd sum(sqrtm(A))/dA at I/2:", got, "exact", np.ones((2, 2)) / np.sqrt(2))
    assert np.all(np.isnan(got)), "fixed: drop its known-behaviour entries"


def test_xlogy_of_a_scalar_and_a_vector_has_no_gradient():
    """xlogy(a, b) broadcasts a scalar a against a vector b (NumPy's rule, and PyTensor's for the value); the gradient
    in a is sum(log b) = log(0.25) + log(0.5) here, but XLogY's gradient is not reduced over the broadcast axis and
    pytensor.grad raises."""
    import pytensor.tensor.special  # noqa: F401

    a = pt.tensor("a", dtype="float64", shape=())
    b = pt.tensor("b", dtype="float64", shape=(2,))
    value = _compile([a, b], pt.special.xlogy(a, b))(np.array(0.25), np.array([0.25, 0.5]))
    np.testing.assert_allclose(value, [0.25 * np.log(0.25), 0.25 * np.log(0.5)], rtol=1e-15)
    for op in (pt.special.xlogy, pt.special.xlog1py):  # XLog1PY, its twin, the same
        with pytest.raises(ValueError, match="returned a term with 1 dimensions, but 0 are required"):
            pytensor.grad(op(a, b).sum(), [a, b])


def test_pad_edge_miscount_carries_into_second_order():
    """H_v·u of exp(pad(x, (0, 0), mode='edge')) by forward over reverse (pushforward of pytensor.grad) at x = 0.25,
    v = u = 0.125: exactly v·u·exp(x) = 0.0200629; PyTensor gives twice that (the edge entry counted twice)."""
    from pytensor.gradient import pushforward

    x, v, u = pt.vector("x"), pt.vector("v"), pt.vector("u")
    grad = pytensor.grad((v * pt.exp(pt.pad(x, [(0, 0)], mode="edge"))).sum(), x)
    (hvp,) = _compile([x, v, u], pushforward([grad], [x], [u]))(np.array([0.25]), np.array([0.125]),
                                                               np.array([0.125]))
    exact = float(mpmath.mpf(0.125) * 0.125 * mpmath.exp(mpmath.mpf(0.25)))
    print(f"\npad edge H_v·u: {hvp} exact {exact}")
    np.testing.assert_allclose(hvp, [2 * exact], rtol=1e-14)
