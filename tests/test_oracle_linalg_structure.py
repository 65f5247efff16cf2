"""The oracle on the structural linear algebra against closed forms written entry by entry (independent of the
reference rules): relative error <= 1e-25, and its error bound holds."""

import itertools

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle

from .helpers import assert_matches_closed_form

M = mpmath


def _mp(a):
    return to_mp(np.asarray(a, dtype=float))


def _zeros(shape):
    out = np.empty(shape, dtype=object)
    out[...] = M.mpf(0)
    return out


def _single(name, shapes, **params):
    b = Builder()
    xs = [b.input(*s) for s in shapes]
    return b.build(getattr(b, name)(*xs, **params))


def _cases():
    rng = np.random.default_rng(16)
    cases = {}

    def add(label, fn, vs, exact):
        cases[label] = (fn, [rng_xs[i] for i in range(len(fn.inputs))], vs, exact)

    # trace: d tr(X) = I (rectangular)
    rng_xs = [rng.normal(size=(3, 4))]
    v = np.array(rng.normal())
    g = _zeros((3, 4))
    for i in range(3):
        g[i, i] = M.mpf(float(v))
    add("trace", _single("trace", [(3, 4)]), [v], [g])

    # diagonal above the main one: the cotangent lands on entries (i, i + 1)
    rng_xs = [rng.normal(size=(3, 4))]
    v = rng.normal(size=3)
    g = _zeros((3, 4))
    for i in range(3):
        g[i, i + 1] = M.mpf(float(v[i]))
    add("diagonal offset 1", _single("diagonal", [(3, 4)], offset=1), [v], [g])

    # tril below the main diagonal: the cotangent where j <= i - 1, else 0
    rng_xs = [rng.normal(size=(3, 4))]
    v = rng.normal(size=(3, 4))
    g = _zeros((3, 4))
    for i, j in itertools.product(range(3), range(4)):
        if j <= i - 1:
            g[i, j] = M.mpf(float(v[i, j]))
    add("tril k=-1", _single("tril", [(3, 4)], k=-1), [v], [g])

    # outer: d(a b^T): V b and V^T a
    rng_xs = [rng.normal(size=3), rng.normal(size=4)]
    a, bb = _mp(rng_xs[0]), _mp(rng_xs[1])
    v = rng.normal(size=(3, 4))
    vm = _mp(v)
    add("outer", _single("outer", [(3,), (4,)]), [v],
        [np.array([M.fsum(vm[i, j] * bb[j] for j in range(4)) for i in range(3)], dtype=object),
         np.array([M.fsum(vm[i, j] * a[i] for i in range(3)) for j in range(4)], dtype=object)])

    # kron: out[2i + k, 3j + l] = A[i, j] B[k, l]
    rng_xs = [rng.normal(size=(2, 2)), rng.normal(size=(2, 3))]
    A, B = _mp(rng_xs[0]), _mp(rng_xs[1])
    v = rng.normal(size=(4, 6))
    vm = _mp(v)
    gA, gB = _zeros((2, 2)), _zeros((2, 3))
    for i, j, k, l in itertools.product(range(2), range(2), range(2), range(3)):
        gA[i, j] += vm[2 * i + k, 3 * j + l] * B[k, l]
        gB[k, l] += vm[2 * i + k, 3 * j + l] * A[i, j]
    add("kron", _single("kron", [(2, 2), (2, 3)]), [v], [gA, gB])

    # tensordot over A's axis 0 and B's axis 1: out[j, k] = sum_i A[i, j] B[k, i]
    rng_xs = [rng.normal(size=(3, 2)), rng.normal(size=(4, 3))]
    A, B = _mp(rng_xs[0]), _mp(rng_xs[1])
    v = rng.normal(size=(2, 4))
    vm = _mp(v)
    gA, gB = _zeros((3, 2)), _zeros((4, 3))
    for i, j, k in itertools.product(range(3), range(2), range(4)):
        gA[i, j] += vm[j, k] * B[k, i]
        gB[k, i] += vm[j, k] * A[i, j]
    add("tensordot axes [[0], [1]]", _single("tensordot", [(3, 2), (4, 3)], axes=[[0], [1]]), [v], [gA, gB])

    # einsum: a matrix product, the diagonal, row sums
    rng_xs = [rng.normal(size=(2, 3)), rng.normal(size=(3, 2))]
    A, B = _mp(rng_xs[0]), _mp(rng_xs[1])
    v = rng.normal(size=(2, 2))
    vm = _mp(v)
    gA, gB = _zeros((2, 3)), _zeros((3, 2))
    for i, j, k in itertools.product(range(2), range(3), range(2)):
        gA[i, j] += vm[i, k] * B[j, k]
        gB[j, k] += vm[i, k] * A[i, j]
    add("einsum ij,jk->ik", _single("einsum", [(2, 3), (3, 2)], spec="ij,jk->ik"), [v], [gA, gB])

    rng_xs = [rng.normal(size=(3, 3))]
    v = rng.normal(size=3)
    g = _zeros((3, 3))
    for i in range(3):
        g[i, i] = M.mpf(float(v[i]))
    add("einsum ii->i", _single("einsum", [(3, 3)], spec="ii->i"), [v], [g])

    rng_xs = [rng.normal(size=(2, 3))]
    v = rng.normal(size=2)
    add("einsum ij->i", _single("einsum", [(2, 3)], spec="ij->i"), [v],
        [np.array([[M.mpf(float(v[i]))] * 3 for i in range(2)], dtype=object)])
    return cases


with mpmath.workprec(300):  # the closed forms' sums and products, exact at the oracle's comparison precision
    CASES = _cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_closed_form(case):
    fn, xs, vs, exact = CASES[case]
    result = Oracle().vjp(fn, xs, vs)
    assert_matches_closed_form(result, exact, relative_to="array", label=case)
