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


def test_an_implicit_broadcast_is_data_movement_in_the_bound():
    """numpy-ref's minimum chain over x0[4], x1[1], x2[] costs 12 and its VJP 77: 4 per element (a mask and a where per
    operand) and 9 cotangent sums of the implicit broadcasts, which no forward work pays for (a false alarm in the
    10,000-example run). Each widened operand counts (result − operand) entries, as a broadcast_to node would."""
    import numpy as np

    from advalidate import Builder
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.check import _implicit_broadcasts, check_example

    b = Builder()
    x0, x1, x2 = b.input(4), b.input(1), b.input(())
    v0 = b.minimum(x0, x1)
    fn = b.build(b.minimum(x1, v0), b.minimum(x0, x2))
    assert _implicit_broadcasts(fn) == 9
    xs = [np.array([0.72936591, -1.0557465, -1.85659267, -1.94215328]), np.array([1.34644584]), np.array(1.69464452)]
    (o,) = check_example(fn, xs, [np.ones(4), np.ones(4)], [NumpyReference()]).outcomes
    assert o.status == "pass" and o.work.vjp > 5 * o.work.forward + 16, (o.message, o.work)
