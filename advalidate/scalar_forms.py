"""Float forms NumPy and ``math`` lack, as scalar functions of Python floats (for ``np.frompyfunc``).

``digamma``, ``trigamma`` and ``erfinv`` are float implementations (never mpmath at run time): the recurrence
``psi(x) = psi(x + 1) - 1/x`` up to x >= 10, then the asymptotic series (its first omitted term below 4e-17 of
the result there); the reflection formula for negative x; near digamma's positive zero a Taylor series about
it (coefficients computed with mpmath on first use; |x - root| < 0.5), which keeps the value accurate relative to itself
where the recurrence would cancel. ``erfinv`` refines a rational first guess by Newton steps on ``math.erf``
(``math.erfc`` of ``1 - |x|`` near ±1, which is exact there by Sterbenz' lemma).
"""

from __future__ import annotations

import math

import mpmath

__all__ = ["digamma", "trigamma", "lgamma", "erfinv", "DIGAMMA_ROOT", "i0e", "i1e"]

# digamma's positive zero, split into a float and its remainder; Taylor coefficients about it and about 2.5 (computed
# with mpmath on first use: 0.6 s, not paid by every import)
DIGAMMA_ROOT = 1.4616321449683622
_ROOT_LO = None
_TAYLOR: list = []
_TAYLOR_25: list = []
_TAYLOR_RADIUS = 0.5  # about the zero: the terms shrink like (0.5 / 1.46)^k, 63 of them leave < 1e-29 relative
_UPPER = 3.05  # about 2.5 up to here (and down to 1.95): (0.55 / 2.5)^k


def _taylor():
    global _ROOT_LO
    if not _TAYLOR:
        with mpmath.workdps(40):
            root = mpmath.findroot(mpmath.digamma, mpmath.mpf("1.4616321449683623412626595423257213284681962"))
            assert float(root) == DIGAMMA_ROOT
            _ROOT_LO = float(root - DIGAMMA_ROOT)
            _TAYLOR_25.extend(float(mpmath.polygamma(k, 2.5) / mpmath.factorial(k)) for k in range(0, 40))
            _TAYLOR.extend(float(mpmath.polygamma(k, root) / mpmath.factorial(k)) for k in range(1, 64))
    return _TAYLOR


# asymptotic series: psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k); psi'(x) ~ 1/x + 1/(2x^2) + sum B_2k / x^(2k+1)
_B = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510]


def _digamma_taylor(x: float) -> float:
    coefficients = _taylor()
    if x > DIGAMMA_ROOT + _TAYLOR_RADIUS:
        return _poly(_TAYLOR_25, x - 2.5)
    d = (x - DIGAMMA_ROOT) - _ROOT_LO
    return _poly(coefficients, d) * d


def digamma(x: float) -> float:
    x = float(x)
    if math.isnan(x) or x == -math.inf or (x <= 0 and x == math.floor(x)):  # poles (and -inf)
        return math.nan
    if math.isinf(x):
        return math.inf if x > 0 else math.nan
    if x < 0:
        return digamma(1 - x) - math.pi / math.tan(math.pi * x)
    if x < 10:
        # into [root - 0.5, 3.05], two Taylor series: above it the terms 1/(y + j) are added to a positive digamma,
        # below it -1/y to a digamma below 0.41 (no cancellation beyond a factor 1.6)
        acc, y = 0.0, x
        while y > _UPPER:
            y -= 1
            acc += 1 / y
        while y < DIGAMMA_ROOT - _TAYLOR_RADIUS:
            acc -= 1 / y
            y += 1
        return _digamma_taylor(y) + acc
    f = 1 / (x * x)
    series = 0.0
    for k in reversed(range(len(_B))):
        series = series * f + _B[k] / (2 * (k + 1))
    return math.log(x) - 0.5 / x - f * series


