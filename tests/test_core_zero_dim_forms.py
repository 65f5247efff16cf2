"""Regression tests for two core bugs the strategies found: primitive forms on 0-d (scalar) arrays."""

import numpy as np
import pytest

from advalidate import primitives
from advalidate.builder import Builder
from advalidate.evaluate import to_mp, trace

ONE_ARG = [p.name for p in primitives.CATALOGUE.values()
           if p.arity == 1 and p.family in ("elementwise", "nn", "reduction") and p.name not in ("softmax", "log_softmax")]


@pytest.mark.parametrize("name", ONE_ARG)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_float_form_of_a_scalar_keeps_its_dtype(name, dtype):
    out = primitives.CATALOGUE[name].np(np.array(0.5, dtype=dtype))
    assert np.asarray(out).shape == () and np.asarray(out).dtype == np.dtype(dtype)  # erf returned a float


@pytest.mark.parametrize("name", ONE_ARG)
def test_mpmath_form_of_a_scalar_agrees_with_the_float_form(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input()))
    domain = primitives.CATALOGUE[name].domain
    x = 0.5 if domain is None or domain(np.array(0.5)) > 0 else 1.5  # arccosh: 0.5 is outside its domain
    mp = trace(fn, [to_mp(np.array(x))], "mp")["v0"]  # logsumexp raised AttributeError on an mpf
    assert float(mp.reshape(())) == pytest.approx(float(trace(fn, [np.array(x)])["v0"]), rel=1e-12)


def test_erf_keeps_ndarray_subclasses():
    """The 0-d fix must not strip the subclass through which advalidate.counting observes NumPy work."""

    class Tagged(np.ndarray):
        pass

    out = primitives.CATALOGUE["erf"].np(np.ones(3).view(Tagged))
    assert isinstance(out, Tagged) and out.dtype == np.float64
