"""What the backends of one example are judged against is computed once and shared, backends that may run
concurrently do, and neither changes a verdict."""

import threading

import numpy as np
import pytest

from advalidate import Builder, errormodel
from advalidate.backends.contract import VJP
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.check import check_example, concurrent
from advalidate.oracle import Oracle

from .planted_backends import Error, WrongValue


def _example():
    b = Builder()
    x = b.input(3)
    fn = b.build(b.apply("tanh", b.apply("sin", x)))
    return fn, [np.array([0.3, -0.7, 0.11])], [np.array([1.0, -2.0, 0.5])]


def _renamed(cls, name, threaded):
    return type(f"{cls.__name__}_{name}", (cls,), {"name": name, "concurrent": threaded})()


def test_the_tolerances_are_computed_once_per_example_whatever_the_number_of_backends(monkeypatch):
    calls = []
    original = errormodel.tolerance
    monkeypatch.setattr(errormodel, "tolerance", lambda *a, **k: calls.append(1) or original(*a, **k))
    fn, xs, vs = _example()
    backends = [NumpyReference(), _renamed(NumpyReference, "b", False), _renamed(WrongValue, "c", False)]
    result = check_example(fn, xs, vs, backends, Oracle())
    assert [o.status for o in result.outcomes] == ["pass", "pass", "finding"]
    assert len(calls) == 1


class _Where(NumpyReference):
    """The reference tape, noting the thread each VJP ran on."""

    def vjp(self, fn, inputs, cotangents):
        self.threads.append(threading.current_thread())
        return super().vjp(fn, inputs, cotangents)


def test_concurrent_backends_run_in_threads_of_their_own_and_get_the_same_verdicts():
    fn, xs, vs = _example()

    def backends(threaded):
        where = type("W", (_Where,), {"name": "where", "concurrent": threaded, "threads": []})()
        return [where, _renamed(WrongValue, "wrong", threaded), _renamed(Error, "raises", threaded),
                NumpyReference()]

    serial, parallel = backends(False), backends(True)
    assert [concurrent(b) for b in parallel] == [True, True, True, False]
    a = check_example(fn, xs, vs, serial, Oracle())
    b = check_example(fn, xs, vs, parallel, Oracle())
    assert serial[0].threads == [threading.main_thread()]
    assert parallel[0].threads and parallel[0].threads[0] is not threading.main_thread()
    for x, y in zip(a.outcomes, b.outcomes):
        assert (x.backend, x.status, x.kind, x.message.splitlines()[:1], x.ratio, x.work, sorted(x.agrees_with)) == \
               (y.backend, y.status, y.kind, y.message.splitlines()[:1], y.ratio, y.work, sorted(y.agrees_with))
        assert (x.grads is None) == (y.grads is None)
        if x.grads is not None:
            assert all(np.array_equal(g, h) for g, h in zip(x.grads, y.grads))
    assert [o.status for o in b.outcomes] == ["pass", "finding", "finding", "pass"]
    assert "vjp where" in b.seconds and "work where" in b.seconds


def test_a_concurrent_backend_is_not_called_outside_the_domain():
    b = Builder()
    x = b.input(2)
    fn = b.build(b.apply("log", x))

    class Never(NumpyReference):
        name, concurrent = "never", True

        def vjp(self, fn, inputs, cotangents):
            raise AssertionError("called at a point outside the domain")

    result = check_example(fn, [np.array([-1.0, 2.0])], [np.ones(2)], [Never()], Oracle())
    assert result.point == "domain" and result.outcomes[0].status == "skipped"


def test_jax_work_is_counted_once_per_backend_and_the_same_for_eager_and_jit(monkeypatch):
    """Each JAX backend counts the program it runs (jax-jit's inside jax.jit: one call equation around the same body),
    once per function and shapes; the counts agree."""
    pytest.importorskip("jax")
    from advalidate.backends import jax_backend
    from advalidate.cost import jaxpr

    calls = []
    original = jaxpr.count_work
    monkeypatch.setattr(jaxpr, "count_work", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(jax_backend, "_WORK", type(jax_backend._WORK)())
    fn, xs, vs = _example()
    eager, jit = jax_backend.JaxBackend(), jax_backend.JaxJitBackend()
    assert eager.work(fn, xs, vs) == jit.work(fn, xs, vs) == original(eager.compiled(fn), xs, vs)
    assert len(calls) == 2  # eager and jit, each on its own program
    eager.work(fn, xs, vs), jit.work(fn, xs, vs)
    assert len(calls) == 2  # cached


def test_one_rounding_formula():
    assert errormodel.rounding_bound(3, "float64", 2.0) == errormodel.K * 4 * 2.0 ** -53 * 2.0
    assert errormodel.rounding_bound(0, "float32", 1.0, factor=2) == 2 * errormodel.K * 2.0 ** -24
