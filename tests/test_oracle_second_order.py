"""The oracle's Hessian-vector products against closed forms: ≤ 1e-25 relative, the error bound holding.

``Oracle.hvp`` is the second-order building block (issue 17's second half): ``H_v·u``, the derivative along u of the
VJP Jᵀv, by mixed second differences at high precision. No backend is checked in second order yet; these tests pin
the oracle's accuracy first."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle

from .test_core_oracle import POINTS

M = mpmath
TOL = M.mpf("1e-25")

SECOND = {  # f''(x) in mpmath
    "neg": lambda x: 0, "square": lambda x: 2, "sqrt": lambda x: -1 / (4 * x * M.sqrt(x)), "exp": M.exp,
    "expm1": M.exp, "log": lambda x: -1 / (x * x), "log1p": lambda x: -1 / (1 + x) ** 2, "sin": lambda x: -M.sin(x),
    "cos": lambda x: -M.cos(x), "tan": lambda x: 2 * M.sec(x) ** 2 * M.tan(x),
    "tanh": lambda x: -2 * M.tanh(x) * M.sech(x) ** 2, "sinh": M.sinh, "cosh": M.cosh,
    "arctan": lambda x: -2 * x / (1 + x * x) ** 2, "arcsinh": lambda x: -x / (1 + x * x) ** M.mpf(1.5),
    "sigmoid": lambda x: (lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + M.exp(-x))),
    "softplus": lambda x: (lambda s: s * (1 - s))(1 / (1 + M.exp(-x))),
    "erf": lambda x: -4 * x / M.sqrt(M.pi) * M.exp(-x * x), "abs": lambda x: 0, "relu": lambda x: 0,
}
V, U = [0.75, -1.25, 2.0], [0.5, -1.5, 0.875]


def _check(result, exact, label):
    with M.workprec(300):
        for i, (got, err, want) in enumerate(zip(result.hvps_mp, result.errors_mp, exact)):
            want = [M.mpf(w) for w in np.asarray(want, dtype=object).reshape(-1)]
            scale = max(abs(w) for w in want)
            for j, (g, e, w) in enumerate(zip(np.reshape(got, -1), np.reshape(err, -1), want)):
                where = f"{label} input {i}, entry {j}: {g} vs {w}, bound {e}"
                assert abs(g - w) <= e, f"{where}: the error bound must hold"
                if scale:
                    assert abs(g - w) <= TOL * scale and e <= TOL * scale, f"{where}: above 1e-25 of {scale}"
                else:
                    assert e <= M.ldexp(1, -1000), f"{where}: an exact zero's bound"


@pytest.mark.parametrize("name", sorted(SECOND))
def test_oracle_hvp_of_a_unary_closed_form(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input(3)))
    x = np.array(POINTS.get(name, [-0.9, 0.35, 1.6]))
    with M.workprec(300):
        exact = [np.array([SECOND[name](p) * v * u for p, v, u in zip(to_mp(x), to_mp(np.array(V)), to_mp(np.array(U)))],
                          dtype=object)]
    _check(Oracle().hvp(fn, [x], [np.array(V)], [np.array(U)]), exact, name)


def test_oracle_hvp_of_mul_and_div():
    a, c = np.array([0.6, 1.3, 2.2]), np.array([-0.4, 0.9, 1.7])
    ua, uc = np.array(U), np.array([1.25, 0.375, -0.75])
    for name in ("mul", "div"):
        b = Builder()
        fn = b.build(b.apply(name, b.input(3), b.input(3)))
        with M.workprec(300):
            A, C, v, sa, sc = (to_mp(t) for t in (a, c, np.array(V), ua, uc))
            if name == "mul":  # H = [[0, v], [v, 0]] per entry
                exact = [v * sc, v * sa]
            else:  # a/b: d²/da² = 0, d²/da db = -1/b², d²/db² = 2a/b³
                exact = [v * (-sc / (C * C)), v * (-sa / (C * C) + 2 * A * sc / (C * C * C))]
        _check(Oracle().hvp(fn, [a, c], [np.array(V)], [ua, uc]), exact, name)


def test_oracle_hvp_of_a_composite_closed_form():
    """sin(x)·exp(x) elementwise: f'' = 2·cos(x)·e^x."""
    b = Builder()
    x = b.input(4)
    fn = b.build(b.mul(b.sin(x), b.exp(x)))
    rng = np.random.default_rng(7)
    xs, v, u = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    with M.workprec(300):
        exact = [np.array([2 * M.cos(p) * M.exp(p) * q * r for p, q, r in zip(to_mp(xs), to_mp(v), to_mp(u))],
                          dtype=object)]
    _check(Oracle().hvp(fn, [xs], [v], [u]), exact, "sin(x)·exp(x)")


def test_the_oracle_hessian_is_symmetric_within_its_bounds():
    """<w, H_v·u> = <u, H_v·w> for tanh(W·x) over both inputs, W and x (a Hessian with cross terms)."""
    b = Builder()
    W, x = b.input(3, 2), b.input(2)
    fn = b.build(b.tanh(b.matmul(W, x)))
    rng = np.random.default_rng(3)
    point = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    v = [rng.normal(size=3)]
    u, w = [rng.normal(size=(3, 2)), rng.normal(size=2)], [rng.normal(size=(3, 2)), rng.normal(size=2)]
    hu, hw = Oracle().hvp(fn, point, v, u), Oracle().hvp(fn, point, v, w)
    with M.workprec(300):
        left = M.fsum(a * M.mpf(float(b_)) for h, d in zip(hu.hvps_mp, w) for a, b_ in zip(np.reshape(h, -1), np.reshape(d, -1)))
        right = M.fsum(a * M.mpf(float(b_)) for h, d in zip(hw.hvps_mp, u) for a, b_ in zip(np.reshape(h, -1), np.reshape(d, -1)))
        bound = M.fsum(e * abs(M.mpf(float(b_))) for r, d in ((hu, w), (hw, u))
                       for h, dd in zip(r.errors_mp, d) for e, b_ in zip(np.reshape(h, -1), np.reshape(dd, -1)))
        assert abs(left - right) <= bound and bound <= TOL * abs(left), (left, right, bound)


def test_oracle_hvp_refuses_a_direction_of_the_wrong_shape_and_is_exact_along_zero():
    b = Builder()
    fn = b.build(b.exp(b.input(2)))
    with pytest.raises(ValueError, match="direction 0 has shape"):
        Oracle().hvp(fn, [np.ones(2)], [np.ones(2)], [np.ones(3)])
    result = Oracle().hvp(fn, [np.array([0.5, 2.0])], [np.ones(2)], [np.zeros(2)])
    assert np.all(result.hvps[0] == 0) and np.all(result.errors[0] == 0)
