"""Findings are labelled right and minimal: NaN at a kink is ``nan-inf``; dead nodes never matter; a kink that the
forward pass's rounding crosses is not a ``convention`` finding (a wrong value at a real kink still is); inputs a
library flushes to zero are named, and reported once per backend and kind (``flush-to-zero``)."""

import numpy as np
import pytest
from hypothesis import strategies as st

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.check import FLUSH_TO_ZERO, check_example
from advalidate.ir import Function, Node

from .helpers import Example, Mutant, bad_tanh, chains

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


# ---------------------------------------------------------------- pruning


def test_pruned_drops_every_node_no_output_needs_and_keeps_the_inputs():
    b = Builder()
    x, y = b.input(3), b.input(3)
    b.log(x)  # dead
    r = b.relu(y)  # dead: only a dead node uses it
    b.add(r, x)  # dead
    s = b.sin(x)
    t = b.mul(s, s)
    fn = b.build(t, s)
    live = fn.pruned()
    assert live.inputs == fn.inputs  # y is unused but stays: the VJP's signature
    assert [(n.prim, n.args) for n in live.nodes] == [("sin", ("x0",)), ("mul", ("v0", "v0"))]
    assert live.outputs == ("v1", "v0")
    assert live.pruned() is live and Function(live.inputs, live.nodes, live.outputs).pruned() == live
    point = [np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.0])]
    from advalidate.evaluate import evaluate

    assert all(np.array_equal(a, c) for a, c in zip(evaluate(fn, point), evaluate(live, point)))


def test_an_output_that_is_an_input_survives_pruning():
    fn = Function(((2,),), (Node.make("exp", "x0"),), ("x0",))
    assert fn.pruned().nodes == () and fn.pruned().outputs == ("x0",)


def test_a_dead_relu_at_its_kink_does_not_make_a_kink_example():
    b = Builder()
    x = b.input(2)
    b.relu(x)  # dead, and at its kink (x0[0] = 0)
    fn = b.build(b.tanh(x))
    result = check_example(fn, [np.array([0.0, 0.5])], [np.ones(2)], [NumpyReference(), bad_tanh()])
    assert result.point == "regular" and len(result.function.nodes) == 1
    assert [(o.status, o.kind) for o in result.outcomes] == [("pass", None), ("finding", "wrong-value")]


def chains_with_dead_nodes():
    """A chain of unary primitives on x in [-1, 1] (shrinking moves x to 0), drawn after two nodes nothing uses:
    log(x) and relu(x) (at its kink once x shrinks to 0)."""
    return chains(names=("sin", "tanh", "exp", "arctan"), dead=("log", "relu"))


def test_a_shrunk_finding_has_no_dead_node():
    results = Campaign([NumpyReference(), bad_tanh()], Settings(max_examples=60, seed=1),
                       strategy=chains_with_dead_nodes()).run()
    (finding,) = results["findings"]
    assert (finding["kind"], finding["signature"]) == ("wrong-value", "tanh")
    assert [n["prim"] for n in finding["function"]["nodes"]] == ["tanh"]
    assert "log" not in finding["source"] and "relu" not in finding["source"]


# ---------------------------------------------------------------- kinks


def relu_nan_at_zero():
    return Mutant("nan-at-kink", relu=(lambda g, ans, x: np.where(x > 0, g, np.where(x == 0, np.nan, 0 * g)),))


def test_nan_at_a_kink_is_nan_inf():
    b = Builder()
    fn = b.build(b.relu(b.input(3)))
    result = check_example(fn, [np.array([0.0, 0.5, -1.0])], [np.ones(3)], [relu_nan_at_zero(), NumpyReference()])
    bad, good = result.outcomes
    assert result.point == "kink"
    assert (bad.status, bad.kind, bad.convention) == ("finding", "nan-inf", "nan-inf")
    assert "NaN or inf" in bad.message and "x0[0] = nan" in bad.message and "0×" not in bad.message
    assert good.status == "pass"


def _relu_logaddexp():
    b = Builder()
    x = b.input(1)
    return b.build(b.relu(b.logaddexp(x, x)))


CROSSED = -0.6931471805599453  # x + ln 2 = 2.3e-17 exactly, 0 in every float64 evaluation of logaddexp(x, x)


