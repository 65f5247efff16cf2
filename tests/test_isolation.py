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
