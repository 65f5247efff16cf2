"""Knobs of the strategies: bad ones raise InvalidArgument naming the problem; good ones are obeyed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from advalidate import primitives as _catalogue
from advalidate.builder import Builder
from advalidate.ir import Function
from advalidate.strategies import (SIMPLICITY, Example, array_source, cotangents, examples, functions, points,
                        special_kinds)

FAST = settings(max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("knobs, message", [
    (dict(primitives=[]), "primitives is empty"),
    (dict(primitives=["tanhh"]), "did you mean 'tanh'"),
    (dict(primitives="tanh"), "not one string"),
    (dict(max_ops=0), "max_ops=0 must be at least 1"),
    (dict(max_ops=2.5), "must be an integer"),
    (dict(max_inputs=0), "max_inputs=0"),
    (dict(max_side=0), "max_side=0"),
    (dict(max_dims=-1), "max_dims=-1"),
    (dict(primitives=["matmul"], max_dims=0), "impossible shapes: max_dims=0 but matmul needs rank 1 or 2"),
    (dict(primitives=["stack", "neg"], max_dims=0), "stack needs rank"),
    (dict(dtype="float16"), "dtype='float16'"),
    (dict(ties="yes"), "ties='yes' must be True or False"),
])
def test_bad_knobs_raise_invalid_argument(knobs, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        functions(**knobs)
    with pytest.raises(InvalidArgument):
        examples(**knobs)


def test_bad_arguments_of_the_other_strategies():
    with pytest.raises(InvalidArgument, match="takes a Function"):
        points("f")
    with pytest.raises(InvalidArgument, match="takes a Function"):
        cotangents(None)
    b = Builder()
    fn = b.build(b.tanh(b.input(2)))
    with pytest.raises(InvalidArgument, match="non-empty subset"):
        cotangents(fn, kinds=["dense", "zero"])
    with pytest.raises(InvalidArgument, match="non-empty subset"):
        examples(cotangent_kinds=[])


@FAST
@given(functions(primitives=["tanh", "matmul", "log"], max_ops=3, max_dims=1, max_side=2, max_inputs=2,
                 dtype="float32"))
def test_knobs_are_obeyed(fn):
    assert set(fn.primitives_used) <= {"tanh", "matmul", "log"}
    assert 1 <= len(fn.nodes) <= 3 and len(fn.inputs) <= 2
    assert all(len(s) <= 1 and all(d <= 2 for d in s) for s in fn.inputs)
    assert all(len(s) <= 1 for s in fn.shapes.values())
    assert fn.dtype == "float32"


@FAST
@given(functions(max_dims=0))
def test_scalars_only(fn):
    assert all(s == () for s in fn.shapes.values())


@FAST
@given(functions(allow_empty=False, max_ops=8))
def test_no_empty_axes_when_disallowed(fn):
    assert all(0 not in s for s in fn.inputs)


def test_reprs_are_readable_calls():
    assert repr(functions()) == "functions()"
    assert repr(functions(max_ops=3, primitives=("tanh",))) == "functions(primitives=['tanh'], max_ops=3)"
    assert repr(examples(special=True, dtype="float32")) == "examples(dtype='float32', special=True)"
    b = Builder()
    fn = b.build(b.tanh(b.input(2)))
    assert repr(points(fn)).startswith(f"points(<Function {fn.hash}: inputs (2,); 1 nodes: tanh>")
    assert repr(points(fn, special=True)).endswith(", special=True)")
    assert repr(cotangents(fn)) == f"cotangents(<Function {fn.hash}: inputs (2,); 1 nodes: tanh>)"


def test_points_respect_domains_of_a_hand_built_function():
    b = Builder()
    x, y = b.input(3), b.input(3)
    fn = b.build(b.log(x), b.div(y, x), b.tan(y))

    @FAST
    @given(points(fn))
    def check(xs):
        assert np.all(xs[0] > 0) and np.all(np.abs(xs[1]) <= 1.2)

    check()


def test_cotangent_kinds_can_be_chosen():
    b = Builder()
    fn = b.build(b.tanh(b.input(5)))

    @FAST
    @given(cotangents(fn, kinds=["one-hot"]))
    def check(vs):
        (v,) = vs
        assert v.shape == (5,) and np.count_nonzero(v) == 1 and abs(v).max() == 1

    check()


def test_example_repr_is_runnable_and_exact():
    b = Builder("float32")
    x, w = b.input(2), b.input(3, 2)
    fn = b.build(b.tanh(b.matmul(w, x)), b.sum(x))
    inputs = (np.array([0.1, -1 / 3], np.float32), np.array([[1e-30, 2.0], [np.pi, -0.5], [7.0, 1e20]], np.float32))
    ex = Example(fn, inputs, (np.ones(3, np.float32), np.array(1.0, np.float32)))
    ns = {}
    exec(repr(ex), ns)
    for a, b_ in zip(ns["inputs"] + ns["cotangents"], ex.inputs + ex.cotangents):
        assert a.dtype == b_.dtype and a.shape == b_.shape and np.array_equal(a, b_)
    out = ns["f"](*ns["inputs"])
    assert out[0].shape == (3,) and out[1].shape == ()
    assert array_source(np.zeros((0, 2))) == "np.zeros((0, 2), dtype=np.float64)"
    assert array_source(np.array([np.inf, -np.inf])) == "np.array([np.inf, -np.inf], dtype=np.float64)"


def test_special_kinds_of_hand_made_points():
    b = Builder()
    x = b.input(3)
    fn = b.build(b.maximum(b.tanh(x), b.relu(x)))
    assert special_kinds(fn, [np.array([0.0, 30.0, 1e-310])]) >= {"zero", "kink", "saturation", "tiny"}
    assert special_kinds(fn, [np.array([0.5, 0.7, 1.1])]) == set()
    assert special_kinds(fn, [np.array([1e160, 1.0, 2.0])]) >= {"near-overflow"}


KNOBS = dict(
    primitives=st.none() | st.lists(st.sampled_from(SIMPLICITY), min_size=1, max_size=6, unique=True),
    max_ops=st.integers(1, 16), max_inputs=st.integers(1, 8), max_dims=st.integers(1, 4),
    max_side=st.integers(1, 8), allow_empty=st.booleans(), dtype=st.sampled_from(["float64", "float32"]),
    ties=st.booleans(), motifs=st.booleans(),
)


@settings(max_examples=150, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.fixed_dictionaries(KNOBS), st.data())
def test_any_valid_knobs_give_valid_programs_within_them(knobs, data):
    prims = set(knobs["primitives"] or SIMPLICITY)
    if knobs["max_inputs"] == 1 and not knobs["ties"] and prims <= {"sub", "maximum", "minimum"}:
        with pytest.raises(InvalidArgument):
            functions(**knobs)
        return
    ranks = [_catalogue.get(p).ranks(knobs["max_dims"]) for p in knobs["primitives"] or ()]
    if any(lo > hi for lo, hi in ranks):  # square-matrix operands need rank 2 (issue 16: linear algebra)
        with pytest.raises(InvalidArgument, match="impossible shapes"):
            functions(**knobs)
        return
    fn = data.draw(functions(**knobs))
    allowed = set(knobs["primitives"] or SIMPLICITY)
    assert set(fn.primitives_used) <= allowed
    assert 1 <= len(fn.nodes) <= knobs["max_ops"] and len(fn.inputs) <= knobs["max_inputs"]
    assert all(len(s) <= knobs["max_dims"] for s in fn.shapes.values())
    # sides are drawn up to max_side; concatenate grows an axis up to 4x, reshape regroups: sizes stay bounded
    assert all(math.prod(s) <= (4 * knobs["max_side"]) ** knobs["max_dims"] for s in fn.shapes.values())
    assert knobs["allow_empty"] or all(math.prod(s) > 0 for s in fn.inputs)
    assert Function.from_json(fn.to_json()) == fn


@pytest.mark.parametrize("prim", sorted(set(SIMPLICITY) - {"sub", "maximum", "minimum"}))
def test_every_primitive_alone_with_one_input(prim):
    @settings(max_examples=15, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(functions(primitives=[prim], max_inputs=1, max_ops=3))
    def check(fn):
        assert fn.primitives_used == [prim] and len(fn.inputs) == 1

    check()


def test_self_tying_primitives_alone_with_one_input_are_refused():
    with pytest.raises(InvalidArgument, match="ties or cancels by construction"):
        functions(primitives=["sub", "maximum"], max_inputs=1)
    functions(primitives=["sub"], max_inputs=1, ties=True)


@settings(max_examples=300, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_points_replay_the_generators_sampling_decisions(data):
    """``points`` re-derives from the finished program which inputs must be positive or small: it must agree
    with what the generator relied on when it made domains safe by construction."""
    from advalidate.strategies._analysis import analyse
    from advalidate.strategies._functions import _build, _validate

    cfg = _validate(None, 8, 4, 2, 4, True, "float64", False, True)
    gen, fn = data.draw(st.composite(lambda draw: _build(draw, cfg))())
    replay = analyse(fn)
    assert {k: v for k, v in gen.an.needs.items()} == replay.needs
    assert gen.an.props == {k: replay.props[k] for k in gen.an.props}


# ------------------------------------------------------------------ a share of special examples


@pytest.mark.parametrize("special, message", [
    (-0.1, "special=-0.1 must be True, False or a share of special examples in [0, 1]"),
    (1.5, "special=1.5 must be"),
    (float("nan"), "special=nan must be"),
    ("yes", "not a str"),
    (None, "not a NoneType"),
])
def test_a_bad_special_share_raises_invalid_argument(special, message):
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        examples(special=special)


def test_the_share_is_shown_in_the_repr():
    assert repr(examples(special=0.25)) == "examples(special=0.25)"
    assert repr(examples(special=1)) == repr(examples(special=True)) == "examples(special=True)"
    assert repr(examples(special=0)) == repr(examples(special=False)) == "examples()"


def _sample(strategy, n):
    out = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(ex):
        out.append(ex)

    collect()
    return out


@pytest.mark.parametrize("share", [0.25, 0.75])
def test_a_share_draws_that_share_of_special_examples_each_truthfully_labelled(share):
    from advalidate.strategies import check_point

    # 400: Hypothesis's draws are not independent (it mutates earlier examples), so one stream can miss the share by
    # far more than independent draws would. Measured with 115 primitives (the pool of local constants emptied, see
    # tests/conftest.py): this stream draws 0.198 at 0.25 and 0.728 at 0.75; ten streams seeded 1-5 drew 0.205 to
    # 0.347 and 0.662 to 0.777, at most 0.097 off
    drawn = _sample(examples(special=share, max_ops=3), 400)
    flags = [ex.special for ex in drawn]
    assert all(type(f) is bool for f in flags)
    assert abs(sum(flags) / len(flags) - share) < 0.12, sum(flags) / len(flags)
    # a regular example's point is regular; special ones reach special places far more often (not always: a move
    # may find nothing defined, and the kinds are narrower than the moves' regions)
    assert all(check_point(ex.function, ex.inputs) is None for ex in drawn if not ex.special)
    # an exact zero is not a special place by itself: regular points make them by construction (relu, tril/triu,
    # var over a length-1 axis), as advalidate.findings.region says
    reach = {flag: np.mean([bool(special_kinds(ex.function, ex.inputs) - {"zero"}) for ex in drawn
                            if ex.special == flag]) for flag in (False, True)}
    # the floor was 0.25 with 46 primitives; issue 16's families have special points SPECIAL_KINDS does not name yet
    # (near-singular matrices, repeated eigenvalues, cumprod's zeros: 'zero' is left out above). Measured with 115
    # primitives (pool emptied): this stream reaches a named kind in 0.354 (share 0.25) and 0.337 (share 0.75) of its
    # special examples, 0.003 and 0 of its regular ones; the ten streams seeded 1-5 in 0.191 to 0.407 (four of ten
    # under 0.25), regular 0 to 0.076, the ratio at least 3.4. The floor 0.15 holds for all of them; naming those
    # kinds is open work (issue 16); the ratio is the claim that stays
    assert reach[True] > 0.15 and reach[True] > 3 * reach[False], reach
    for ex in drawn[:20]:  # the repr stays a runnable script that says which it is
        ns = {}
        exec(repr(ex), ns)
        assert ns["special"] is ex.special


def test_with_a_share_examples_shrink_to_regular_unless_only_special_ones_fail():
    from hypothesis import find

    strategy = examples(special=0.5, max_ops=2)
    FIND = settings(database=None, max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    assert not find(strategy, lambda ex: True, settings=FIND).special
    extreme = find(strategy, lambda ex: bool({"near-overflow", "tiny"} & special_kinds(ex.function, ex.inputs)),
                   settings=FIND)
    assert extreme.special


def test_ties_by_construction_go_with_the_special_examples():
    """``maximum(a, a)`` is built only with ``ties=True``: at a share, only special examples may hold one."""
    def self_tie(fn):
        return any(n.prim in ("maximum", "minimum", "sub") and len(set(n.args)) == 1 for n in fn.nodes)

    drawn = _sample(examples(special=0.5, primitives=["maximum", "sub", "tanh"], max_ops=3), 150)
    assert not any(self_tie(ex.function) for ex in drawn if not ex.special)
    assert any(self_tie(ex.function) for ex in drawn if ex.special)
    explicit = _sample(examples(special=0.5, ties=False, primitives=["maximum", "sub", "tanh"], max_ops=3), 60)
    assert not any(self_tie(ex.function) for ex in explicit)
