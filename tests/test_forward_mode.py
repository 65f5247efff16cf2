"""Forward mode (JVP): the oracle's J·w against closed forms, the reference tape's JVP rules against the oracle,
planted forward-mode bugs caught with the right kind (a wrong JVP rule beside a right VJP rule, a forward mode that
re-runs f per input), and the campaign's modes."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder, builder, primitives
from advalidate.backends import numpy_ref
from advalidate.backends.contract import JVP, MODES, Work, modes_of, supports_mode
from advalidate.check import check_example
from advalidate.evaluate import to_mp
from advalidate.oracle import Oracle

from .jvp_mutants import JVPMutant, PerInputForward
from .test_core_oracle import BINARY, CASES, POINTS, UNARY, V

TOL = mpmath.mpf("1e-25")


def _assert_jvp(result, exact, label):
    """Every component of the oracle's J·w within its bound of the closed form, both at most 1e-25 of the largest."""
    with mpmath.workprec(300):
        for k, (got, err, want) in enumerate(zip(result.tangents_mp, result.errors_mp, exact)):
            got, err = np.asarray(got, dtype=object).reshape(-1), np.asarray(err, dtype=object).reshape(-1)
            want = [mpmath.mpf(w) for w in np.asarray(want, dtype=object).reshape(-1)]
            scale = max(abs(w) for w in want)
            for j, (g, e, w) in enumerate(zip(got, err, want)):
                where = f"{label} output {k}, entry {j}: {g} vs {w}, bound {e}"
                assert abs(g - w) <= e, f"{where}: the error bound must hold"
                assert abs(g - w) <= TOL * scale and e <= TOL * scale, f"{where}: above 1e-25 of {scale}"


