"""Quality tests (as Hypothesis' tests/quality): planted failures shrink to minimal programs."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings

from advalidate.ir import Function, Node
from advalidate.strategies import examples, functions

SETTINGS = settings(database=None, derandomize=True, max_examples=2000, deadline=None,
                    suppress_health_check=list(HealthCheck))


def simple_inputs(fn) -> bool:
    return all(math.prod(s) == 1 for s in fn.inputs)


def uses_tanh(fn) -> bool:
    return "tanh" in fn.primitives_used


def assert_a_minimal_tanh_program(fn):
    """What the shrinker must reach beyond the predicate itself: nothing after the tanh, tiny inputs."""
    assert len(fn.nodes) <= 2, fn
    assert simple_inputs(fn), fn
    assert fn.nodes[-1].prim == "tanh" and fn.outputs == (f"v{len(fn.nodes) - 1}",), fn


def test_a_tanh_failure_shrinks_to_at_most_two_nodes_with_a_scalar_input():
    assert_a_minimal_tanh_program(find(functions(), uses_tanh, settings=SETTINGS))


def test_the_tanh_check_fails_when_a_strategy_keeps_a_node_after_the_tanh():
    """A broken strategy whose programs all end in a ``neg`` the failure does not need: the check must see it."""

    def with_a_trailing_neg(fn):
        return Function(fn.inputs, fn.nodes + (Node.make("neg", fn.outputs[0]),), (f"v{len(fn.nodes)}",), fn.dtype)

    fn = find(functions().map(with_a_trailing_neg), uses_tanh, settings=SETTINGS)
    with pytest.raises(AssertionError):
        assert_a_minimal_tanh_program(fn)


def fans_out(fn) -> bool:
    return any(c >= 2 for c in Counter(a for n in fn.nodes for a in n.args).values())


def test_a_fan_out_failure_shrinks_to_the_minimal_fan_out_program():
    fn = find(functions(), fans_out, settings=SETTINGS)
    # the minimal fan-out program: one binary node reading one scalar input twice
    assert len(fn.nodes) == 1, fn
    assert fn.inputs == ((),), fn
    assert fn.nodes[0].args == ("x0", "x0"), fn
    assert fn.nodes[0].prim == "add", fn  # the simplest binary primitive


def test_a_failing_property_over_examples_reports_a_minimal_runnable_example():
    @SETTINGS
    @given(examples())
    def prop(ex):
        assert "tanh" not in ex.function.primitives_used  # the planted bug

    with pytest.raises(AssertionError):
        prop()
    ex = find(examples(), lambda e: "tanh" in e.function.primitives_used, settings=SETTINGS)
    assert len(ex.function.nodes) <= 2 and simple_inputs(ex.function)
    namespace = {}
    exec(repr(ex), namespace)  # the repr is the reproduction
    (out,) = namespace["f"](*namespace["inputs"])
    assert np.array_equal(namespace["inputs"][0], ex.inputs[0])
    assert np.all(np.isfinite(out))


def test_a_failure_needing_a_matmul_chain_shrinks_to_two_matmuls():
    def chain(fn):
        prims = [n.prim for n in fn.nodes]
        return prims.count("matmul") >= 2 and any(
            n.prim == "matmul" and any(a.startswith("v") and fn.nodes[int(a[1:])].prim == "matmul" for a in n.args)
            for n in fn.nodes)

    # five seeded streams: Hypothesis's shrinker is a local search, and a stream can stop in a local minimum,
    # neg -> matmul -> matmul, whose neg it cannot delete without re-pointing the first matmul's operand (the
    # derandomized one did since issue 16's catalogue; with issue 16's motifs seeds 0, 3 and 4 of 0-7 do, the
    # others reach two matmuls): every stream reaches the chain with at most that neg, two of 0-4 reach two matmuls
    import random

    reached = 0
    for stream in range(5):
        fn = find(functions(), chain, settings=settings(SETTINGS, derandomize=False), random=random.Random(stream))
        prims = [n.prim for n in fn.nodes]
        assert prims in (["matmul", "matmul"], ["neg", "matmul", "matmul"]), (stream, fn)
        assert all(math.prod(s) == 1 for s in fn.inputs), (stream, fn)
        reached += prims == ["matmul", "matmul"]
    assert reached >= 2, reached
