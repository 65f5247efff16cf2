"""Every registration's reference rules: the JVP and the VJP are adjoint (<v, J w> = <J^T v, w>) on random
samples, in float64 and on mpmath object arrays, and the JVP is the derivative of the mpmath form (a central
difference at high precision)."""

import zlib

import mpmath
import numpy as np
import pytest

from advalidate import primitives
from advalidate.backends.numpy_ref import unbroadcast
from advalidate.evaluate import to_mp

NAMES = list(primitives.CATALOGUE)


def _operands(prim, rng, broadcast):
    """Operand shapes (broadcasting ones where the primitive broadcasts and ``broadcast``), params, operands."""
    shapes, params = prim.example_args((3, 4))
    if broadcast:
        shapes = [(3, 4), (1, 4), (4,)][:len(shapes)] if prim.rule == "where" else [(3, 4), (4,)]
    fake = type("F", (), {"inputs": shapes, "dtype": "float64",
                          "nodes": [type("N", (), {"prim": prim.name, "args": [f"x{i}" for i in range(len(shapes))]})]})
    xs = primitives.fixed_point(fake, rng)
    return shapes, prim.check_params(params), xs


def _vjp(prim, g, ans, xs, params):
    rules = prim.vjp
    if callable(rules):
        parts = rules(g, ans, *xs, **params)
    else:
        parts = [None if r is None else r(g, ans, *xs, **params) for r in rules]
    return [np.zeros(np.shape(x)) if p is None else unbroadcast(np.asarray(p), np.shape(x)) for p, x in zip(parts, xs)]


def _dot(a, b):
    return np.sum(np.asarray(a) * np.asarray(b))


def _cases():
    for name in NAMES:
        yield pytest.param(name, False, id=name)
        if primitives.CATALOGUE[name].rule in ("binary", "where"):
            yield pytest.param(name, True, id=f"{name}-broadcast")


@pytest.mark.parametrize("name, broadcast", list(_cases()))
def test_jvp_and_vjp_are_adjoint_in_float64(name, broadcast):
    prim = primitives.get(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for _ in range(3):
        shapes, params, xs = _operands(prim, rng, broadcast)
        ans = np.asarray(prim.np(*xs, **params))
        v = rng.standard_normal(ans.shape)
        ws = [rng.standard_normal(s) for s in shapes]
        jw = np.asarray(prim.jvp(ws, ans, *xs, **params))
        assert jw.shape == ans.shape, f"{name}: the JVP has shape {jw.shape}, the result {ans.shape}"
        left = _dot(v, jw)
        right = sum(_dot(c, w) for c, w in zip(_vjp(prim, v, ans, xs, params), ws))
        scale = _dot(np.abs(v), np.abs(jw)) + 1.0
        assert abs(left - right) <= 1e-12 * scale, f"{name}: <v, J w> = {left!r} but <J^T v, w> = {right!r}"


@pytest.mark.parametrize("name, broadcast", list(_cases()))
def test_jvp_and_vjp_are_adjoint_on_mpmath_arrays_and_the_jvp_is_the_derivative(name, broadcast):
    prim = primitives.get(name)
    rng = np.random.default_rng(1 + zlib.crc32(name.encode()))
    shapes, params, xs = _operands(prim, rng, broadcast)
    with mpmath.workprec(300):
        mxs = [to_mp(x) for x in xs]
        ans = np.asarray(prim.mp(*mxs, **params), dtype=object)
        v = to_mp(rng.standard_normal(ans.shape))
        ws = [to_mp(rng.standard_normal(s)) for s in shapes]
        jw = np.asarray(prim.jvp(ws, ans, *mxs, **params), dtype=object)
        left = _dot(v, jw) + mpmath.mpf(0)
        right = sum((_dot(c, w) for c, w in zip(_vjp(prim, v, ans, mxs, params), ws)), mpmath.mpf(0))
        tol = mpmath.ldexp(1, -250) * (abs(left) + 1)
        assert abs(left - right) <= tol, f"{name}: <v, J w> = {left} but <J^T v, w> = {right} at 300 bits"
        # the JVP against a central difference of the mpmath form: error O(h^2) = 1e-60
        h = mpmath.mpf(10) ** -30
        plus = np.asarray(prim.mp(*[x + h * w for x, w in zip(mxs, ws)], **params), dtype=object)
        minus = np.asarray(prim.mp(*[x - h * w for x, w in zip(mxs, ws)], **params), dtype=object)
        fd = np.asarray((plus - minus) / (2 * h), dtype=object)  # a 0-d difference is a bare mpf
        for got, want in zip(jw.reshape(-1), fd.reshape(-1)):
            assert abs(got - want) <= mpmath.mpf(10) ** -50 * (1 + abs(want)), f"{name}: JVP {got}, derivative {want}"
