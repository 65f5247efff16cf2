"""Quality: every planted bug is caught with the right kind, and the unmodified reference raises nothing.

Fast tier: each mutant through a campaign at the ``advalidate run`` defaults (90 examples, seed 0, the default
strategy) keeping one finding per kind (``max_per_kind=1``): the examples drawn up to the first finding of a kind
are the same as in a default run, so the first finding is too, and the rest of the budget costs no shrinking.
Slow tier: the same at exactly the defaults, and the reference tape over large budgets.
"""

from __future__ import annotations

import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from tests.mutants import MUTANTS

RUN_DEFAULT_EXAMPLES = 90  # `advalidate run` without --max-examples in float64 (advalidate/cli_run.py)


def _run(name, **settings):
    factory, _ = MUTANTS[name]
    return Campaign([factory()], Settings(max_examples=RUN_DEFAULT_EXAMPLES, seed=0, **settings)).run()


def _assert_caught(name, results):
    expected = MUTANTS[name][1]
    kinds = [f["kind"] for f in results["findings"]]
    assert expected in kinds, f"{name}: expected a {expected} finding, got {kinds or 'none'}"
    if expected != "error":  # caught by the bug, not by an accident of a crash
        assert "error" not in kinds, [f["message"] for f in results["findings"] if f["kind"] == "error"]
    assert all(not f["known"] for f in results["findings"])


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_caught_with_its_kind(name):
    _assert_caught(name, _run(name, max_per_kind=1))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_caught_at_exact_defaults(name):
    _assert_caught(name, _run(name))


def test_mutant_list_covers_the_issue():
    assert len(MUTANTS) >= 12
    assert {kind for _, kind in MUTANTS.values()} == {"wrong-value", "nan-inf", "cost-bound"}


def _unexpected(results):
    return [(f["kind"], f["signature"], f["message"]) for f in results["findings"] if not f["known"]]


@pytest.mark.slow
def test_reference_float64_raises_nothing_unexpected():
    results = Campaign([NumpyReference()], Settings(max_examples=2000, seed=0)).run()
    assert results["summary"]["examples"] == 2000
    assert _unexpected(results) == []


@pytest.mark.slow
def test_reference_float32_raises_nothing_unexpected():
    results = Campaign([NumpyReference()], Settings(max_examples=500, seed=0, dtype="float32")).run()
    assert results["summary"]["examples"] == 500
    assert _unexpected(results) == []


def _detection_benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "detection.py"
    spec = importlib.util.spec_from_file_location("detection_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_relative_error_of_1e_11_is_caught_on_well_conditioned_functions():
    """The acceptance figure (sensitivity <= 1e-10 relative in float64, aim 1e-11), and no alarm at δ = 0."""
    import numpy as np

    from advalidate.check import check_example
    from advalidate.oracle import Oracle

    bench = _detection_benchmark()
    rng, oracle = np.random.default_rng(0), Oracle()
    for label, fn, draw in bench.well_conditioned():
        for _ in range(2):
            inputs = draw(rng)
            cotangents = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.output_shapes]
            exact = check_example(fn, inputs, cotangents, [bench.Scaled(0.0)], oracle).outcomes[0]
            off = check_example(fn, inputs, cotangents, [bench.Scaled(1e-11)], oracle).outcomes[0]
            assert exact.status == "pass", (label, exact.message)
            assert (off.status, off.kind) == ("finding", "wrong-value"), (label, off.message)
