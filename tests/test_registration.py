"""A primitive registered here, and nowhere else, goes everywhere a catalogue primitive goes: the strategies draw
it (alone, in compositions, broadcasting, with fan-out), points sample its operands validly and move it onto
special points, the oracle and the reference tape check it, its work is counted, results and the report show it.
Bad registrations are refused with a message naming the problem; the registration is removed afterwards."""

import contextlib
import dataclasses

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from advalidate import primitives
from advalidate.backends import numpy_ref
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.check import check_example
from advalidate.coverage import covered_primitives
from advalidate.evaluate import trace
from advalidate.oracle import Oracle
from advalidate.primitives import Draw, Primitive, RegistrationError, register, shapes, unregister
from advalidate.primitives.operands import INSIDE_UNIT, NZ, POS, POSITIVE
from advalidate.report import render_report
from advalidate.results import validate
from advalidate.strategies import examples, functions, points, special_kinds

from .helpers import Mutant

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

NAN = mpmath.mpf("nan")

# an elementwise op with a restricted domain: x^(-1/2), for x > 0 only
RSQRT = Primitive(
    "test_rsqrt", 1, "elementwise", shapes.same, lambda x: 1 / np.sqrt(x),
    np.frompyfunc(lambda x: 1 / mpmath.sqrt(x) if x > 0 else NAN, 1, 1), domain=lambda x: x,
    vjp=(lambda g, ans, x: g * (-0.5 * ans / x),), jvp=lambda ts, ans, x: ts[0] * (-0.5 * ans / x),
    operands=(POSITIVE,), props=lambda a, params, shapes: {POS, NZ})

# a broadcasting op of two operands: (a - b)^2, constant 0 when both are the same value
SQDIST = Primitive(
    "test_sqdist", 2, "binary", shapes.broadcast, lambda a, b: np.square(a - b),
    np.frompyfunc(lambda a, b: (a - b) ** 2, 2, 1),
    vjp=(lambda g, ans, a, b: 2 * g * (a - b), lambda g, ans, a, b: -2 * g * (a - b)),
    jvp=lambda ts, ans, a, b: 2 * (a - b) * (ts[0] - ts[1]), draw=Draw(self_ties=True))

# an elementwise op defined inside (-1, 1) only: its operands come from a sampler no catalogue primitive uses
ARTANH = Primitive(
    "test_artanh", 1, "elementwise", shapes.same, np.arctanh,
    np.frompyfunc(lambda x: mpmath.atanh(x) if abs(x) < 1 else NAN, 1, 1), domain=lambda x: 1 - x * x,
    vjp=(lambda g, ans, x: g / (1 - x * x),), jvp=lambda ts, ans, x: ts[0] / (1 - x * x), operands=(INSIDE_UNIT,))

NEW = ["test_rsqrt", "test_sqdist", "test_artanh"]
MIX = NEW + ["add", "sin", "sum", "exp"]
FIND = settings(max_examples=3000, database=None, suppress_health_check=list(HealthCheck), deadline=None)


@contextlib.contextmanager
def registered():
    for p in (RSQRT, SQDIST, ARTANH):
        register(p)
    try:
        yield
    finally:
        for name in NEW:
            unregister(name)


@pytest.fixture
def new_primitives():
    with registered():
        yield


def _uses(fn, name):
    return name in fn.primitives_used


def test_the_registration_is_removed_afterwards():
    with registered():
        assert set(NEW) <= set(primitives.CATALOGUE) and set(NEW) <= set(numpy_ref.VJPS)
        assert set(NEW) <= set(covered_primitives([NumpyReference()]))
    for where in (primitives.CATALOGUE, numpy_ref.VJPS, covered_primitives([NumpyReference()]),
                  primitives.FAMILIES["elementwise"] + primitives.FAMILIES["binary"]):
        assert not set(NEW) & set(where)


def test_drawn_alone_in_compositions_broadcasting_and_with_fan_out(new_primitives):
    alone = find(functions(primitives=["test_rsqrt"], max_ops=1), lambda fn: True, settings=FIND)
    assert [n.prim for n in alone.nodes] == ["test_rsqrt"]
    # the default generator draws it among every registered primitive
    composed = find(functions(max_ops=4), lambda fn: _uses(fn, "test_sqdist") and len(fn.primitives_used) >= 2,
                    settings=FIND)
    assert len(composed.nodes) >= 2

    def broadcasting(fn):
        return any(n.prim == "test_sqdist" and fn.shapes[n.args[0]] != fn.shapes[n.args[1]] for n in fn.nodes)

    assert broadcasting(find(functions(primitives=MIX, max_ops=4), broadcasting, settings=FIND))

    def fan_out(fn):
        reads = [a for n in fn.nodes for a in n.args]
        return any(n.prim in NEW and any(reads.count(a) > 1 for a in n.args) for n in fn.nodes)

    assert fan_out(find(functions(primitives=MIX, max_ops=4), fan_out, settings=FIND))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_its_operands_are_sampled_inside_its_domain(data):
    with registered():
        fn = data.draw(functions(primitives=MIX, max_ops=4, focus=data.draw(st.sampled_from(["test_rsqrt",
                                                                                             "test_artanh"]))))
        xs = data.draw(points(fn))
        with np.errstate(all="ignore"):
            values = trace(fn, xs)
        for node in fn.nodes:
            if node.prim == "test_rsqrt":
                assert np.all(values[node.args[0]] > 0)
            if node.prim == "test_artanh":
                assert np.all(np.abs(values[node.args[0]]) <= 0.9)


