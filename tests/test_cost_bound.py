"""The bound itself, and planted backends that are correct but not one-pass reverse mode."""

import numpy as np
import pytest

from advalidate.backends.contract import Work
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.cost import OMEGA, SLACK, check_bound, examples, scaling
from .cost_counters import library
from .cost_planted import PLANTED, NumpyJacobian, NumpyRerun


def test_bound_verdicts():
    ok = check_bound(Work(100, 500, 1))
    assert ok.ok and ok.message is None and ok.ratio == 5.0
    over = check_bound(Work(100, 501 + SLACK, 1))
    assert not over.ok and over.kind == "cost-bound" and "= 516" in over.message and "work(f) = 100" in over.message
    assert check_bound(Work(2, 10 + SLACK, 1)).ok  # tiny programs: per-call constants
    twice = check_bound(Work(100, 200, 2))
    assert not twice.ok and "2 times" in twice.message
    assert check_bound(Work(0, 300, 1), io=300).ok and not check_bound(Work(0, 300, 1)).ok
    with pytest.raises(ValueError, match="omega"):
        check_bound(Work(1, 1, 1), omega=0.5)
    assert over.to_dict()["vjp"] == 501 + SLACK


def _example(n=16, m=64):
    fn = examples.matrix_chain(n, m)
    return (fn,) + examples.point(fn, np.random.default_rng(3))


@pytest.mark.parametrize("planted", [NumpyJacobian(), NumpyRerun()], ids=lambda p: p.name)
def test_planted_numpy_backends_are_flagged(planted):
    fn, xs, vs = _example()
    assert check_bound(NumpyReference().work(fn, xs, vs)).ok
    verdict = check_bound(planted.work(fn, xs, vs))
    assert not verdict.ok and verdict.ratio > 4 * OMEGA, verdict


@pytest.mark.parametrize("name, kind", [(b, k) for b, ks in PLANTED.items() for k in ks])
def test_planted_library_vjps_are_flagged(name, kind):
    module, dialect = library(name)
    from advalidate import compile_function

    fn, xs, vs = _example()
    f = compile_function(fn, dialect)
    assert check_bound(module.count_work(f, xs, vs)).ok
    work = module.count_work(f, xs, vs, vjp=PLANTED[name][kind])
    verdict = check_bound(work)
    assert not verdict.ok, verdict
    if kind == "rerun":
        assert work.forward_passes == 64
    else:  # the planted code may call f a few times (once per argument), but its work is what gives it away
        assert verdict.ratio > 4 * OMEGA


def test_jax_measured_jacobian_grows_quadratically():
    """Full-Jacobian work measured (jax.jacrev's jaxpr), not computed: slope ~2 against N."""
    module, dialect = library("jax")
    counter = scaling.dialect_counter(lambda f, xs, vs: module.count_work(f, xs, vs, vjp=PLANTED["jax"]["jacobian"]),
                                      dialect)
    sweep = scaling.seed_sweep(counter, sizes=(64, 128, 256, 512, 1024))
    assert abs(sweep["slope_vjp"] - 2) < 0.1, sweep["slope_vjp"]  # here "vjp" is the Jacobian-based VJP
