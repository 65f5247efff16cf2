"""The oracle against closed-form derivatives: relative error <= 1e-25, and its error bound holds."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder, DomainError, KinkError
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle

from .helpers import assert_matches_closed_form

M = mpmath

UNARY = {  # f'(x) in mpmath
    "neg": lambda x: -1, "square": lambda x: 2 * x, "sqrt": lambda x: 1 / (2 * M.sqrt(x)), "exp": M.exp,
    "expm1": M.exp, "log": lambda x: 1 / x, "log1p": lambda x: 1 / (1 + x), "sin": M.cos, "cos": lambda x: -M.sin(x),
    "tan": lambda x: M.sec(x) ** 2, "tanh": lambda x: M.sech(x) ** 2, "sinh": M.cosh, "cosh": M.sinh,
    "arctan": lambda x: 1 / (1 + x * x), "arcsinh": lambda x: 1 / M.sqrt(1 + x * x),
    "sigmoid": lambda x: M.exp(-x) / (1 + M.exp(-x)) ** 2, "softplus": lambda x: 1 / (1 + M.exp(-x)),
    "erf": lambda x: 2 / M.sqrt(M.pi) * M.exp(-x * x), "abs": M.sign, "relu": lambda x: 1 if x > 0 else 0,
}
BINARY = {  # (df/da, df/db)
    "mul": (lambda a, b: b, lambda a, b: a),
    "div": (lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    "pow": (lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * M.log(a)),
    "hypot": (lambda a, b: a / M.hypot(a, b), lambda a, b: b / M.hypot(a, b)),
    "atan2": (lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y)),
    "logaddexp": (lambda a, b: 1 / (1 + M.exp(b - a)), lambda a, b: 1 / (1 + M.exp(a - b))),
    "maximum": (lambda a, b: 1 if a > b else 0, lambda a, b: 0 if a > b else 1),
}
POINTS = {"sqrt": [0.3, 1.7, 4.0], "log": [0.3, 1.7, 4.0], "log1p": [-0.7, 0.2, 3.0], "tan": [-1.2, 0.3, 1.0],
          "abs": [-0.8, 0.4, 2.5], "relu": [-0.8, 0.4, 2.5]}
V = [0.75, -1.25, 2.0]


def _mp(a):
    return to_mp(np.asarray(a, dtype=float))


def _unary_case(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input(3)))
    x = np.array(POINTS.get(name, [-0.9, 0.35, 1.6]))
    grad = np.array([UNARY[name](xi) * vi for xi, vi in zip(_mp(x), _mp(V))], dtype=object)
    return fn, [x], [np.array(V)], [grad]


def _binary_case(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input(3), b.input(3)))
    a, c = np.array([0.6, 1.3, 2.2]), np.array([-0.4, 0.9, 1.7])
    if name == "atan2":
        a, c = np.array([-0.4, 0.9, 1.7]), np.array([0.6, 1.3, 2.2])
    da, db = BINARY[name]
    ga = np.array([da(p, q) * w for p, q, w in zip(_mp(a), _mp(c), _mp(V))], dtype=object)
    gb = np.array([db(p, q) * w for p, q, w in zip(_mp(a), _mp(c), _mp(V))], dtype=object)
    return fn, [a, c], [np.array(V)], [ga, gb]


def _composite_cases():
    rng = np.random.default_rng(7)
    cases = {}

    b = Builder()
    x = b.input(4)
    fn = b.build(b.mul(b.sin(x), b.exp(x)))
    xs, v = rng.normal(size=4), rng.normal(size=4)
    cases["sin(x)*exp(x)"] = (fn, [xs], [v], [np.array([(M.cos(p) + M.sin(p)) * M.exp(p) * w
                                                         for p, w in zip(_mp(xs), _mp(v))], dtype=object)])

    b = Builder()
    x = b.input(5)
    fn = b.build(b.log(b.add(b.square(x), b.input(()))))
    xs, one, v = rng.normal(size=5), np.array(1.0), rng.normal(size=5)
    g = np.array([2 * p / (1 + p * p) * w for p, w in zip(_mp(xs), _mp(v))], dtype=object)
    cases["log(1+x^2)"] = (fn, [xs, one], [v], [g, np.array(M.fsum(w / (1 + p * p) for p, w in zip(_mp(xs), _mp(v))))])

    b = Builder()
    W, x = b.input(3, 4), b.input(4)
    fn = b.build(b.tanh(b.matmul(W, x)))
    Wv, xv, v = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    Wm, xm, vm = _mp(Wv), _mp(xv), _mp(v)
    s = np.array([M.sech(h) ** 2 for h in Wm @ xm], dtype=object) * vm
    cases["tanh(Wx)"] = (fn, [Wv, xv], [v], [np.multiply.outer(s, xm), s @ Wm])

    for N, H in [(6, 3), (4, 4)]:
        b = Builder()
        A1, A2, A3, x = b.input(H, N), b.input(H, H), b.input(N, H), b.input(N)
        fn = b.build(b.matmul(A3, b.matmul(A2, b.matmul(A1, x))))
        vals = [rng.normal(size=s) for s in [(H, N), (H, H), (N, H), (N,)]]
        v = rng.normal(size=N)
        a1, a2, a3, xm = map(_mp, vals)
        vm = _mp(v)
        h1, h2 = a1 @ xm, a2 @ (a1 @ xm)
        g3, g2v, = vm, vm @ a3
        g1v = g2v @ a2
        cases[f"matrix chain N={N} H={H}"] = (fn, vals, [v], [np.multiply.outer(g1v, xm), np.multiply.outer(g2v, h1),
                                                            np.multiply.outer(g3, h2), g1v @ a1])

    b = Builder()
    x = b.input(5)
    fn = b.build(b.softmax(x))
    xs, v = rng.normal(size=5), rng.normal(size=5)
    e = np.array([M.exp(p) for p in _mp(xs)], dtype=object)
    sm = e / M.fsum(e)
    cases["softmax"] = (fn, [xs], [v], [sm * (_mp(v) - M.fsum(sm * _mp(v)))])

    b = Builder()
    x = b.input(2, 3)
    fn = b.build(b.logsumexp(x, axis=1))
    xs, v = rng.normal(size=(2, 3)), rng.normal(size=2)
    e = np.array([[M.exp(p) for p in row] for row in _mp(xs)], dtype=object)
    cases["logsumexp axis 1"] = (fn, [xs], [v], [e / np.array([[M.fsum(r)] for r in e]) * _mp(v)[:, None]])

    b = Builder()
    x = b.input(4)
    fn = b.build(b.norm(x))
    xs, v = rng.normal(size=4), np.array(1.7)
    xm = _mp(xs)
    cases["norm"] = (fn, [xs], [v], [xm / M.sqrt(M.fsum(xm * xm)) * M.mpf(1.7)])

    b = Builder()
    x = b.input(4)
    fn = b.build(b.prod(x))
    xs, v = rng.normal(size=4), np.array(-0.6)
    xm = _mp(xs)
    cases["prod"] = (fn, [xs], [v], [np.array([M.fprod(np.delete(xm, i)) * M.mpf(-0.6) for i in range(4)], dtype=object)])

    b = Builder()
    x = b.input(3)
    y = b.exp(x)
    fn = b.build(b.mul(b.sin(y), y))  # fan-out: y is used twice
    xs, v = rng.normal(size=3), rng.normal(size=3)
    cases["fan-out sin(e^x) e^x"] = (fn, [xs], [v], [np.array(
        [(M.cos(M.exp(p)) * M.exp(p) * M.exp(p) + M.sin(M.exp(p)) * M.exp(p)) * w for p, w in zip(_mp(xs), _mp(v))],
        dtype=object)])
    return cases


CASES = {**{f"{n}": (lambda n=n: _unary_case(n)) for n in UNARY},
         **{f"{n}": (lambda n=n: _binary_case(n)) for n in BINARY},
         # composite cases are rebuilt inside the caller's working precision
         **{k: (lambda k=k: _composite_cases()[k]) for k in _composite_cases()}}


def test_there_are_at_least_30_closed_form_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_closed_form(case):
    with mpmath.workprec(300):
        fn, xs, vs, exact = CASES[case]()
    result = Oracle().vjp(fn, xs, vs)
    assert_matches_closed_form(result, exact, relative_to="array", label=case)


def test_projected_mode_agrees_with_full_mode():
    fn, xs, vs, _ = CASES["tanh(Wx)"]()
    full = Oracle().vjp(fn, xs, vs)
    projected = Oracle().vjp(fn, xs, vs, mode="projected", k=3, seed=1)
    assert len(projected.projections) == 3
    for ws, d in zip(projected.directions, projected.projections):
        with mpmath.workprec(200):
            dot = sum(M.fsum((g * to_mp(w)).reshape(-1)) for g, w in zip(full.grads_mp, ws))
        assert abs(dot - d.value) <= 1e-30 * abs(d.value)


def test_oracle_precision_is_configurable():
    fn, xs, vs, exact = CASES["sin(x)*exp(x)"]()
    low = Oracle(prec=64, step_bits=24).vjp(fn, xs, vs)
    assert 1e-30 < low.max_error_rel < 1e-10
    assert Oracle().vjp(fn, xs, vs).max_error_rel < 1e-35
    value = Oracle(prec=256).value(fn, xs)[0]
    assert value[0].context.prec >= 53  # an mpf


def test_near_a_singularity_the_step_shrinks_and_the_bound_stays_honest():
    b = Builder()
    fn = b.build(b.log(b.input(2)))
    result = Oracle().vjp(fn, [np.array([1e-30, 1e-300])], [np.ones(2)])
    np.testing.assert_allclose(result.grads[0], [1e30, 1e300], rtol=1e-15)
    assert result.max_error_rel < 1e-25


def test_outside_the_domain_is_an_error_not_a_number():
    b = Builder()
    fn = b.build(b.log(b.input(2)))
    with pytest.raises(DomainError, match="node v0 \\(log\\): the point is outside the domain"):
        Oracle().vjp(fn, [np.array([1.0, -1.0])], [np.ones(2)])


def test_a_kink_is_an_error_and_one_sided_derivatives_are_available():
    b = Builder()
    x = b.input(2)
    fn = b.build(b.maximum(x, b.input(2)))
    xs = [np.array([1.0, 2.0]), np.array([1.0, 0.0])]
    with pytest.raises(KinkError, match="node v0 \\(maximum\\): the point is on a kink or tie"):
        Oracle().vjp(fn, xs, [np.ones(2)])
    direction = [np.array([1.0, 0.0]), np.zeros(2)]
    oracle = Oracle()
    right = oracle.directional(fn, xs, [np.ones(2)], direction, side=+1)
    left = oracle.directional(fn, xs, [np.ones(2)], direction, side=-1)
    assert abs(right.value - 1) < 1e-30 and abs(left.value) < 1e-30


def test_a_where_masking_an_undefined_branch_is_fine():
    b = Builder()
    x = b.input(2)
    fn = b.build(b.where(x, b.log(x), b.square(x)))
    result = Oracle().vjp(fn, [np.array([2.0, -3.0])], [np.ones(2)])
    assert result.masked == ["v0"]
    np.testing.assert_allclose(result.grads[0], [0.5, -6.0], rtol=1e-15)
