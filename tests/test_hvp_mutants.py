"""The planted second-order bugs (tests/hvp_mutants.py): right at first order, wrong (or costly) in second order only,
each caught in mode hvp with its kind; and the detection benchmark's second-order anchors (benchmarks/detection.py)
each flag a mutant and pass the reference on one easy example."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from advalidate import builder, primitives
from advalidate.backends.contract import modes_of
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.builder import Builder

from .hvp_mutants import MUTANTS, PLANTED, HessianByColumns, HVPMutant

VALUE_MUTANTS = [name for name, (_, kind) in MUTANTS.items() if kind == "wrong-value"]


def _one_node(prim, seed=0):
    """The one-node example of ``prim`` at a fixed point, with cotangents and directions of both signs."""
    fn = builder.single(prim)
    rng = np.random.default_rng(seed)
    xs = primitives.fixed_point(fn, rng)
    vs = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.output_shapes]
    us = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.inputs]
    return fn, xs, vs, us


def test_every_value_mutant_plants_one_primitive():
    assert set(PLANTED) == set(VALUE_MUTANTS)
    assert [kind for _, kind in MUTANTS.values()].count("cost-bound") == 1


@pytest.mark.parametrize("name", VALUE_MUTANTS)
def test_value_mutant_is_right_at_first_order_and_wrong_in_second(name):
    mutant, ref = MUTANTS[name][0](), NumpyReference()
    assert isinstance(mutant, HVPMutant) and mutant.name == name
    prim = PLANTED[name]
    assert prim in mutant.hvp_primitives  # the planted rule runs on dual numbers: second order still claimed
    assert "hvp" in modes_of(mutant)
    fn, xs, vs, us = _one_node(prim)
    for a, b in zip(ref.vjp(fn, xs, vs).grads, mutant.vjp(fn, xs, vs).grads):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ref.jvp(fn, xs, us).tangents, mutant.jvp(fn, xs, us).tangents):
        np.testing.assert_array_equal(a, b)
    got, want = mutant.hvp(fn, xs, vs, us), ref.hvp(fn, xs, vs, us)
    for a, b in zip(want.outputs, got.outputs):
        np.testing.assert_array_equal(a, b)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(want.hvps, got.hvps))
    scale = max(float(np.max(np.abs(a))) for a in want.hvps)
    assert worst > 1e-3 * scale, (name, worst, scale)


def test_mutants_leave_the_reference_alone():
    """Planting goes through a private rules table: the shared tape (and a fresh reference) keeps its rules."""
    for name in VALUE_MUTANTS:
        MUTANTS[name][0]()
    fn, xs, vs, us = _one_node("exp")
    ref = NumpyReference()
    assert ref.primitives["exp"] is primitives.get("exp").vjp
    np.testing.assert_allclose(ref.hvp(fn, xs, vs, us).hvps[0], vs[0] * np.exp(xs[0]) * us[0], rtol=1e-14)


def _exp_of(n):
    b = Builder()
    x = b.input(n)
    return b.build(b.exp(x))


def test_cost_mutant_has_the_right_values_and_grows_with_the_input():
    ref, mutant = NumpyReference(), HessianByColumns()
    works = []
    for n in (2, 8):
        fn = _exp_of(n)
        rng = np.random.default_rng(n)
        xs, vs, us = [rng.uniform(-1, 1, n)], [rng.uniform(-1, 1, n)], [rng.uniform(-1, 1, n)]
        np.testing.assert_allclose(mutant.hvp(fn, xs, vs, us).hvps[0], ref.hvp(fn, xs, vs, us).hvps[0],
                                   rtol=1e-14, atol=0)
        work, base = mutant.hvp_work(fn, xs, vs, us), ref.hvp_work(fn, xs, vs, us)
        assert work.forward == base.forward and work.forward_passes == n
        works.append(work.vjp / base.vjp)
    assert works[1] >= 3 * works[0] > 1.5  # ~n times the reference's work


def _check_example():
    pytest.importorskip("advalidate.second_order")
    from advalidate.check import check_example

    return check_example


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mode_hvp_gives_the_mutants_kind_and_passes_the_reference(name):
    check_example = _check_example()
    from advalidate.oracle import Oracle

    factory, kind = MUTANTS[name]
    fn, xs, vs, us = _one_node(PLANTED.get(name, "mul"))
    result = check_example(fn, xs, vs, [NumpyReference(), factory()], Oracle(), tangents=us, modes=("hvp",))
    by = {o.backend: o for o in result.outcomes if getattr(o, "mode", "hvp") == "hvp"}
    assert by["numpy-ref"].status == "pass", by["numpy-ref"].message
    assert (by[name].status, by[name].kind) == ("finding", kind), by[name].message
    # first order is right: reverse and forward mode pass on the same example
    result = check_example(fn, xs, vs, [factory()], Oracle(), tangents=us, modes=("vjp", "jvp"))
    assert all(o.status == "pass" for o in result.outcomes), [(o.mode, o.kind, o.message) for o in result.outcomes]


# ---------------------------------------------------------------- the benchmark's second-order anchors


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "detection.py"
    spec = importlib.util.spec_from_file_location("detection_benchmark_second_order", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("checker,library", [("gradgradcheck", "torch"), ("jax check_grads order 2", "jax"),
                                             ("autograd check_grads order 2", "autograd")])
def test_each_anchor_flags_a_mutant_and_passes_the_reference(bench, checker, library):
    lib = pytest.importorskip(library)
    if library == "jax":
        lib.config.update("jax_enable_x64", True)
    from advalidate.oracle import Oracle

    for name, prim in (("hvp-exp-primal", "exp"), ("hvp-mul-drops-term", "mul")):
        fn, xs, vs, us = _one_node(prim)
        ex = bench._Example(fn, xs, vs, us)
        assert bench.flags(checker, ex, NumpyReference(), Oracle()) is False, (checker, prim)
        assert bench.flags(checker, ex, MUTANTS[name][0](), Oracle()) is True, (checker, name)


def test_second_order_stream_keeps_what_the_tape_runs_in_second_order(bench):
    b = Builder()
    x = b.input(2, 2)
    fn = b.build(b.exp(x))
    ex = bench._Example(fn, [np.eye(2)], [np.ones((2, 2))], [np.ones((2, 2))])
    assert bench.second_order_stream([ex]) == [ex]
