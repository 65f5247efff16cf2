"""The oracle on the whole float64 range: far from the origin and at derivatives down to 1e-300.

Each case is an elementary primitive at an argument where it and its derivative are finite in float64 (up to
1e300 where they stay finite), or where the derivative is tiny (a saturated tail, down to 1e-300). The oracle's
value must be right to 1e-25 relative, its error bound must hold and be below 1e-20 relative: a bound of about
|value| would hold trivially and be useless. An exact zero must come back as 0 with a bound far below float64's
smallest normal number.
"""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.oracle import Oracle

M = mpmath

UNARY = {  # name: (f'(x) in mpmath, far arguments)
    "neg": (lambda x: -1, [1e300, -1e300]),
    "square": (lambda x: 2 * x, [1e154, -1e-154, 1e-300]),
    "sqrt": (lambda x: 1 / (2 * M.sqrt(x)), [1e300, 1e-300, 1e-310]),
    "exp": (M.exp, [709.0, -690.0]),
    "expm1": (M.exp, [709.0, -690.0]),
    "log": (lambda x: 1 / x, [1e300, 1e-300]),
    "log1p": (lambda x: 1 / (1 + x), [1e300, -1 + 2.0 ** -52]),
    "sin": (M.cos, [1.2100416272066182e155, 1e300, -1e300, 1e-300]),
    "cos": (lambda x: -M.sin(x), [1.2100416272066182e155, 1e300, -1e300]),
    "tan": (lambda x: M.sec(x) ** 2, [1e300, 1e-300]),
    "tanh": (lambda x: M.sech(x) ** 2, [345.0, -345.0, 1e-300]),
    "sinh": (M.cosh, [709.0, -709.0]),
    "cosh": (M.sinh, [709.0, -709.0]),
    "arctan": (lambda x: 1 / (1 + x * x), [1e150, 1e300, -1e300]),
    "arcsinh": (lambda x: 1 / M.sqrt(1 + x * x), [1e200, 1e300, -1e300]),
    "sigmoid": (lambda x: M.exp(-x) / (1 + M.exp(-x)) ** 2, [690.0, -690.0]),
    "softplus": (lambda x: 1 / (1 + M.exp(-x)), [-690.0, 1e300]),
    "erf": (lambda x: 2 / M.sqrt(M.pi) * M.exp(-x * x), [26.0, -26.0]),
    "abs": (M.sign, [1e300, -1e300]),  # at 1e-310 the point is within rounding of the kink: a KinkError
    "relu": (lambda x: 1, [1e300]),
}
BINARY = {  # name: ((df/da, df/db), far argument pairs)
    "add": ((lambda a, b: 1, lambda a, b: 1), [(1e300, -1e300), (1e-310, 1e300)]),
    "sub": ((lambda a, b: 1, lambda a, b: -1), [(1e300, 1e300)]),
    "mul": ((lambda a, b: b, lambda a, b: a), [(1e150, 1e150), (1e-150, 1e-150), (1e300, 1e-300)]),
    "div": ((lambda a, b: 1 / b, lambda a, b: -a / b ** 2), [(1.0, 1e150), (1e300, 1e300), (1e-300, 1.0)]),
    "pow": ((lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * M.log(a)), [(2.0, 1000.0), (1e300, 1.0)]),
    "hypot": ((lambda a, b: a / M.hypot(a, b), lambda a, b: b / M.hypot(a, b)), [(1e300, 1e300), (3e-300, 1e300)]),
    "atan2": ((lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y)), [(1e300, 1e300), (1e-300, 1.0)]),
    "logaddexp": ((lambda a, b: 1 / (1 + M.exp(b - a)), lambda a, b: 1 / (1 + M.exp(a - b))), [(345.0, -345.0)]),
    "maximum": ((lambda a, b: 1 if a > b else 0, lambda a, b: 0 if a > b else 1), [(1e300, -1e300)]),
}
TINY = float(np.finfo(np.float64).tiny)
CASES = [(name, (x,)) for name, (_, xs) in UNARY.items() for x in xs] + \
        [(name, pair) for name, (_, pairs) in BINARY.items() for pair in pairs]


def _exact(name, args):
    with M.workprec(4000):
        mps = [M.mpf(a) for a in args]
        if name in UNARY:
            return [UNARY[name][0](*mps)]
        return [d(*mps) for d in BINARY[name][0]]


