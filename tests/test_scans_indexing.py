"""Issue 16's scans, sorting, statistics and indexing: the oracle against closed forms (<= 1e-25 relative, its
bound holding), the reference rules where the textbook ones fail (cumprod at zeros, std at a constant slice), and
pad's three modes."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder, primitives
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.oracle import Oracle

from .helpers import assert_matches_closed_form

M = mpmath


def _cumprod_exact(x, g):
    """d/dx_i sum_j g_j prod_{k <= j} x_k = sum_{j >= i} g_j prod_{k <= j, k != i} x_k."""
    X = [M.mpf(v) for v in x]
    return [sum(g[j] * M.fprod([X[k] for k in range(j + 1) if k != i]) for j in range(i, len(X)))
            for i in range(len(X))]


def _logcumsumexp_exact(x, g):
    X = [M.mpf(v) for v in x]
    lse = [M.log(sum(M.exp(X[k]) for k in range(j + 1))) for j in range(len(X))]
    return [sum(g[j] * M.exp(X[i] - lse[j]) for j in range(i, len(X))) for i in range(len(X))]


def _std_exact(x, g, ddof):
    X = [M.mpf(v) for v in x]
    n = len(X)
    m = sum(X) / n
    s = M.sqrt(sum((v - m) ** 2 for v in X) / (n - ddof))
    return [g * (v - m) / ((n - ddof) * s) for v in X]


def _single(name, shape, **params):
    b = Builder()
    x = b.input(*shape)
    return b.build(b.apply(name, x, **params))


CASES = {
    "cumprod": (lambda: _single("cumprod", (4,), axis=0), [0.7, -1.3, 0.4, 1.9], [0.5, -1.0, 2.0, 0.25],
                _cumprod_exact),
    "cumprod-at-zero": (lambda: _single("cumprod", (4,), axis=0), [0.7, 0.0, 0.4, 1.9], [0.5, -1.0, 2.0, 0.25],
                        _cumprod_exact),
    "cumsum": (lambda: _single("cumsum", (3,), axis=0), [0.7, -1.3, 0.4], [0.5, -1.0, 2.0],
               lambda x, g: [M.mpf(sum(g[i:])) for i in range(len(x))]),
    "logcumsumexp": (lambda: _single("logcumsumexp", (4,), axis=0), [0.7, -1.3, 3.4, 1.9], [0.5, -1.0, 2.0, 0.25],
                     _logcumsumexp_exact),
    "std-ddof1": (lambda: _single("std", (4,), axis=0, ddof=1), [0.7, -1.3, 0.4, 1.9], 0.75,
                  lambda x, g: _std_exact(x, g, 1)),
    "var": (lambda: _single("var", (3,), ddof=0), [0.7, -1.3, 0.4], 0.75,
            lambda x, g: [2 * g * (M.mpf(v) - sum(map(M.mpf, x)) / 3) / 3 for v in x]),
    "sort": (lambda: _single("sort", (3,), axis=0), [0.7, -1.3, 0.4], [0.5, -1.0, 2.0],
             lambda x, g: [g[2], g[0], g[1]]),
    "top_k": (lambda: _single("top_k", (4,), k=2), [0.7, -1.3, 0.4, 1.9], [0.5, -1.0],
              lambda x, g: [g[1], 0, 0, g[0]]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_closed_form(case):
    build, x, g, exact = CASES[case]
    fn = build()
    xs, vs = [np.array(x)], [np.asarray(g, dtype=np.float64)]
    result = Oracle().vjp(fn, xs, vs)
    with M.workprec(300):  # the closed form's sums and products, as exact as the comparison
        want = exact(x, g)
    assert_matches_closed_form(result, [want], relative_to="array", label=case)


def test_cumprod_rule_is_exact_at_zeros_where_the_textbook_rule_divides_by_zero():
    x = np.array([0.7, 0.0, 0.4, 0.0, 1.9])
    g = np.array([0.5, -1.0, 2.0, 0.25, 3.0])
    prim = primitives.get("cumprod")
    got = prim.vjp[0](g, prim.np(x, axis=0), x, axis=0)
    with M.workprec(200):
        want = [float(v) for v in _cumprod_exact(x, g)]
    assert np.allclose(got, want, rtol=1e-15, atol=0) and np.all(np.isfinite(got))


def test_std_rule_at_a_constant_slice_is_zero_a_subgradient():
    x = np.full(3, 0.5)
    prim = primitives.get("std")
    ans = prim.np(x, axis=None, ddof=0)
    assert ans == 0
    assert np.array_equal(prim.vjp[0](np.float64(1.0), ans, x, axis=None, ddof=0), np.zeros(3))


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_rules_are_adjoint_and_match_the_reference_tape(mode):
    rng = np.random.default_rng(3)
    width = [[1, 2], [2, 1]] if mode != "reflect" else [[2, 1], [1, 3]]
    b = Builder()
    x = b.input(3, 4)
    fn = b.build(b.apply("pad", x, width=width, mode=mode))
    xs = [rng.normal(size=(3, 4))]
    vs = [rng.normal(size=fn.output_shapes[0])]
    ref = NumpyReference().vjp(fn, xs, vs)
    result = Oracle().vjp(fn, xs, vs)
    exact = np.array([float(v) for v in np.asarray(result.grads_mp[0]).reshape(-1)]).reshape(3, 4)
    assert np.allclose(ref.grads[0], exact, rtol=1e-14, atol=1e-15)
