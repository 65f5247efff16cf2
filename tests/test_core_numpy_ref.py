"""The NumPy reference tape: right against the oracle, and linear in cost."""

import math

import mpmath
import numpy as np
import pytest

from advalidate import CATALOGUE, Builder
from advalidate.backends import numpy_ref
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.check import program_omega
from advalidate.errormodel import compare_full, exact_precision
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
    # 4 = ω - 1, or a factorisation's own ω - 1 where it declares one (Primitive.omega: cholesky, eigvalsh)
    assert work.vjp - work.forward <= (program_omega(fn) - 1) * work.forward, (name, work)
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


# ---- the same rules on object arrays of mpf (the error model's high-precision run)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_rules_run_in_mpmath_and_agree_with_the_oracle(name, rng):
    """Every reference rule runs on mpf object arrays and gives the oracle's VJP to 1e-30 relative."""
    fn = single(name, shape=(2, 3))
    xs = well_inside(fn, rng)
    vs = _cotangents(fn, rng)
    oracle = Oracle().vjp(fn, xs, vs)
    _, grads = numpy_ref.mp_vjp(fn, xs, vs, exact_precision("float64"))
    for g, o, e in zip(grads, oracle.grads_mp, oracle.errors):
        g = np.asarray(g, dtype=object)
        assert g.shape == o.shape
        assert all(isinstance(v, (mpmath.mpf, int)) for v in g.reshape(-1)), name  # no float64 on the way
        size = max((abs(v) for v in o.reshape(-1)), default=0)
        worst = max((abs(a - b) for a, b in zip(g.reshape(-1), o.reshape(-1))), default=0)
        assert worst <= float(np.max(e, initial=0)) + 1e-30 * size, (name, worst, size)


# The rules as they were before they ran in mpmath (np.cos, np.exp, ... on float arrays only): the float tape
# must give the same bits and count the same work with the rules written against advalidate.xp.
_LOG_2_OVER_SQRT_PI = math.log(2 / math.sqrt(math.pi))
FLOAT_ONLY_RULES = {
    "sin": (lambda g, ans, x: g * np.cos(x),),
    "cos": (lambda g, ans, x: -(g * np.sin(x)),),
    "sinh": (lambda g, ans, x: g * np.cosh(x),),
    "cosh": (lambda g, ans, x: g * np.sinh(x),),
    "arcsinh": (lambda g, ans, x: g / np.cosh(ans),),
    "softplus": (lambda g, ans, x: g * np.exp(x - ans),),
    "erf": (lambda g, ans, x: g * np.exp(_LOG_2_OVER_SQRT_PI - x * x),),
    "abs": (lambda g, ans, x: g * np.sign(x),),
    "pow": (lambda g, ans, a, b: g * ans * b / a, lambda g, ans, a, b: g * ans * np.log(a)),
    "logaddexp": (lambda g, ans, a, b: g * np.exp(a - ans), lambda g, ans, a, b: g * np.exp(b - ans)),
    "logsumexp": (lambda g, ans, x, axis=None: numpy_ref._keep(g, axis) * np.exp(x - numpy_ref._keep(ans, axis)),),
    "log_softmax": (lambda g, ans, x, axis=-1: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
}


def _composition(dtype):
    b = Builder(dtype)
    x, y = b.input(3, 4), b.input(4)
    h = b.logaddexp(b.sin(x), b.erf(y))
    h = b.mul(b.arcsinh(h), b.softplus(b.cos(y)))
    return b.build(b.logsumexp(b.log_softmax(b.add(b.abs(h), b.sinh(h)), axis=0), axis=1), b.pow(b.cosh(y), y))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_float_tape_is_bit_identical_to_the_float_only_rules(dtype, rng, monkeypatch):
    programs = [single(name, dtype=dtype) for name in sorted(FLOAT_ONLY_RULES)] + [_composition(dtype)]
    cases = []
    for fn in programs:
        for _ in range(3):
            xs = well_inside(fn, rng, dtype) if len(fn.nodes) == 1 else [rng.normal(size=s).astype(dtype)
                                                                         for s in fn.inputs]
            cases.append((fn, xs, _cotangents(fn, rng, dtype)))
    now = [(REF.vjp(fn, xs, vs), REF.work(fn, xs, vs)) for fn, xs, vs in cases]
    for name, rules in FLOAT_ONLY_RULES.items():
        monkeypatch.setitem(numpy_ref.VJPS, name, rules)
    for (fn, xs, vs), (out, work) in zip(cases, now):
        before = REF.vjp(fn, xs, vs)
        for a, b in zip(out.grads, before.grads):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), fn
        assert REF.work(fn, xs, vs) == work, fn


def _det_outcome(a):
    """numpy-ref's outcome for det(A) at ``a`` with the cotangent 0.125, as a campaign judges it."""
    from advalidate.backends.registry import load_backends
    from advalidate.check import check_example
    from advalidate.known import parse_function
    from advalidate.oracle import Oracle

    backend = load_backends(["numpy-ref"], "none", 60)[0][0]
    return check_example(parse_function("det(x0)", [a.shape]), (a,), (np.array(0.125),), [backend], Oracle()).outcomes[0]


def test_det_vjp_keeps_subnormal_cofactors_where_det_underflows():
    """det(A) of this 4×4 (a tiny column, three nearly parallel rows) underflows to 0 while its cofactors are
    ~1e-308: det·A⁻ᵀ gave 0 everywhere (found by a focused campaign's det probe); in logarithms they stay exact."""
    a = np.array([[1.26193943100194e-309, -1.0557465018264538, -3.0053149199039994e-308, -2.781342323134e-309],
                  [1.3464458372009536, 1.2985733309255605e-308, 6.0777720190725e-310, 1.0532379634439943],
                  [2.3171484910230805e-308, 1.7727534832571887, 7.8972383250525e-310, -2.123492416798926e-308],
                  [1.11121170388368e-309, -1.8824504864308746, 5.52973253254925e-310, -3.59263601485557e-308]])
    assert np.linalg.det(a) == 0.0
    outcome = _det_outcome(a)
    assert outcome.status == "pass", outcome.message
    assert outcome.grads[0][0, 2] == pytest.approx(-2.3448972953038899e-308, rel=1e-12)


def test_det_vjp_keeps_tiny_cofactors_where_the_inverse_overflows():
    """Two columns of subnormal entries: A⁻¹ overflows, and the adjugate taken from an SVD had an error of
    u·σ₁σ₂ in every entry (-3.19e-17 for the exact cofactor -3.83e-317: found by a --special campaign, seed 7);
    each cofactor from its own minor is exact to the last digit."""
    a = np.array([[3.6417050736748626, -3.9798414e-316, -1.53990514e-316],
                  [-1.9421532756501483, 4.983243633323128, 1.45096813e-316],
                  [0.6232252151851295, 1.6099697e-317, 8.289046e-317]])
    with np.errstate(all="ignore"):
        assert not np.isfinite(np.linalg.inv(a)).all()
    outcome = _det_outcome(a)
    assert outcome.status == "pass", outcome.message
    assert outcome.grads[0][1, 2] == pytest.approx(-3.8333012e-317, rel=1e-6)