@pytest.mark.parametrize("name,args", CASES, ids=[f"{n}{a}" for n, a in CASES])
def test_far_from_the_origin_and_at_tiny_derivatives(name, args):
    b = Builder()
    fn = b.build(b.apply(name, *[b.input(()) for _ in args]))
    result = Oracle().vjp(fn, [np.array(a) for a in args], [np.array(1.0)])
    for got, bound, want, bound64 in zip(result.grads_mp, result.errors_mp, _exact(name, args), result.errors):
        got, bound = got[()], bound[()]
        with M.workprec(4000):
            actual = abs(got - want)
        assert actual <= bound, f"the bound must hold: |{got} - {want}| = {actual} > {bound}"
        assert abs(float(actual)) <= bound64[()], "the float64 bound, rounded up, must hold too"
        if abs(want) < TINY:  # 0, or below float64's range (arctan' at 1e300 is 1e-600): resolved absolutely
            assert bound < M.ldexp(TINY, -60), f"value {got}, exact {want}: bound {bound}"
        else:
            assert actual <= M.mpf("1e-25") * abs(want), f"value {got}, exact {want}"
            assert bound <= M.mpf("1e-20") * abs(want), f"bound {bound} is not tight for {want}"


def test_the_case_list_reaches_the_range():
    """Every elementary primitive has a case; the arguments reach 1e300 and the derivatives 1e-300."""
    assert max(abs(a) for _, args in CASES for a in args) >= 1e300
    tiny = min(abs(float(d)) for name, args in CASES for d in _exact(name, args) if d != 0)
    assert tiny <= 1e-300


def test_an_exact_zero_is_told_from_a_saturated_tail():
    """erf'(26) = 3e-294 looks like 0 at the first precision, relu'(-1) is 0: both in one program."""
    b = Builder()
    fn = b.build(b.add(b.erf(b.input(())), b.relu(b.input(()))))
    result = Oracle().vjp(fn, [np.array(26.0), np.array(-1.0)], [np.array(1.0)])
    erf26 = _exact("erf", (26.0,))[0]
    assert abs(result.grads_mp[0][()] - erf26) <= M.mpf("1e-25") * erf26
    assert result.grads_mp[1][()] == 0 and result.errors_mp[1][()] < M.ldexp(TINY, -60)


def test_projected_mode_far_from_the_origin():
    b = Builder()
    x = b.input(3)
    fn = b.build(b.sin(x))
    xs = np.array([1.2100416272066182e155, 1e300, 0.5])
    result = Oracle().vjp(fn, [xs], [np.array([1.0, -2.0, 0.5])], mode="projected", k=2, seed=3)
    with M.workprec(400):
        for ws, d in zip(result.directions, result.projections):
            exact = M.fsum(M.cos(M.mpf(p)) * M.mpf(v) * M.mpf(w) for p, v, w in zip(xs, [1.0, -2.0, 0.5], ws[0]))
            assert abs(d.value - exact) <= d.error <= M.mpf("1e-20") * abs(exact)


# ---- what the range means for findings: no false alarm far out, no blindness to tiny derivatives


def _check(name, x, backend):
    from advalidate.check import check_example

    b = Builder()
    fn = b.build(b.apply(name, b.input(())))
    return check_example(fn, [np.array(x)], [np.array(1.0)], [backend], measure_work=False).outcomes[0]


def test_a_correct_vjp_far_from_the_origin_passes():
    """sin at 1.21e155: the old oracle's step (2^-64·|x|) spanned 1e136 periods and gave 3e-136 for cos(x) = -0.84,
    so numpy-ref and every correct library were flagged."""
    from advalidate.backends.numpy_ref import NumpyReference

    for name, x in [("sin", 1.2100416272066182e155), ("cos", 1e300), ("arcsinh", 1e200), ("log", 1e300)]:
        outcome = _check(name, x, NumpyReference())
        assert outcome.status == "pass", (name, x, outcome.kind, outcome.message)


def test_a_vjp_of_zero_where_the_derivative_is_tiny_is_caught():
    """arcsinh at 1e200 has derivative 1e-200: the old bound (never below ~2e-47 absolute) let a VJP of 0 pass."""
    from tests.helpers import Mutant

    zero = Mutant("zero-arcsinh", arcsinh=(lambda g, ans, x: 0 * g,))
    outcome = _check("arcsinh", 1e200, zero)
    assert outcome.status == "finding" and outcome.kind == "wrong-value", outcome.message


def test_a_richardson_value_of_exactly_zero_from_unequal_differences_terminates(monkeypatch):
    """4·D(h/2) = D(h) exactly gives a value of 0 whose bound is not 0: the relative target was 0 too, and the
    refinement divided by it (a ZeroDivisionError that ended a special campaign). The target has a floor."""
    from advalidate.oracle import Derivative

    def unequal(self, fn, xs, ws, vs, step_exp, wprec, side, magnitude, first_only=False):
        return Derivative(M.mpf(0), M.ldexp(1, -400), -step_exp, False, M.ldexp(1, -400))

    monkeypatch.setattr(Oracle, "_difference", unequal)
    b = Builder()
    fn = b.build(b.sin(b.input(())))
    d = Oracle().directional(fn, [np.array(1.0)], [np.array(1.0)], [np.array(1.0)])
    assert d.value == 0 and d.error == M.ldexp(1, -400)
