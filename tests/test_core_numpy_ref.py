"""The NumPy reference tape: right against the oracle, and linear in cost."""

import numpy as np
import pytest

from advalidate import CATALOGUE, Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.errormodel import compare_full
from advalidate.oracle import Oracle

from .helpers import single, well_inside

REF = NumpyReference()


def matrix_chain(N, H, nonlinear=False):
    """The seed's f = f3 ∘ f2 ∘ f1: x (N) -> H -> H -> N with matrices N×H... as inputs."""
    b = Builder()
    A1, A2, A3, x = b.input(H, N), b.input(H, H), b.input(N, H), b.input(N)
    h = b.matmul(A1, x)
    h = b.tanh(h) if nonlinear else h
    h = b.matmul(A2, h)
    h = b.tanh(h) if nonlinear else h
    return b.build(b.matmul(A3, h))


def _cotangents(fn, rng, dtype="float64"):
    return [rng.normal(size=s).astype(dtype) for s in fn.output_shapes]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_agrees_with_the_oracle_on_every_primitive(name, dtype, rng):
    fn = single(name, dtype=dtype)
    for _ in range(3):
        xs = well_inside(fn, rng, dtype)
        vs = _cotangents(fn, rng, dtype)
        oracle = Oracle(dtype=dtype).vjp(fn, xs, vs)
        result = compare_full(fn, xs, vs, oracle, REF.vjp(fn, xs, vs).grads)
        assert result.ok, (name, result.kind, result.ratio)


@pytest.mark.parametrize("nonlinear", [False, True])
def test_agrees_with_the_oracle_on_the_matrix_chain(nonlinear, rng):
    fn = matrix_chain(6, 3, nonlinear)
    xs = [rng.normal(size=s) for s in fn.inputs]
    vs = _cotangents(fn, rng)
    oracle = Oracle().vjp(fn, xs, vs)
    assert compare_full(fn, xs, vs, oracle, REF.vjp(fn, xs, vs).grads).ok


def test_a_planted_error_of_1e_9_is_caught(rng):
    fn = matrix_chain(6, 3, nonlinear=True)
    xs = [rng.normal(size=s) for s in fn.inputs]
    vs = _cotangents(fn, rng)
    oracle = Oracle().vjp(fn, xs, vs)
    grads = REF.vjp(fn, xs, vs).grads
    grads[3] = grads[3] * (1 + 1e-9)
    verdict = compare_full(fn, xs, vs, oracle, grads)
    assert not verdict.ok and verdict.kind == "wrong-value"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_backward_work_is_at_most_four_times_forward_work(name, rng):
    fn = single(name)
    xs = well_inside(fn, rng)
    work = REF.work(fn, xs, _cotangents(fn, rng))
    assert work.vjp - work.forward <= 4 * work.forward, (name, work)
    assert work.forward_passes == 1


def test_backward_work_on_the_matrix_chain():
    rng = np.random.default_rng(3)
    for nonlinear in (False, True):
        fn = matrix_chain(64, 8, nonlinear)
        xs = [rng.normal(size=s) for s in fn.inputs]
        work = REF.work(fn, xs, _cotangents(fn, rng))
        assert work.vjp - work.forward <= 4 * work.forward


def _wide(m, n=8):
    """x (n) -> y = tanh(W x) * exp(sum(x)) (m outputs), with W (m, n)."""
    b = Builder()
    W, x = b.input(m, n), b.input(n)
    return b.build(b.mul(b.tanh(b.matmul(W, x)), b.exp(b.sum(x))))


def test_the_work_ratio_does_not_grow_with_the_output_size():
    rng = np.random.default_rng(5)
    ratios = {}
    for m in (1, 4, 16, 64, 256, 1024):
        fn = _wide(m)
        xs = [rng.normal(size=s) for s in fn.inputs]
        work = REF.work(fn, xs, _cotangents(fn, rng))
        ratios[m] = (work.vjp - work.forward) / work.forward
    assert max(ratios.values()) <= 4
    assert ratios[1024] <= 1.25 * ratios[16], ratios


def test_fan_out_adds_cotangents_and_broadcasting_sums_them():
    b = Builder()
    x, y = b.input(3), b.input(2, 3)
    fn = b.build(b.add(b.mul(x, x), y))
    g = REF.vjp(fn, [np.array([1.0, 2.0, 3.0]), np.zeros((2, 3))], [np.ones((2, 3))]).grads
    np.testing.assert_array_equal(g[0], [4.0, 8.0, 12.0])
    np.testing.assert_array_equal(g[1], np.ones((2, 3)))


def test_float32_stays_float32(rng):
    fn = matrix_chain(4, 2, True).with_dtype("float32")
    xs = [rng.normal(size=s).astype("float32") for s in fn.inputs]
    out = REF.vjp(fn, xs, _cotangents(fn, rng, "float32"))
    assert all(g.dtype == np.float32 for g in out.grads + out.outputs)