def test_it_is_moved_onto_special_points(new_primitives):
    ex = find(examples(primitives=MIX, max_ops=3, special=True),
              lambda ex: _uses(ex.function, "test_rsqrt") and len(special_kinds(ex.function, ex.inputs)) > 0,
              settings=FIND)
    assert special_kinds(ex.function, ex.inputs)


def test_checked_against_the_oracle_and_its_work_counted(new_primitives):
    rng = np.random.default_rng(0)
    from advalidate.builder import single

    for name in NEW:
        fn = single(name, (3, 4))
        xs = primitives.fixed_point(fn, rng)
        vs = [rng.standard_normal(s) for s in fn.output_shapes]
        right = check_example(fn, xs, vs, [NumpyReference()], Oracle())
        assert right.point == "regular" and right.outcomes[0].status == "pass", right.outcomes[0]
        assert right.outcomes[0].work is not None and right.outcomes[0].work.forward > 0
        wrong = Mutant("wrong", **{name: tuple((lambda r: lambda g, ans, *a: 1.5 * r(g, ans, *a))(r)
                                               for r in primitives.get(name).vjp)})
        assert check_example(fn, xs, vs, [wrong], Oracle()).outcomes[0].kind == "wrong-value"
    work = NumpyReference().work(single("test_rsqrt", (3, 4)), [np.full((3, 4), 2.0)], [np.ones((3, 4))])
    assert work.forward == 2 * 12  # a sqrt and a divide per entry
    assert work.vjp > work.forward


def test_a_campaign_checks_counts_and_reports_it(new_primitives, tmp_path):
    wrong = Mutant("wrong-sqdist", test_sqdist=(lambda g, ans, a, b: g * (a - b), SQDIST.vjp[1]))
    results = Campaign([NumpyReference(), wrong], Settings(max_examples=40, seed=3, out=str(tmp_path)),
                       strategy=examples(primitives=MIX, max_ops=3)).run()
    validate(results)
    rows = {(r["backend"], r["primitive"]): r["counts"] for r in results["stats"]["primitives"]}
    assert rows[("numpy-ref", "test_rsqrt")].get("pass", 0) > 0
    assert rows[("numpy-ref", "test_sqdist")].get("pass", 0) > 0
    assert rows[("numpy-ref", "test_artanh")].get("pass", 0) > 0
    # every finding of the mutant is its wrong rule (one or more programs around it: exp+test_sqdist and
    # sin+test_sqdist are two signatures, neither inside the other)
    mine = [f for f in results["findings"] if f["backend"] == "wrong-sqdist"]
    assert mine
    for finding in mine:
        assert finding["kind"] == "wrong-value" and "test_sqdist" in finding["signature"].split("+"), finding
        assert "F.test_sqdist(" in finding["source"]
    assert results["stats"]["cost_ratios"].get("numpy-ref")
    ref = next(b for b in results["backends"] if b["name"] == "numpy-ref")
    assert set(NEW) <= set(ref["supported"])
    html = render_report(results)
    assert "test_rsqrt" in html and "test_sqdist" in html


def test_bad_registrations_are_refused_with_the_problem_named():
    with pytest.raises(RegistrationError, match="'sin' is already registered"):
        register(dataclasses.replace(RSQRT, name="sin"))
    with pytest.raises(RegistrationError, match="mp form is missing"):
        register(dataclasses.replace(RSQRT, mp=None))
    with pytest.raises(RegistrationError, match="no reference VJP"):
        register(dataclasses.replace(RSQRT, vjp=None))
    with pytest.raises(RegistrationError, match="2 rule"):
        register(dataclasses.replace(SQDIST, vjp=SQDIST.vjp[:1]))
    with pytest.raises(RegistrationError, match="shape rule says"):
        register(dataclasses.replace(RSQRT, shape=lambda shapes: ()))
    with pytest.raises(RegistrationError, match="float form raised"):
        register(dataclasses.replace(SQDIST, np=lambda a: a))
    with pytest.raises(RegistrationError, match="register\\(\\) takes a Primitive"):
        register("test_rsqrt")
    assert not set(NEW) & set(primitives.CATALOGUE)
