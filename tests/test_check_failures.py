"""advalidate's own failures never end a run: the float reference tape failing where rounding decides (LAPACK's
"Singular matrix" at a pivot rounded to 0) is an infinitely sensitive VJP; anything else advalidate raises while
judging makes the example an "unjudged" point with its reason, counted and rendered, and fails the conformance suite."""

import numpy as np
import pytest

from advalidate import Builder, errormodel
from advalidate.backends import numpy_ref
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.check import check_example
from advalidate.oracle import Oracle
from advalidate.report import render_report
from advalidate.results import validate

from .helpers import bad_tanh, chains

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


def _solve_example():
    b = Builder()
    a, c = b.input((2, 2)), b.input((2,))
    fn = b.build(b.apply("solve", b.exp(a), c))
    xs = [np.array([[0.1, -0.4], [0.3, 0.2]]), np.array([1.0, -2.0])]
    return fn, xs, [np.array([0.5, 1.5])]


def _failing_when_perturbed(monkeypatch):
    """numpy-ref's backward raising LinAlgError on the perturbed forward passes only (the error model's probes)."""
    backward, forward = numpy_ref.backward, numpy_ref.forward

    def perturbed_forward(fn, inputs, hook=None, *args, **kwargs):
        values = forward(fn, inputs, hook, *args, **kwargs)
        if hook is not None:
            values = dict(values, _perturbed=True)
        return values

    def failing_backward(fn, values, *args, **kwargs):
        if isinstance(values, dict) and values.get("_perturbed"):
            raise np.linalg.LinAlgError("Singular matrix")
        return backward(fn, values, *args, **kwargs)

    monkeypatch.setattr(numpy_ref, "forward", perturbed_forward)
    monkeypatch.setattr(numpy_ref, "backward", failing_backward)


def test_a_reference_failing_under_rounding_is_an_infinitely_sensitive_vjp(monkeypatch):
    fn, xs, vs = _solve_example()
    _failing_when_perturbed(monkeypatch)
    sens = errormodel.sensitivity(fn, xs, vs)
    assert all(np.all(np.isinf(s)) for s in sens)


def test_the_example_is_still_judged_when_the_reference_fails_under_rounding(monkeypatch):
    fn, xs, vs = _solve_example()
    _failing_when_perturbed(monkeypatch)
    result = check_example(fn, xs, vs, [NumpyReference(), bad_tanh()], Oracle())
    assert result.point == "regular"
    # the conditioning term is capped at sqrt(u)·scale: a right VJP passes, an infinite sensitivity excuses nothing more
    assert [o.status for o in result.outcomes] == ["pass", "pass"], [o.message for o in result.outcomes]


def test_advalidates_own_exception_makes_an_unjudged_point_with_its_reason(monkeypatch):
    fn, xs, vs = _solve_example()

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure in the oracle")

    monkeypatch.setattr(Oracle, "vjp", broken)
    result = check_example(fn, xs, vs, [NumpyReference(), bad_tanh()], Oracle())
    assert result.point == "unjudged"
    assert {o.status for o in result.outcomes} == {"skipped"}
    assert all("RuntimeError: planted failure in the oracle" in o.message for o in result.outcomes)


def test_a_campaign_counts_and_renders_unjudged_points_and_runs_to_its_end(monkeypatch):
    real, calls = Oracle.vjp, {"n": 0}

    def every_third_fails(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("planted failure in the oracle")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Oracle, "vjp", every_third_fails)
    results = Campaign([NumpyReference()], Settings(max_examples=30, seed=4), strategy=chains()).run()
    validate(results)
    assert results["complete"] and results["summary"]["examples"] == 30
    unjudged = results["summary"]["points"].get("unjudged", 0)
    assert unjudged >= 5, results["summary"]["points"]
    assert f"{unjudged} unjudged" in render_report(results)
