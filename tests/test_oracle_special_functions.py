"""Issue 16's elementwise primitives, activations and special functions: the oracle against closed-form derivatives
written here with mpmath (not the registrations' rules), relative error <= 1e-25, and its error bound holding,
including points near poles, domain edges and the zero of digamma."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle

from .helpers import assert_matches_closed_form

M = mpmath
SELU_A, SELU_L = "1.6732632423543772848170429916717", "1.0507009873554804934193349852946"  # read at 300 bits


def _phi(x):
    return M.exp(-x * x / 2) / M.sqrt(2 * M.pi)


def _gelu_tanh_d(x):
    c, k = M.sqrt(2 / M.pi), M.mpf(0.044715)
    u = c * (x + k * x ** 3)
    return (1 + M.tanh(u)) / 2 + x / 2 * M.sech(u) ** 2 * c * (1 + 3 * k * x * x)


def _mish_d(x):
    sp = M.log1p(M.exp(x))
    return M.tanh(sp) + x * M.sech(sp) ** 2 / (1 + M.exp(-x))


UNARY = {  # name: (f'(x) in mpmath, points, params)
    "arcsin": (lambda x: 1 / M.sqrt(1 - x * x), [-0.9, 0.2, 0.999999], {}),
    "arccos": (lambda x: -1 / M.sqrt(1 - x * x), [-0.999999, 0.3, 0.85], {}),
    "arctanh": (lambda x: 1 / (1 - x * x), [-0.7, 0.1, 0.999999], {}),
    "arccosh": (lambda x: 1 / M.sqrt(x * x - 1), [1.000001, 1.5, 30.0], {}),
    "exp2": (lambda x: M.ln2 * M.power(2, x), [-3.0, 0.5, 10.0], {}),
    "log2": (lambda x: 1 / (x * M.ln2), [1e-5, 0.7, 9.0], {}),
    "log10": (lambda x: 1 / (x * M.ln10), [1e-5, 0.7, 9.0], {}),
    "reciprocal": (lambda x: -1 / (x * x), [-2.5, 1e-4, 0.8], {}),
    "rsqrt": (lambda x: -M.power(x, -1.5) / 2, [1e-4, 0.8, 40.0], {}),
    "cbrt": (lambda x: M.power(abs(x), M.mpf(-2) / 3) / 3, [-8.0, 1e-6, 0.5], {}),
    "int_pow": (lambda x: -3 * x ** -4, [-1.7, -0.3, 0.9], {"n": -3}),
    "sign": (lambda x: 0, [-1.5, 0.25, 3.0], {}),
    "floor": (lambda x: 0, [-1.5, 0.25, 3.7], {}),
    "round": (lambda x: 0, [-1.2, 0.25, 3.7], {}),
    "gelu": (lambda x: (1 + M.erf(x / M.sqrt(2))) / 2 + x * _phi(x), [-6.0, -0.75, 1.3], {}),
    "gelu_tanh": (_gelu_tanh_d, [-4.0, -0.75, 1.3], {}),
    "silu": (lambda x: (1 + M.exp(-x) + x * M.exp(-x)) / (1 + M.exp(-x)) ** 2, [-30.0, -1.28, 2.0], {}),
    "mish": (_mish_d, [-20.0, -1.19, 2.0], {}),
    "elu": (lambda x: 1 if x > 0 else M.exp(x), [-3.0, -0.2, 0.7], {}),
    "selu": (lambda x: M.mpf(SELU_L) if x > 0 else M.mpf(SELU_L) * M.mpf(SELU_A) * M.exp(x), [-3.0, -0.2, 0.7], {}),
    "leaky_relu": (lambda x: 1 if x > 0 else M.mpf(0.01), [-3.0, -0.2, 0.7], {"slope": 0.01}),
    "softsign": (lambda x: 1 / (1 + abs(x)) ** 2, [-3.0, 0.2, 0.7], {}),
    "relu6": (lambda x: 1 if 0 < x < 6 else 0, [-3.0, 0.2, 6.5], {}),
    "hardtanh": (lambda x: 1 if -1 < x < 1 else 0, [-3.0, 0.2, 1.5], {}),
    "clip": (lambda x: 1 if -0.5 < x < 1 else 0, [-3.0, 0.2, 1.5], {"lo": -0.5, "hi": 1.0}),
    "gammaln": (M.digamma, [1e-6, 1.4616321449683622, 7.5, -2.5], {}),
    "digamma": (lambda x: M.psi(1, x), [1e-4, 1.4616321449683622, 20.0, -16.5], {}),
    "erfc": (lambda x: -2 / M.sqrt(M.pi) * M.exp(-x * x), [-2.0, 0.5, 25.0], {}),
    "erfinv": (lambda x: M.sqrt(M.pi) / 2 * M.exp(M.erfinv(x) ** 2), [-0.999999, 0.1, 0.9], {}),
    "logit": (lambda x: 1 / (x * (1 - x)), [1e-6, 0.4, 0.999999], {}),
    "log_sigmoid": (lambda x: 1 / (1 + M.exp(x)), [-30.0, 0.3, 40.0], {}),
}
BINARY = {  # name: (df/da, df/db, a, b)
    "xlogy": (lambda a, b: M.log(b), lambda a, b: a / b, [0.0, -1.5, 2.0], [1e-3, 0.7, 30.0]),
    "xlog1py": (lambda a, b: M.log1p(b), lambda a, b: a / (1 + b), [0.0, -1.5, 2.0], [-0.999, 1e-9, 30.0]),
    "fmod": (lambda a, b: 1, lambda a, b: -M.floor(a / b) if a / b > 0 else -M.ceil(a / b),
             [-7.3, 0.4, 5.5], [2.0, -0.3, 1.25]),
    "remainder": (lambda a, b: 1, lambda a, b: -M.floor(a / b), [-7.3, 0.4, 5.5], [2.0, -0.3, 1.25]),
    "bce_with_logits": (lambda z, y: 1 / (1 + M.exp(-z)) - y, lambda z, y: -z, [-30.0, 0.4, 12.0], [0.3, 0.9, 0.5]),
}
V = [0.75, -1.25, 2.0, 0.5]


def _mp(a):
    return to_mp(np.asarray(a, dtype=float))


def _unary_case(name):
    d, points, params = UNARY[name]
    b = Builder()
    fn = b.build(b.apply(name, b.input(len(points)), **params))
    x, v = np.array(points), np.array(V[:len(points)])
    grad = np.array([d(p) * w for p, w in zip(_mp(x), _mp(v))], dtype=object)
    return fn, [x], [v], [grad]


def _binary_case(name):
    da, db, a, c = BINARY[name]
    b = Builder()
    fn = b.build(b.apply(name, b.input(3), b.input(3)))
    a, c, v = np.array(a), np.array(c), np.array(V[:3])
    ga = np.array([da(p, q) * w for p, q, w in zip(_mp(a), _mp(c), _mp(v))], dtype=object)
    gb = np.array([db(p, q) * w for p, q, w in zip(_mp(a), _mp(c), _mp(v))], dtype=object)
    return fn, [a, c], [v], [ga, gb]


CASES = {**{n: (lambda n=n: _unary_case(n)) for n in UNARY}, **{n: (lambda n=n: _binary_case(n)) for n in BINARY}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_matches_the_closed_form(case):
    with mpmath.workprec(300):
        fn, xs, vs, exact = CASES[case]()
    result = Oracle().vjp(fn, xs, vs)
    assert_matches_closed_form(result, exact, relative_to="entry", label=case)