def _libraries():
    from advalidate.backends import registry

    found = [NumpyReference()]
    for name in ("jax", "torch"):
        try:
            found.append(registry.get(name))
        except Exception:
            pass
    return found


def test_a_kink_crossed_by_the_forward_rounding_is_not_a_convention_finding():
    fn = _relu_logaddexp()
    backends = _libraries()
    result = check_example(fn, [np.array([CROSSED])], [np.array([1.0])], backends, measure_work=False)
    assert result.point == "kink"
    # the exact point is on relu's positive side (both one-sided derivatives are 1)...
    assert result.sides.sides["left"][0] == pytest.approx(1) and result.sides.sides["right"][0] == pytest.approx(1)
    # ...the float evaluation lands on the other side, which is the derivative across the kink
    assert result.sides.crossed == ["v1 (relu)"] and result.sides.sides["across v1 (relu)"][0] == 0
    for o in result.outcomes:
        assert float(o.grads[0][0]) == 0.0, o.backend  # every float64 implementation takes the other side
        assert (o.status, o.convention) == ("pass", "across"), (o.backend, o.message)


class Constant(NumpyReference):
    """Returns ``value`` for every component of the VJP."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return type(out)(out.outputs, [np.full_like(g, self.value) for g in out.grads])


def test_a_wrong_value_at_a_real_kink_is_still_a_convention_finding():
    # at the crossed kink: 2 is neither side (1 from the exact point, 0 across)
    result = check_example(_relu_logaddexp(), [np.array([CROSSED])], [np.array([1.0])], [Constant("two", 2.0)],
                           measure_work=False)
    (o,) = result.outcomes
    assert (o.kind, o.convention) == ("convention", "other")
    assert "x0[0] = 2; sides: left 1, right 1, across v1 (relu) 0" in o.message
    # relu(x) at x = 1e-17: a float represents x exactly, so taking the other side (0) is a convention finding
    b = Builder()
    fn = b.build(b.relu(b.input(1)))
    result = check_example(fn, [np.array([1e-17])], [np.array([1.0])], [Constant("zero", 0.0), NumpyReference()],
                           measure_work=False)
    zero, ref = result.outcomes
    assert result.point == "kink" and result.sides.crossed == []
    assert (zero.kind, zero.convention) == ("convention", "other") and ref.status == "pass"


def test_a_kink_tolerance_allows_for_the_conditioning_of_the_forward():
    # relu(sigmoid(arcsinh(x))) at x = -1.15e134: sigmoid(-309.38) = 1e-134 is relu's kink point to the kink test.
    # fl(arcsinh(x)) is off the exact -309.38249147418407 by its rounding, and sigmoid' read there is ~309·u off
    # sigmoid' at the exact value: the tape's VJP 4.695937620527843e-270 against the exact 4.6959376205277674e-270
    # (1.6e-14 relative), which the rounding term alone (1.4e-14) called a convention finding. The regular
    # comparison's conditioning term covers it; a value 1e-6 off is still a finding.
    b = Builder()
    fn = b.build(b.relu(b.sigmoid(b.arcsinh(b.input(())))))
    x, v = [np.array(-1.153662693949553e134)], [np.array(0.125)]
    exact = 4.6959376205277674e-270
    result = check_example(fn, x, v, [NumpyReference(), Constant("off", exact * (1 + 1e-6))], measure_work=False)
    ref, off = result.outcomes
    assert result.point == "kink" and result.sides.sides["left"][0] == pytest.approx(exact, rel=1e-15, abs=0)
    assert float(ref.grads[0]) != pytest.approx(exact, rel=1e-14, abs=0)  # the tape's value, 1.6e-14 off
    assert ref.status == "pass", ref.message
    assert (off.kind, off.convention) == ("convention", "other")


def test_the_convention_check_projects_past_the_full_mode_limit():
    from advalidate.check import FULL_MODE_LIMIT

    n = FULL_MODE_LIMIT + 2
    b = Builder()
    fn = b.build(b.relu(b.input(n)))
    x = np.linspace(-1, 1, n)
    x[3] = 0.0
    result = check_example(fn, [x], [np.ones(n)], [NumpyReference(), Constant("two", 2.0)], measure_work=False)
    assert result.sides.mode == "projected" and len(result.sides.names) == 4
    ref, two = result.outcomes
    assert ref.status == "pass" and (two.kind, two.convention) == ("convention", "other")


# ---------------------------------------------------------------- flush to zero


class FlushesSubnormals(NumpyReference):
    """The reference tape, with subnormal inputs flushed to (signed) zero first, as XLA does on CPU."""

    name = "flushes"

    def vjp(self, fn, inputs, cotangents):
        tiny = np.finfo(fn.dtype).tiny
        flushed = [np.where(np.abs(x) < tiny, np.copysign(np.zeros_like(x), x), x) for x in inputs]
        return super().vjp(fn, flushed, cotangents)


def test_a_flushed_subnormal_input_is_named_in_the_finding():
    b = Builder()
    fn = b.build(b.sqrt(b.input(2)))
    x = np.array([1.3e-309, 4.0])
    result = check_example(fn, [x], [np.ones(2)], [FlushesSubnormals(), NumpyReference()], measure_work=False)
    flushes, ref = result.outcomes
    assert (flushes.kind, flushes.tag) == ("nan-inf", FLUSH_TO_ZERO)
    assert flushes.message.startswith("input x0[0] = 1.3e-309 is subnormal in float64; flushes flushes it to zero "
                                      "(its VJP equals the VJP at x0[0] = 0)")
    assert ref.status == "pass" and ref.tag is None
    # a 0-d input is named without an index
    b = Builder()
    fn = b.build(b.sqrt(b.input(())))
    (flushes,) = check_example(fn, [np.array(1.3e-309)], [np.array(1.0)], [FlushesSubnormals()],
                               measure_work=False).outcomes
    assert flushes.tag == FLUSH_TO_ZERO and flushes.message.startswith("input x0 = 1.3e-309 is subnormal")
    # where(p > 0, x, y) at p = 2.6e-317: the other branch, at a kink the rounding does not cross (p is exact)
    b = Builder()
    p, u, w = b.input(2), b.input(2), b.input(2)
    fn = b.build(b.where(p, u, w))
    point = [np.array([2.6e-317, 1.0]), np.array([0.5, 0.5]), np.array([2.0, 2.0])]
    result = check_example(fn, point, [np.ones(2)], [FlushesSubnormals(), NumpyReference()], measure_work=False)
    flushes, ref = result.outcomes
    assert (flushes.kind, flushes.tag) == ("convention", FLUSH_TO_ZERO) and ref.status == "pass"


class FlushesToTheRight(FlushesSubnormals):
    """Flushes subnormal inputs and takes leaky_relu's side of slope 1 at an exact 0 (jax's convention)."""

    name = "flushes-right"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        tiny = np.finfo(fn.dtype).tiny
        for g, x in zip(out.grads, inputs):
            on_kink = np.abs(x) < tiny
            g[on_kink] = np.asarray(cotangents[0])[on_kink] if np.ndim(g) else cotangents[0]
        return out


def test_a_flush_onto_a_kink_is_named_even_where_ieee_sees_no_difference():
    """leaky_relu at -4.2e-316 is on the slope side, and so is the reference tape at -0 (its convention there): the
    tape's VJPs at x and at the flushed point agree, yet the flush puts the input on the kink, where a library may
    take the other side (jax at the triage campaign's seed 44: 0.125 for 0.00125)."""
    b = Builder()
    fn = b.build(b.leaky_relu(b.input(()), slope=0.01))
    x = np.array(-4.21012823e-316)
    (o,) = check_example(fn, [x], [np.array(0.125)], [FlushesToTheRight()], measure_work=False).outcomes
    assert o.status == "finding" and o.tag == FLUSH_TO_ZERO, (o.kind, o.tag, o.message)
    assert o.message.startswith("input x0 = -4.21e-316 is subnormal in float64")


def test_a_subnormal_input_that_does_not_explain_the_finding_is_not_blamed():
    # bad tanh on tanh(x1) + x0 with x0 subnormal: the VJP does not depend on x0's value
    b = Builder()
    x0, x1 = b.input(1), b.input(1)
    fn = b.build(b.add(x0, b.tanh(x1)))
    result = check_example(fn, [np.array([1e-310]), np.array([0.5])], [np.ones(1)], [bad_tanh()], measure_work=False)
    (o,) = result.outcomes
    assert o.kind == "wrong-value" and o.tag is None and "subnormal" not in o.message


@st.composite
def subnormal_points(draw):
    """sqrt, a product and a where, each at a point with subnormal entries."""
    b = Builder()
    kind = draw(st.sampled_from(["sqrt", "mul", "where"]))
    x = b.input(2)
    if kind == "sqrt":
        fn = b.build(b.sqrt(x))
    elif kind == "mul":
        fn = b.build(b.mul(b.sin(x), x))
    else:
        y = b.input(2)
        fn = b.build(b.where(x, b.sin(y), b.neg(y)))
    tiny = draw(st.floats(5e-324, 2e-308))
    point = [np.array([tiny, draw(st.floats(0.5, 2.0))])] + [np.array([0.5, 1.5])] * (kind == "where")
    return Example(fn, point, [np.ones(2)])


def test_flush_to_zero_is_reported_once_per_backend_and_kind_and_can_be_a_known_behaviour(tmp_path):
    (tmp_path / "flushes.txt").write_text(
        "# flushes subnormal inputs to zero (evidence: the VJP at x equals the VJP at the flushed x)\n"
        "nan-inf flush-to-zero\n    function: sqrt(x0)\n    inputs: x0 = [1.3e-309, 4.0]\n    cotangents: [1.0, 1.0]\n"
        "convention flush-to-zero\n    function: where(x0, sin(x1), neg(x1))\n"
        "    inputs: x0 = [2.6e-317, 1.0], x1 = [0.5, 1.5]\n    cotangents: [1.0, 1.0]\n")
    results = Campaign([FlushesSubnormals()], Settings(max_examples=40, seed=3, known_dir=str(tmp_path)),
                       strategy=subnormal_points()).run()
    keys = [(f["kind"], f["signature"]) for f in results["findings"]]
    assert sorted(keys) == sorted(set(keys)) and all(sig == FLUSH_TO_ZERO for _, sig in keys)
    assert {"nan-inf", "convention"} <= {k for k, _ in keys}
    for f in results["findings"]:
        assert f["tag"] == FLUSH_TO_ZERO and "is subnormal in float64; flushes flushes it to zero" in f["message"]
        assert f["known"] == (f["kind"] in ("nan-inf", "convention")) and f["primitives"] != FLUSH_TO_ZERO


@pytest.mark.parametrize("name", ["jax", "jax-jit"])
def test_xla_flushing_subnormal_inputs_is_a_listed_known_behaviour(name):
    pytest.importorskip("jax")
    from advalidate.backends import registry
    from advalidate.check import finding_signature
    from advalidate.known import KnownBehaviours

    known = KnownBehaviours.load([name])
    b = Builder()
    fn = b.build(b.sqrt(b.input(2)))
    result = check_example(fn, [np.array([1.3e-309, 4.0])], [np.ones(2)], [registry.get(name)], measure_work=False)
    (o,) = result.outcomes
    assert (o.kind, o.tag) == ("nan-inf", FLUSH_TO_ZERO)
    assert known.match(name, o.kind, finding_signature(o, fn)) is not None
    assert known.match(name, o.kind, "sqrt") is None  # the entry names the tag, not the primitives


def test_an_undefined_one_sided_derivative_skips_the_example_instead_of_raising():
    from advalidate.errors import DomainError
    from advalidate.oracle import Oracle

    class NoOneSided(Oracle):
        def directional(self, fn, inputs, cotangents, direction, side=0, **kw):
            if side:
                raise DomainError("every step down to 2^-1280 leaves the domain")
            return super().directional(fn, inputs, cotangents, direction, side=side, **kw)

    b = Builder()
    fn = b.build(b.relu(b.input(1)))
    result = check_example(fn, [np.array([0.0])], [np.ones(1)], [NumpyReference()], NoOneSided(), measure_work=False)
    (o,) = result.outcomes
    assert result.point == "kink" and o.status == "skipped"
    assert o.message.startswith("at a kink of v0 (relu) a one-sided derivative is undefined: every step")


class FlushesEverything(NumpyReference):
    """The reference tape with every subnormal value of its forward pass (inputs and nodes) flushed to zero."""

    name = "flushes-all"

    def vjp(self, fn, inputs, cotangents):
        from advalidate.backends import numpy_ref
        from advalidate.backends.contract import VJP

        tiny = np.finfo(fn.dtype).tiny

        def flush(node, value, args):
            return np.where(np.abs(value) < tiny, np.copysign(np.zeros_like(value), value), value).astype(value.dtype)

        with np.errstate(all="ignore"):
            values = numpy_ref.forward(fn, [flush(None, np.asarray(x, fn.dtype), None) for x in inputs], flush)
            grads = numpy_ref.backward(fn, values, cotangents)
        return VJP([np.array(numpy_ref.counting.unwrap(values[o])) for o in fn.outputs], [np.array(g) for g in grads])


def test_a_flushed_subnormal_forward_value_is_named_in_the_finding():
    # sqrt(exp(x)) at x = -720: exp gives 2.03e-313 (subnormal); flushed, sqrt's rule divides by 0
    b = Builder()
    fn = b.build(b.sqrt(b.exp(b.input(2))))
    result = check_example(fn, [np.array([-720.0, 0.5])], [np.ones(2)], [FlushesEverything(), NumpyReference()],
                           measure_work=False)
    flushes, ref = result.outcomes
    assert (flushes.kind, flushes.tag) == ("nan-inf", FLUSH_TO_ZERO)
    assert flushes.message.startswith("the forward value v0 (exp) = 2.03e-313 is subnormal in float64; flushes-all "
                                      "flushes it to zero")
    assert ref.status == "pass"
    # a wrong rule on the same program is not blamed on flushing
    wrong = Mutant("bad-sqrt", sqrt=(lambda g, ans, x: g / ans,))
    (o,) = check_example(fn, [np.array([-720.0, 0.5])], [np.ones(2)], [wrong], measure_work=False).outcomes
    assert o.kind == "wrong-value" and o.tag is None


def test_a_branch_crossed_by_the_forward_rounding_is_matched_in_every_direction():
    # where(p > 0, a, b) with p = logaddexp(c, c) = 2.3e-17 exactly (0 in float64): the gradients of a and b do not
    # move p, so only the mirror point across the kink gives the branch the float evaluation takes
    b = Builder()
    c, a, w = b.input(()), b.input(2), b.input(2)
    fn = b.build(b.where(b.logaddexp(c, c), b.sin(a), b.exp(w)))
    point = [np.array(CROSSED), np.array([0.5, 1.0]), np.array([0.25, 2.0])]
    result = check_example(fn, point, [np.ones(2)], _libraries(), measure_work=False)
    assert result.point == "kink" and result.sides.crossed == ["v3 (where)"]
    for o in result.outcomes:
        assert np.all(o.grads[1] == 0), o.backend  # the float evaluation takes the exp(w) branch
        assert (o.status, o.convention) == ("pass", "across"), (o.backend, o.message)
    (wrong,) = check_example(fn, point, [np.ones(2)], [Constant("one", 1.0)], measure_work=False).outcomes
    assert wrong.kind == "convention"


# ---------------------------------------------------------------- the cost bound's I/O term


def _fan_out():
    b = Builder()
    c = b.cosh(b.input((1, 1)))
    return b.build(b.broadcast_to(c, shape=(4, 4)), b.broadcast_to(c, shape=(2, 2)))


def test_the_cost_bound_allows_for_the_cotangents_a_free_broadcast_reads():
    from advalidate.check import io_allowance

    fn = _fan_out()
    x, v = [np.array([[0.25]])], [np.ones((4, 4)), np.ones((2, 2))]
    # a forward of one cosh: any VJP sums the 20 cotangent entries its two broadcasts read (19 adds)
    assert io_allowance(fn, x, v, 1) == 20
    assert io_allowance(fn, x, v, 0) == 1 + 16 + 4  # pure movement: the whole I/O, as before
    b = Builder()
    erf = b.build(b.erf(b.input((8, 16))))
    assert io_allowance(erf, [np.ones((8, 16))], [np.ones((8, 16))], 128) == 0  # strict without fan-out


def test_a_broadcast_fan_out_is_not_a_cost_bound_finding_on_jax():
    pytest.importorskip("jax")
    from advalidate.backends.registry import default_registry

    entry = default_registry().load("jax")
    if entry.error is not None:
        pytest.skip(entry.error)
    v = [np.zeros((4, 4)), np.zeros((2, 2))]
    v[0][0, 0] = v[1][0, 0] = 1.0
    result = check_example(_fan_out(), [np.array([[0.25]])], v, [entry.backend], measure_work=True)
    (o,) = result.outcomes
    assert o.work.forward == 1 and o.work.vjp == 24, o.work  # jax's jaxpr: one cosh; 15 + 3 + 1 adds, sinh, mul...
    assert o.kind != "cost-bound", o.message


# ---- issue 16 triage (t16b): fmod(0.25, 2.1e-316) (F092)


def test_an_overflowing_vjp_that_ieee_arithmetic_gives_too_is_not_blamed_on_flushing():
    """torch's VJP of -fmod(x0, x1) at x1 = 2.1e-316 is [-0.125, inf]: x0/x1 = 1.2e315 overflows in IEEE arithmetic
    as well (the reference tape gives the same), so its equality with the VJP at x1 = 0 is no sign of flushing
    (torch.set_flush_denormal is off). And the oracle cannot bound the one-sided derivatives along x1 (fmod jumps
    every x1²/x0 = 1.8e-631 there; the exact -trunc(x0/x1)·(-0.125) = 1.5e314 overflows float64 anyway): inf is
    not a nan-inf finding there. (Still open: the one-sided steps along x0, 2^-80 of |x0| = 0.25, span 1e291 of
    fmod's periods x1, so the oracle's x0 sides, 3.7e-288 and -3.2e-298, are not the exact -0.125: a convention
    finding remains here.)"""
    b = Builder()
    x0, x1 = b.input(1), b.input(())
    fn = b.build(b.neg(b.fmod(x0, x1)))
    point = [np.array([0.25]), np.array(2.1050641e-316)]
    (ref,) = check_example(fn, point, [np.array([0.125])], [NumpyReference()], measure_work=False).outcomes
    assert ref.tag is None and ref.kind != "nan-inf", (ref.kind, ref.message)
    assert not np.isfinite(ref.grads[1])  # the tape's own inf, as torch's


def test_a_pair_of_eigenvalues_closer_than_the_eigensolvers_rounding_offers_the_kink_itself():
    """eigvalsh of [[a, e], [e, a]], a = 0.27, e = 5.6e-18 (F051-F054 of issue 16's special campaign, seed 41): the
    exact eigenvector of the smaller eigenvalue is (1, -1)/√2 (both one-sided derivatives 0.5, -0.5, -0.5, 0.5),
    while every float64 eigensolver sees the matrix as diagonal (e is below u·a) and returns e1: the VJP
    [[1, 0], [0, 0]], the exact derivative at a matrix 1e-17 away, within the solver's backward error n²·u·‖A‖.
    The eigensolver's own rounding crosses the kink (operands exact or not): the mirror point (e -> -e) and the
    one-sided derivatives at the kink itself (the midpoint, a·I) are offered, and no library has a finding."""
    fn = Function(((2, 2),), (Node.make("eigvalsh", "x0"),), ("v0",), "float64")
    x = np.array([[0.270474644860441, 5.553040511502091e-18], [5.553040511502091e-18, 0.270474644860441]])
    result = check_example(fn, [x], [np.array([1.0, 0.0])], _libraries(), measure_work=False)
    assert result.point == "kink" and result.sides.crossed == ["v0 (eigvalsh)"]
    sides = result.sides.sides
    assert sides["left"].tolist() == pytest.approx([0.5, -0.5, -0.5, 0.5])
    assert sides["on v0 (eigvalsh) left"].tolist() == pytest.approx([1.0, 0.5, 0.5, 1.0])
    assert sides["on v0 (eigvalsh) right"].tolist() == pytest.approx([0.0, -0.5, -0.5, 0.0])
    for o in result.outcomes:
        assert o.grads[0].tolist() == [[1.0, 0.0], [0.0, 0.0]], o.backend
        assert o.status == "pass", (o.backend, o.message)
    # a VJP that is no derivative of a piece meeting there is still a finding
    (o,) = check_example(fn, [x], [np.array([1.0, 0.0])], [Constant("two", 2.0)], measure_work=False).outcomes
    assert (o.kind, o.convention) == ("convention", "other")