# lgamma about 1 and 2: lgamma(1 + z) = -gamma·z + sum_k>=2 (-1)^k zeta(k)/k z^k, lgamma(2 + z) = (1 - gamma)·z +
# sum_k>=2 (-1)^k (zeta(k) - 1)/k z^k (math.lgamma loses 100 ulps near its zeros at 1 and 2)
_LGAMMA1: list = []
_LGAMMA2: list = []


def _lgamma_series():
    if not _LGAMMA1:
        with mpmath.workdps(40):
            g = mpmath.euler
            _LGAMMA1.extend([0.0, float(-g)] + [float((-1) ** k * mpmath.zeta(k) / k) for k in range(2, 64)])
            _LGAMMA2.extend([0.0, float(1 - g)] + [float((-1) ** k * (mpmath.zeta(k) - 1) / k) for k in range(2, 64)])
    return _LGAMMA1, _LGAMMA2


def _poly(coefficients, z):
    s = 0.0
    for c in reversed(coefficients):
        s = s * z + c
    return s


def lgamma(x: float) -> float:
    """log|Gamma(x)|, accurate relative to itself near its zeros at 1 and 2 too; inf at its poles, at ±inf and
    past float64's range (math.lgamma raises there: a special point's draw crashed on it)."""
    x = float(x)
    if math.isinf(x):
        return math.inf
    if 0.5 <= x <= 2.5:
        one, two = _lgamma_series()
        return _poly(one, x - 1) if x < 1.5 else _poly(two, x - 2)
    if 0 < x < 0.5:
        return lgamma(x + 1) - math.log(x)
    if 2.5 < x < 8:
        acc, y = 0.0, x  # lgamma(x) = lgamma(y) + sum log(y + j), all positive
        while y > 2.5:
            y -= 1
            acc += math.log(y)
        return lgamma(y) + acc
    if x <= 0 and x == math.floor(x):  # a pole: math.lgamma raises ("math domain error"); NumPy-like inf
        return math.inf
    try:
        return math.lgamma(x)
    except OverflowError:  # past about 2.56e305 the value exceeds float64's range
        return math.inf


def trigamma(x: float) -> float:
    x = float(x)
    if math.isnan(x) or x == -math.inf or (x <= 0 and x == math.floor(x)):  # poles (and -inf)
        return math.nan
    if math.isinf(x):
        return 0.0 if x > 0 else math.nan
    if x < 0:
        return (math.pi / math.sin(math.pi * x)) ** 2 - trigamma(1 - x)
    acc = 0.0
    while x < 10:
        acc += (1 / x) / x  # x·x may underflow to 0 where 1/x does not overflow
        x += 1
    f = 1 / (x * x)
    series = 0.0
    for k in reversed(range(len(_B))):
        series = series * f + _B[k]
    return acc + (1 / x + 0.5 * f + f / x * series)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erfinv(x: float) -> float:
    x = float(x)
    if math.isnan(x) or abs(x) > 1:
        return math.nan
    if abs(x) == 1:
        return math.copysign(math.inf, x)
    if x == 0:
        return x
    a = abs(x)
    # Giles (2010), single-precision first guess
    w = -math.log((1 - a) * (1 + a))
    if w < 5:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    y = p * a
    if a < 0.5:
        for _ in range(4):
            y -= (math.erf(y) - a) / (_TWO_OVER_SQRT_PI * math.exp(-y * y))
    else:
        c = 1 - a  # exact (Sterbenz)
        for _ in range(4):
            y += (math.erfc(y) - c) / (_TWO_OVER_SQRT_PI * math.exp(-y * y))
    return math.copysign(y, x)


