"""Float forms NumPy and ``math`` lack, as scalar functions of Python floats (for ``np.frompyfunc``).

``digamma``, ``trigamma`` and ``erfinv`` are float implementations (never mpmath at run time): the recurrence
``psi(x) = psi(x + 1) - 1/x`` up to x >= 10, then the asymptotic series (its first omitted term below 4e-17 of
the result there); the reflection formula for negative x; near digamma's positive zero a Taylor series about
it (coefficients computed once, at import, with mpmath; |x - root| < 0.7), which keeps the value accurate relative to itself
where the recurrence would cancel. ``erfinv`` refines a rational first guess by Newton steps on ``math.erf``
(``math.erfc`` of ``1 - |x|`` near ±1, which is exact there by Sterbenz' lemma).
"""

from __future__ import annotations

import math

import mpmath

__all__ = ["digamma", "trigamma", "erfinv", "DIGAMMA_ROOT"]

# digamma's positive zero, split into a float and its remainder, and the Taylor coefficients about it (computed
# with mpmath on first use: 0.6 s, not paid by every import)
DIGAMMA_ROOT = 1.4616321449683622
_ROOT_LO = None
_TAYLOR: list = []


def _taylor():
    global _ROOT_LO
    if not _TAYLOR:
        with mpmath.workdps(40):
            root = mpmath.findroot(mpmath.digamma, mpmath.mpf("1.4616321449683623412626595423257213284681962"))
            assert float(root) == DIGAMMA_ROOT
            _ROOT_LO = float(root - DIGAMMA_ROOT)
            _TAYLOR.extend(float(mpmath.polygamma(k, root) / mpmath.factorial(k)) for k in range(1, 64))
    return _TAYLOR


_TAYLOR_RADIUS = 0.7  # the terms shrink like (0.7 / 1.46)^k: 63 of them leave < 1e-19 relative

# asymptotic series: psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k); psi'(x) ~ 1/x + 1/(2x^2) + sum B_2k / x^(2k+1)
_B = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510]


def digamma(x: float) -> float:
    x = float(x)
    if math.isnan(x) or (x <= 0 and x == math.floor(x)):
        return math.nan
    if math.isinf(x):
        return math.inf if x > 0 else math.nan
    if x < 0:
        return digamma(1 - x) - math.pi / math.tan(math.pi * x)
    if abs(x - DIGAMMA_ROOT) < _TAYLOR_RADIUS:
        coefficients = _taylor()
        d = (x - DIGAMMA_ROOT) - _ROOT_LO
        s = 0.0
        for c in reversed(coefficients):
            s = s * d + c
        return s * d
    acc = 0.0
    while x < 10:
        acc -= 1 / x
        x += 1
    f = 1 / (x * x)
    series = 0.0
    for k in reversed(range(len(_B))):
        series = series * f + _B[k] / (2 * (k + 1))
    return acc + (math.log(x) - 0.5 / x - f * series)


def trigamma(x: float) -> float:
    x = float(x)
    if math.isnan(x) or (x <= 0 and x == math.floor(x)):
        return math.nan
    if math.isinf(x):
        return 0.0 if x > 0 else math.nan
    if x < 0:
        return (math.pi / math.sin(math.pi * x)) ** 2 - trigamma(1 - x)
    acc = 0.0
    while x < 10:
        acc += 1 / (x * x)
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