W = [0.5, -1.5, 0.875]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_oracle_jvp_of_a_unary_closed_form(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input(3)))
    x = np.array(POINTS.get(name, [-0.9, 0.35, 1.6]))
    with mpmath.workprec(300):
        exact = [np.array([UNARY[name](xi) * wi for xi, wi in zip(to_mp(x), to_mp(np.array(W)))], dtype=object)]
    _assert_jvp(Oracle().jvp(fn, [x], [np.array(W)]), exact, name)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_oracle_jvp_of_a_binary_closed_form(name):
    b = Builder()
    fn = b.build(b.apply(name, b.input(3), b.input(3)))
    a, c = np.array([0.6, 1.3, 2.2]), np.array([-0.4, 0.9, 1.7])
    if name == "atan2":
        a, c = c, a
    wa, wc = np.array(W), np.array([1.25, 0.375, -0.75])
    da, dc = BINARY[name]
    with mpmath.workprec(300):
        exact = [np.array([da(p, q) * s + dc(p, q) * t for p, q, s, t in zip(to_mp(a), to_mp(c), to_mp(wa), to_mp(wc))],
                          dtype=object)]
    _assert_jvp(Oracle().jvp(fn, [a, c], [wa, wc]), exact, name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_jvp_agrees_with_the_closed_form_vjp_through_the_adjoint_identity(case):
    """<v, J·w> = <Jᵀv, w> for every closed form of the VJP oracle's tests (the 38 cases): the oracle's J·w projected
    on their cotangent v matches the closed-form VJP projected on a random w, within the summed bounds, at 1e-25."""
    with mpmath.workprec(300):
        fn, xs, vs, exact = CASES[case]()
    rng = np.random.default_rng(3)
    ws = [rng.normal(size=s) for s in fn.inputs]
    result = Oracle().jvp(fn, xs, ws)
    with mpmath.workprec(300):
        lhs = mpmath.fsum(mpmath.mpf(float(v)) * t for v_, t_ in zip(vs, result.tangents_mp)
                          for v, t in zip(np.reshape(v_, -1), np.reshape(t_, -1)))
        bound = mpmath.fsum(abs(mpmath.mpf(float(v))) * e for v_, e_ in zip(vs, result.errors_mp)
                            for v, e in zip(np.reshape(v_, -1), np.reshape(e_, -1)))
        rhs = mpmath.fsum(mpmath.mpf(g) * mpmath.mpf(float(w)) for g_, w_ in zip(exact, ws)
                          for g, w in zip(np.reshape(np.asarray(g_, dtype=object), -1), np.reshape(w_, -1)))
        size = mpmath.fsum(abs(mpmath.mpf(g) * mpmath.mpf(float(w))) for g_, w_ in zip(exact, ws)
                           for g, w in zip(np.reshape(np.asarray(g_, dtype=object), -1), np.reshape(w_, -1)))
        assert abs(lhs - rhs) <= bound + mpmath.ldexp(size, -200), (case, lhs, rhs, bound)
        assert abs(lhs - rhs) <= TOL * size and bound <= TOL * size, (case, lhs, rhs, bound, size)


def test_oracle_jvp_refuses_tangents_of_the_wrong_shape():
    fn = builder.single("sin", (3,))
    with pytest.raises(ValueError, match="tangent 0 has shape"):
        Oracle().jvp(fn, [np.ones(3)], [np.ones(4)])
    with pytest.raises(ValueError, match="1 inputs, got 2 tangents"):
        Oracle().jvp(fn, [np.ones(3)], [np.ones(3), np.ones(3)])


def test_oracle_jvp_along_zero_is_exactly_zero():
    fn = builder.single("exp", (2,))
    result = Oracle().jvp(fn, [np.array([0.5, 700.0])], [np.zeros(2)])
    assert np.all(result.tangents[0] == 0) and np.all(result.errors[0] == 0)


# ---- the reference tape's JVP rules, per primitive, against the oracle


def _point(fn, seed=0):
    return [x.astype(fn.dtype) for x in primitives.fixed_point(fn, np.random.default_rng(seed))]


@pytest.mark.parametrize("name", sorted(primitives.CATALOGUE))
def test_the_reference_jvp_rule_passes_against_the_oracle(name):
    fn = builder.single(name, (2, 3))
    xs = _point(fn)
    ws = [np.random.default_rng(1).uniform(-2, 2, size=np.shape(x)) for x in xs]
    result = check_example(fn, xs, [np.ones(s) for s in fn.output_shapes], [numpy_ref.NumpyReference()],
                           tangents=ws, modes=("jvp",))
    (outcome,) = result.outcomes
    assert outcome.mode == "jvp"
    assert outcome.status in ("pass", "skipped"), (name, outcome.status, outcome.kind, outcome.message)
    if outcome.status == "skipped":  # a kink by construction (sort of a tie...): said, never silently
        assert result.point != "regular" or outcome.message, name


# ---- planted bugs


def WrongJVP(name, rule):
    """The reference tape with the JVP rule of ``name`` replaced and every VJP rule right."""
    return JVPMutant(f"wrong-jvp-{name}", {name: rule})


def _chain():
    b = Builder()
    x = b.input(3)
    return b.build(b.tanh(b.sin(x)))


@pytest.mark.parametrize("relative", [1e-2, 1e-11])
def test_a_wrong_jvp_rule_beside_a_right_vjp_rule_is_a_forward_mode_wrong_value(relative):
    backend = WrongJVP("sin", lambda ts, ans, x: ts[0] * np.cos(x) * (1 + relative))
    fn, xs = _chain(), [np.array([0.3, -0.7, 1.1])]
    result = check_example(fn, xs, [np.array([1.0, -0.5, 0.25])], [backend], tangents=[np.array([0.5, 1.5, -1.0])],
                           modes=("vjp", "jvp"))
    by_mode = {o.mode: o for o in result.outcomes}
    assert by_mode["vjp"].status == "pass"
    assert (by_mode["jvp"].status, by_mode["jvp"].kind) == ("finding", "wrong-value"), by_mode["jvp"].message


def test_the_right_jvp_rule_passes():
    backend = WrongJVP("sin", primitives.get("sin").jvp)
    result = check_example(_chain(), [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [backend],
                           tangents=[np.array([0.5, 1.5, -1.0])], modes=("vjp", "jvp"))
    assert [o.status for o in result.outcomes] == ["pass", "pass"]


def test_a_forward_mode_that_reruns_f_per_input_is_a_cost_finding():
    b = Builder()
    xs = [b.input(4) for _ in range(3)]
    fn = b.build(b.sin(b.mul(b.add(xs[0], xs[1]), xs[2])))
    point = [np.array([0.3, 0.5, 0.7, 0.9]) * k for k in (1, 2, -3)]
    result = check_example(fn, point, [np.ones(4)], [PerInputForward()], tangents=[np.ones(4)] * 3,
                           modes=("jvp",))
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.kind) == ("finding", "cost-bound"), outcome.message
    assert "ran 3 times" in outcome.message


# ---- modes: the contract, unsupported modes, usage errors


class ReverseOnly:
    name, version, dtypes = "reverse-only", "0", ("float64",)
    primitives = numpy_ref.VJPS

    def vjp(self, fn, inputs, cotangents):
        return numpy_ref.NumpyReference().vjp(fn, inputs, cotangents)

    def work(self, fn, inputs, cotangents):
        return numpy_ref.NumpyReference().work(fn, inputs, cotangents)


def test_a_backend_without_jvp_is_not_supported_in_forward_mode_never_an_error():
    assert modes_of(ReverseOnly()) == ("vjp",) and modes_of(numpy_ref.NumpyReference()) == MODES
    fn = _chain()
    assert "no jvp mode" in supports_mode(ReverseOnly(), fn, "jvp")
    result = check_example(fn, [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [ReverseOnly()],
                           tangents=[np.ones(3)], modes=("vjp", "jvp"))
    assert [(o.mode, o.status) for o in result.outcomes] == [("vjp", "pass"), ("jvp", "unsupported")]


def test_jvp_primitives_limit_forward_mode_per_primitive():
    backend = numpy_ref.NumpyReference()
    backend.jvp_primitives = {k: v for k, v in numpy_ref.JVPS.items() if k != "sin"}
    result = check_example(_chain(), [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [backend],
                           tangents=[np.ones(3)], modes=("jvp",))
    (outcome,) = result.outcomes
    assert outcome.status == "unsupported" and outcome.message == "no jvp mode for: sin"


def test_check_example_names_an_unknown_mode_and_a_missing_tangent():
    with pytest.raises(ValueError, match="choose among vjp, jvp, hvp"):
        check_example(_chain(), [np.ones(3)], [np.ones(3)], [numpy_ref.NumpyReference()], modes=("hessian",))
    with pytest.raises(ValueError, match="mode 'hvp' needs tangents"):
        check_example(_chain(), [np.ones(3)], [np.ones(3)], [numpy_ref.NumpyReference()], modes=("hvp",))
    with pytest.raises(ValueError, match="needs tangents"):
        check_example(_chain(), [np.ones(3)], [np.ones(3)], [numpy_ref.NumpyReference()], modes=("jvp",))


def test_a_kink_point_is_skipped_in_forward_mode_with_the_reason():
    b = Builder()
    fn = b.build(b.relu(b.input(2)))
    result = check_example(fn, [np.array([0.0, 1.0])], [np.ones(2)], [numpy_ref.NumpyReference()],
                           tangents=[np.ones(2)], modes=("vjp", "jvp"))
    jvp = [o for o in result.outcomes if o.mode == "jvp"]
    assert result.point == "kink" and jvp[0].status == "skipped" and "regular points only" in jvp[0].message


def test_an_exponent_range_failure_of_the_forward_pass_is_an_overflow_not_a_finding():
    """qr_q of a 1×1 subnormal matrix: J·w = 0, but the rule's w/R is 1.5e315: no float forward pass holds it."""
    b = Builder()
    fn = b.build(b.apply("qr_q", b.input(1, 1)))
    result = check_example(fn, [np.array([[8.289046e-317]])], [np.ones((1, 1))], [numpy_ref.NumpyReference()],
                           tangents=[np.array([[0.125]])], modes=("jvp",))
    (outcome,) = result.outcomes
    assert outcome.status == "skipped" and "overflows the dtype" in outcome.message


# ---- known behaviours per mode


JVP_ENTRY = """\
# a planted forward-mode behaviour
wrong-value *sin*
    function: tanh(sin(x0))
    inputs: x0 = [0.3, -0.7, 1.1]
    cotangents: [1.0, -0.5, 0.25]
    tangents: [0.5, 1.5, -1.0]
    mode: jvp
"""


def test_a_jvp_entry_reads_back_matches_its_mode_only_and_replays_present():
    from advalidate.known import KnownBehaviours, format_entry, parse
    from advalidate.known_replay import replay_entry

    (entry,) = parse(JVP_ENTRY, "wrong-jvp-sin", "mine.txt")
    assert entry.mode == "jvp" and len(entry.example.tangents) == 1
    (again,) = parse(format_entry(entry), entry.backend, "again.txt")
    assert (again.example, again.mode, again.patterns) == (entry.example, entry.mode, entry.patterns)
    known = KnownBehaviours([entry])
    assert known.match("wrong-jvp-sin", "wrong-value", "sin+tanh", "regular", mode="jvp") is entry
    assert known.match("wrong-jvp-sin", "wrong-value", "sin+tanh", "regular") is None  # reverse mode: another bug
    backend = WrongJVP("sin", lambda ts, ans, x: ts[0] * np.cos(x) * 1.01)
    record = replay_entry(entry, backend)
    assert (record["status"], record["mode"]) == ("present", "jvp"), record
    assert replay_entry(entry, WrongJVP("sin", primitives.get("sin").jvp))["status"] == "fixed"
    assert replay_entry(entry, ReverseOnly())["status"] == "cannot run"


@pytest.mark.parametrize("text, message", [
    (JVP_ENTRY.replace("    tangents: [0.5, 1.5, -1.0]\n", ""), "no tangents"),
    (JVP_ENTRY.replace("mode: jvp", "mode: hessian"), "'hessian' is not one of vjp, jvp, hvp"),
    (JVP_ENTRY.replace("    mode: jvp\n", ""), "tangents belong to a 'mode: jvp' or 'mode: hvp' entry"),
    (JVP_ENTRY.replace("[0.5, 1.5, -1.0]", "[0.5, 1.5]"), "shapes [(2,)] for inputs of shapes [(3,)]"),
])
def test_a_bad_jvp_entry_is_refused_naming_the_problem(text, message):
    from advalidate.known import KnownFormatError, parse

    with pytest.raises(KnownFormatError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse(text, "numpy-ref", "bad.txt")


# ---- the campaign and the command


def test_a_campaign_finds_a_wrong_jvp_rule_in_forward_mode_only_and_shrinks_it(tmp_path):
    from advalidate.campaign import Campaign, Settings

    backend = WrongJVP("tanh", lambda ts, ans, x: ts[0] * (1 - ans))  # drops the square
    # reverse and forward mode: the tape's second order runs the same JVP rules and would show the bug again
    results = Campaign([backend], Settings(max_examples=20, seed=0, primitives=("tanh",), out=str(tmp_path),
                                           modes=("vjp", "jvp"))).run()
    findings = [(f["mode"], f["kind"], f["signature"]) for f in results["findings"]]
    assert ("jvp", "wrong-value", "tanh") in findings, findings
    assert all(mode == "jvp" for mode, _, _ in findings), findings
    assert results["settings"]["modes"] == ["vjp", "jvp"]
    (finding,) = [f for f in results["findings"] if f["signature"] == "tanh"]
    assert len(finding["tangents"]) == len(finding["inputs"]) and finding["oracle"]["mode"] == "jvp"


def test_advalidate_run_mode_through_the_installed_command(tmp_path):
    import json

    from .cli_support import environment, run

    env = environment(tmp_path)
    done = run(["run", "--mode", "hessian"], env, tmp_path)
    assert done.returncode == 2 and "invalid choice: 'hessian'" in done.stderr and "'vjp', 'jvp', 'hvp'" in done.stderr
    done = run(["run", "--backend", "numpy-ref", "--mode", "jvp", "--max-examples", "4", "--no-probes",
                "--no-special", "--no-cost", "--out", str(tmp_path / "out")], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["modes"] == ["jvp"]
    assert results["stats"]["backends"]["numpy-ref (jvp)"].get("pass", 0) >= 1
    assert "numpy-ref" not in results["stats"]["backends"]  # reverse mode was not asked for
    page = (tmp_path / "out" / "index.html").read_text()
    assert "numpy-ref (jvp)" in page


# ---- identity mode: <v, J·w> = <Jᵀv, w> without the oracle, at larger shapes


def _identity_campaign(backend, tmp_path, **kw):
    from advalidate.campaign import Campaign, Settings

    kw.setdefault("modes", ("vjp", "jvp"))  # the first-order identity (second order's symmetry: test_second_order)
    settings = Settings(max_examples=30, seed=0, max_side=12, out=str(tmp_path),
                        primitives=("tanh", "sin", "matmul", "sum", "mul"), **kw)
    return Campaign([backend], settings).run()


def test_identity_mode_catches_a_jvp_rule_that_disagrees_with_the_vjp_rule(tmp_path):
    results = _identity_campaign(WrongJVP("tanh", lambda ts, ans, x: ts[0] * (1 - ans)), tmp_path)
    found = [(f["mode"], f["kind"], f["signature"]) for f in results["findings"]]
    assert ("jvp", "wrong-value", "tanh") in found, found
    assert all("the identity <v, J·w> = <Jᵀv, w> fails" in f["message"] for f in results["findings"])
    assert results["settings"]["identities"] is True and results["summary"]["probes"] == 0


def test_identity_mode_passes_the_reference_tape_and_counts_both_modes(tmp_path):
    results = _identity_campaign(numpy_ref.NumpyReference(), tmp_path)
    assert results["findings"] == []
    counts = results["stats"]["backends"]
    assert counts["numpy-ref"].get("pass", 0) >= 20 and counts["numpy-ref (jvp)"].get("pass", 0) >= 20


def test_identity_mode_draws_larger_shapes_than_the_oracle_would():
    from hypothesis import given, settings

    from advalidate.strategies import examples

    sides = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(examples(max_side=12, tangents=True))
    def collect(ex):
        sides.extend(max(s, default=0) for s in ex.function.inputs)

    collect()
    assert max(sides) > 4


def test_identity_mode_needs_both_modes():
    from advalidate.campaign import Settings

    with pytest.raises(ValueError, match="needs modes vjp and jvp"):
        Settings(max_side=12, modes=("vjp",))
    assert not Settings(max_side=4).identities and Settings(max_side=5).identities


def test_advalidate_run_max_side_through_the_installed_command(tmp_path):
    import json

    from .cli_support import environment, run

    env = environment(tmp_path)
    done = run(["run", "--max-side", "12", "--mode", "vjp"], env, tmp_path)
    assert done.returncode == 2 and "needs modes vjp and jvp" in done.stderr
    done = run(["run", "--backend", "numpy-ref", "--max-side", "12", "--max-examples", "5", "--no-cost",
                "--out", str(tmp_path / "out")], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identity mode (--max-side 12)" in done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["identities"] is True and results["summary"]["examples"] == 5


def test_an_isolated_backend_answers_both_modes_one_call_at_a_time():
    """Its VJP and its JVP run in threads beside the oracle; they share the worker's one pipe, so the JVP waits for
    the VJP (run together, the answers crossed: a flaky `error` finding of the default run)."""
    from advalidate.isolation import Isolated

    backend = Isolated("numpy-ref")
    try:
        assert modes_of(backend) == MODES
        for k in range(8):
            fn = builder.single(["sin", "mul", "sum", "matmul"][k % 4], (2, 3))
            xs = _point(fn, k)
            result = check_example(fn, xs, [np.ones(s) for s in fn.output_shapes], [backend],
                                   tangents=[np.ones(np.shape(x)) for x in xs], modes=("vjp", "jvp"))
            assert [(o.mode, o.status) for o in result.outcomes] == [("vjp", "pass"), ("jvp", "pass")], \
                [(o.mode, o.status, o.message) for o in result.outcomes]
    finally:
        backend.close()