# ---- issue 16: bessel. i0e(x) = exp(-|x|)·I0(x) and i1e(x) = exp(-|x|)·I1(x) as Chebyshev series (Clenshaw's
# recurrence in float64), their coefficients computed with mpmath on first use (0.3 s, not paid by every import), as
# Cephes' i0e and i1e are built: i0e(a) and i1e(a)/a on [0, 1/2], [1/2, 2], [2, 5], [5, 10] (a = |x|), and
# sqrt(a)·i0e(a), sqrt(a)·i1e(a) on [10, inf) as series in 20/a - 1 (smooth in 1/a; 1/sqrt(2 pi) at a = inf). Against
# mpmath at 120 bits over 10^-310 <= |x| <= 10^300 they are within 2.51 ulps (tests/test_oracle_special_functions.py
# checks 3 on a sample); i1e(x) = x·(i1e(x)/x) keeps its relative accuracy down to the subnormals.

_BESSEL_CUTS = (0.0, 0.5, 2.0, 5.0, 10.0)
_BESSEL_NODES = 48  # Chebyshev nodes per piece; coefficients below 1e-19 of the first are dropped (14 to 25 kept)
_BESSEL: dict = {}


def _chebyshev(f, a, b) -> list:
    """The Chebyshev coefficients (the first halved) of ``f`` on [a, b], by interpolation at the Chebyshev nodes."""
    n = _BESSEL_NODES
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    angles = [mpmath.pi * (k + mpmath.mpf(1) / 2) / n for k in range(n)]
    values = [f((a + b) / 2 + (b - a) / 2 * mpmath.cos(t)) for t in angles]
    coefficients = [2 * mpmath.fsum(v * mpmath.cos(j * t) for v, t in zip(values, angles)) / n for j in range(n)]
    coefficients[0] /= 2
    out = [float(c) for c in coefficients]
    while abs(out[-1]) < 1e-19 * abs(out[0]):
        out.pop()
    return out


def _bessel_series(nu: int):
    """(pieces on [0, 10]: (lo, hi, coefficients), the coefficients of the tail) for order ``nu``."""
    if nu not in _BESSEL:
        with mpmath.workdps(35):
            def near(a):  # i0e(a), i1e(a)/a
                v = mpmath.besseli(nu, a) * mpmath.exp(-a)
                return v / a if nu else v

            def tail(s):  # sqrt(a)·i_nu e(a) at a = 1/s
                return mpmath.besseli(nu, 1 / s) * mpmath.exp(-1 / s) / mpmath.sqrt(s) if s else 1 / mpmath.sqrt(
                    2 * mpmath.pi)

            pieces = [(lo, hi, _chebyshev(near, lo, hi)) for lo, hi in zip(_BESSEL_CUTS[:-1], _BESSEL_CUTS[1:])]
            _BESSEL[nu] = (pieces, _chebyshev(tail, 0, 1 / mpmath.mpf(_BESSEL_CUTS[-1])))
    return _BESSEL[nu]


def _clenshaw(coefficients, t: float) -> float:
    b1 = b2 = 0.0
    t2 = 2 * t
    for c in reversed(coefficients[1:]):
        b1, b2 = c + t2 * b1 - b2, b1
    return coefficients[0] + t * b1 - b2


def _bessel_e(nu: int, a: float) -> float:
    """i0e(a) (nu = 0) or i1e(a)/a (nu = 1) below 10; sqrt(a)·i_nu e(a) from 10 up (a >= 0 or NaN)."""
    pieces, tail = _bessel_series(nu)
    for lo, hi, coefficients in pieces:
        if a <= hi:
            return _clenshaw(coefficients, (2 * a - lo - hi) / (hi - lo))
    return _clenshaw(tail, 2 * _BESSEL_CUTS[-1] / a - 1)  # NaN stays NaN; a = inf gives 1/sqrt(2 pi)


def i0e(x: float) -> float:
    """exp(-|x|)·I0(x)."""
    a = abs(float(x))
    v = _bessel_e(0, a)
    return v if a <= _BESSEL_CUTS[-1] else v / math.sqrt(a)


def i1e(x: float) -> float:
    """exp(-|x|)·I1(x) (odd)."""
    x = float(x)
    a = abs(x)
    v = _bessel_e(1, a)
    return x * v if a <= _BESSEL_CUTS[-1] else math.copysign(v / math.sqrt(a), x)
