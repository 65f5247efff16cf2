"""Misbehaving backends in a worker process: hangs, deaths and exceptions become error findings."""

import os
import time

import numpy as np
import pytest

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.check import check_example
from advalidate.isolation import BackendTimeout, Isolated


class _OnExp(NumpyReference):
    """The reference backend, misbehaving on every program that uses exp."""

    def misbehave(self):
        raise NotImplementedError

    def vjp(self, fn, inputs, cotangents):
        if "exp" in fn.primitives_used:
            self.misbehave()
        return super().vjp(fn, inputs, cotangents)


class Hangs(_OnExp):
    name = "hangs"

    def misbehave(self):
        time.sleep(60)


class Exits(_OnExp):
    name = "exits"

    def misbehave(self):
        os._exit(3)


class Segfaults(_OnExp):
    name = "segfaults"

    def misbehave(self):
        import ctypes

        ctypes.string_at(0)


class Mutates(NumpyReference):
    name = "mutates"

    def vjp(self, fn, inputs, cotangents):
        inputs[0] *= 2
        return super().vjp(fn, inputs, cotangents)


def _fn(prim):
    b = Builder()
    return b.build(b.apply(prim, b.input(3)))


X, V = [np.array([0.1, 0.2, 0.3])], [np.ones(3)]


@pytest.mark.parametrize("backend, message", [
    (Hangs(), "no answer within 2 s while computing vjp: the worker was killed"),
    (Exits(), "the backend's process died while computing vjp (exit code 3)"),
    (Segfaults(), "the backend's process died while computing vjp (exit code -11)"),
])
def test_a_hang_or_a_death_is_an_error_and_the_worker_comes_back(backend, message):
    isolated = Isolated(backend, timeout=2)
    try:
        bad = check_example(_fn("exp"), X, V, [isolated], measure_work=False).outcomes[0]
        assert bad.kind == "error" and message in bad.message
        good = check_example(_fn("sin"), X, V, [isolated]).outcomes[0]
        assert good.status == "pass" and good.work is not None
    finally:
        isolated.close()


def test_mutating_inputs_is_seen_across_the_process_boundary():
    isolated = Isolated(Mutates())
    try:
        outcome = check_example(_fn("sin"), X, V, [isolated]).outcomes[0]
        assert (outcome.kind, outcome.message) == ("error", "the backend mutated its inputs")
    finally:
        isolated.close()


def test_a_backend_that_fails_to_start_says_why():
    with pytest.raises(RuntimeError, match="failed to start: BackendLoadError: unknown backend 'no-such'"):
        Isolated("no-such")


def test_timeout_class():
    assert issubclass(BackendTimeout, RuntimeError)


class Slow(NumpyReference):
    """The reference backend, slow enough that two threads' requests overlap on the worker's one pipe."""

    name = "slow"

    def vjp(self, fn, inputs, cotangents):
        time.sleep(0.01)
        return super().vjp(fn, inputs, cotangents)


def test_threads_sharing_an_isolated_backend_each_get_their_own_answer():
    """The campaign calls one isolated backend from several threads (the VJP, JVP and HVP jobs, the flush-to-zero
    check in the main one): each request must get its own answer (they crossed on the one pipe, which the TensorFlow
    plug-in showed as flaky errors and a cost counted for another program)."""
    from concurrent.futures import ThreadPoolExecutor

    backend = Isolated(Slow(), timeout=60)
    try:
        functions = {prim: _fn(prim) for prim in ("sin", "cos", "exp", "tanh")}
        want = {prim: NumpyReference().vjp(fn, X, V).grads[0] for prim, fn in functions.items()}

        def ask(prim):
            return prim, backend.vjp(functions[prim], [X[0].copy()], V).grads[0]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(ask, list(functions) * 10))
        assert all(np.array_equal(got, want[prim]) for prim, got in answers)
    finally:
        backend.close()
