"""A misbehaving backend never takes a run down: each misbehaviour ends as a finding in a valid report."""

import numpy as np
import pytest

from advalidate.backends.contract import VJP
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.isolation import Isolated
from advalidate.report import render_report
from advalidate.results import validate

from .helpers import Raising, chains
from .test_isolation import Exits, Hangs, Mutates, Segfaults


class _Altered(NumpyReference):
    def alter(self, grads):
        raise NotImplementedError

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, self.alter(out.grads) if "exp" in fn.primitives_used else out.grads)


class WrongShape(_Altered):
    name = "wrong-shape"

    def alter(self, grads):
        return [np.append(g.reshape(-1), 0.0) for g in grads]


class WrongDtype(_Altered):
    name = "wrong-dtype"

    def alter(self, grads):
        return [g.astype(np.float32) for g in grads]


class ReturnsNaN(_Altered):
    name = "returns-nan"

    def alter(self, grads):
        return [np.full_like(g, np.nan) for g in grads]


CASES = [
    (Raising("raises", "exp", "planted: no exp", ZeroDivisionError), "error",
     "ZeroDivisionError: planted: no exp"),
    (WrongShape(), "error", "has shape"),
    (WrongDtype(), "error", "has dtype float32, the function's dtype is float64"),
    (ReturnsNaN(), "nan-inf", "tolerance"),
    (Mutates(), "error", "the backend mutated its inputs"),
    ("hangs", "error", "no answer within 1 s while computing vjp"),
    ("exits", "error", "the backend's process died while computing vjp (exit code 3)"),
    ("segfaults", "error", "the backend's process died while computing vjp (exit code -11)"),
]


@pytest.mark.parametrize("backend, kind, message", CASES, ids=[c[2][:24] if isinstance(c[0], str) else c[0].name
                                                               for c in CASES])
def test_each_misbehaviour_is_a_finding_in_a_valid_report(backend, kind, message):
    isolated = None
    if isinstance(backend, str):
        backend = isolated = Isolated({"hangs": Hangs, "exits": Exits, "segfaults": Segfaults}[backend](), timeout=1)
    try:
        strategy = chains(names=("exp", "sin", "square"), max_len=2)
        results = Campaign([NumpyReference(), backend], Settings(max_examples=12, seed=4), strategy=strategy).run()
    finally:
        if isolated is not None:
            isolated.close()
    validate(results)
    assert results["complete"] and results["summary"]["examples"] == 12
    found = [f for f in results["findings"] if f["backend"] == backend.name]
    assert found and found[0]["kind"] == kind and message in found[0]["message"], found
    assert results["stats"]["backends"]["numpy-ref"]["pass"] == 12  # the other backend went on
    html = render_report(results)
    assert backend.name in html and found[0]["id"] in html
