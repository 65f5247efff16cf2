"""advalidate.extend: a user's op registered once, called by the backends from the user's module, checked against
the oracle with reference rules derived from its mpmath form; bad registrations named."""

import re

import mpmath
import numpy as np
import pytest

# the users' ops here are written in jax and torch: without both (tox -e numpy) the module skips
pytest.importorskip("jax")
pytest.importorskip("torch")

from advalidate import extend, primitives
from advalidate.builder import Builder
from advalidate.check import check_example
from advalidate.render import compile_function, render

from . import extension_ops


@pytest.fixture
def registered():
    """Register ops through ``register(fn, ...)``; every op registered is removed afterwards."""
    names = []

    def register(fn, *args, **kwargs):
        prim = fn(*args, **kwargs)
        names.append(prim.name)
        return prim

    yield register
    for name in names:
        extend.remove(name)
    assert not set(names) & set(primitives.CATALOGUE)


def _backends(*names):
    from advalidate.backends.registry import load_backends

    backends, errors = load_backends(list(names), isolate="none")
    assert not errors, errors
    return backends


def _program(op, dtype="float64"):
    """``op(x0) * x1``: the op inside a composition, its output fanning into a product."""
    b = Builder(dtype)
    x, y = b.input(3), b.input(3)
    return b.build(b.mul(b.apply(op, x), y))


POINT = [np.array([0.3, -1.5, 2.0]), np.array([0.5, -1.0, 2.0])]
COTANGENT = [np.array([1.0, 2.0, -0.5])]


# ---------------------------------------------------------------- the backends call the user's callables


def test_the_rendered_source_imports_the_users_module_and_calls_the_implementation(registered):
    registered(extension_ops.register_softplus)
    fn = _program("my_softplus")
    jax_source, torch_source = render(fn, "jax"), render(fn, "torch")
    assert "import tests.extension_ops  # registers advalidate op 'my_softplus'" in jax_source
    assert "v0 = tests.extension_ops.jax_softplus(x0)" in jax_source
    assert "v0 = tests.extension_ops.TorchSoftplus.apply(x0)" in torch_source
    # the printed source runs as it is, in a fresh namespace
    namespace = {}
    exec(compile(torch_source, "<finding>", "exec"), namespace)
    import torch

    out = namespace["f"](*[torch.tensor(x) for x in POINT])[0]
    assert np.allclose(out.numpy(), np.logaddexp(0, POINT[0]) * POINT[1])
    assert "F.my_softplus(x0)" in render(fn, "numpy")
    assert compile_function(fn, "numpy")(*POINT)[0] == pytest.approx(np.logaddexp(0, POINT[0]) * POINT[1])


def test_a_correct_op_passes_on_every_backend_and_the_reference(registered):
    registered(extension_ops.register_softplus)
    result = check_example(_program("my_softplus"), POINT, COTANGENT, _backends("numpy-ref", "jax", "jax-jit", "torch"))
    assert [(o.backend, o.status) for o in result.outcomes] == [
        ("numpy-ref", "pass"), ("jax", "pass"), ("jax-jit", "pass"), ("torch", "pass")]


def test_a_hand_written_vjp_that_drops_the_cotangent_is_a_wrong_value(registered):
    registered(extension_ops.register_softplus, bad=True)
    result = check_example(_program("my_softplus"), POINT, COTANGENT, _backends("numpy-ref", "jax", "torch"))
    kinds = {o.backend: o.kind for o in result.outcomes}
    assert kinds == {"numpy-ref": None, "jax": "wrong-value", "torch": "wrong-value"}


def test_an_implementation_that_raises_is_an_error_finding_not_a_crash(registered):
    registered(extension_ops.register_raising)
    result = check_example(_program("my_raising"), POINT, COTANGENT, _backends("torch"))
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.kind) == ("finding", "error")
    assert "this implementation is broken" in outcome.message


def test_a_backend_without_an_implementation_does_not_support_the_op(registered):
    registered(extension_ops.register_raising)  # torch only
    (jax,) = _backends("jax")
    assert "my_raising" not in jax.primitives
    assert jax.supports(_program("my_raising")) == "unsupported primitives: my_raising"


# ---------------------------------------------------------------- reference rules derived from the mpmath form


def test_derived_float_form_and_vjp_of_an_elementwise_op_are_the_exact_values_rounded(registered):
    prim = registered(extension_ops.register_hypot2)
    a, b = np.array([0.5, -2.0]), np.array([[1.5], [0.25]])  # broadcasting
    assert np.array_equal(prim.np(a, b), np.sqrt(a * a + b * b + 1))
    from advalidate.backends.numpy_ref import VJPS

    rule_a, rule_b = VJPS["my_hypot2"]
    g = np.ones((2, 2))
    ans = prim.np(a, b)
    assert np.allclose(rule_a(g, ans, a, b), a / ans, rtol=1e-15)
    assert np.allclose(rule_b(g, ans, a, b), b / ans, rtol=1e-15)
    # on mpf arrays at the working precision (the error model's high-precision run)
    from advalidate.evaluate import to_mp

    with mpmath.workprec(300):
        exact = rule_a(to_mp(g), to_mp(ans), to_mp(a), to_mp(b))
        want = mpmath.mpf(0.5) / mpmath.sqrt(mpmath.mpf(0.5) ** 2 + mpmath.mpf(1.5) ** 2 + 1)
        assert abs(exact[0, 0] - want) < mpmath.mpf(2) ** -280


def test_derived_vjp_and_jvp_of_an_op_on_whole_arrays(registered):
    prim = registered(extension_ops.register_cumsum)
    x = np.array([1.0, -2.0, 0.5])
    assert np.array_equal(prim.np(x), np.cumsum(x))
    from advalidate.backends.numpy_ref import VJPS

    (rule,) = VJPS["my_cumsum"]
    g = np.array([1.0, 10.0, 100.0])
    assert np.allclose(rule(g, None, x), [111.0, 110.0, 100.0], rtol=1e-15)
    result = check_example(_program_whole("my_cumsum"), [x], [g], _backends("numpy-ref"))
    assert result.outcomes[0].status == "pass"


def _program_whole(op):
    b = Builder()
    x = b.input(3)
    return b.build(b.sin(b.apply(op, x)))


# ---------------------------------------------------------------- bad registrations, named


@pytest.mark.parametrize("call, message", [
    (lambda: extend.defop("my_op", mp=None), "missing mpmath form"),
    (lambda: extend.defop("sin", mp=mpmath.sin), "the name is taken by advalidate's catalogue"),
    (lambda: extend.defop("my_op", mp=mpmath.sin, tensorflow=np.sin), "unknown backend(s) tensorflow"),
    (lambda: extend.defop("my_op", mp=lambda a, b: a * b, arity=1), "arity 1 disagrees with the mpmath form"),
    (lambda: extend.defop("my_op", mp=mpmath.sin, numpy=np.sum), "the float form returns shape ()"),
    (lambda: extend.defop("my_op", mp=lambda a, b: a - b, numpy=lambda a, b: b - a),
     "the float form disagrees with the mpmath form"),
    (lambda: extend.defop("my_op", mp=mpmath.log, domain=lambda x: -abs(x)), "the domain refuses operands of every kind"),
    (lambda: extend.defop("my_op", mp=lambda a, b, c: a * b * c), "arity must be 1 or 2"),
    (lambda: extend.defop("my-op", mp=mpmath.sin), "must be a Python identifier"),
    (lambda: extend.defop("my_op", mp=mpmath.sqrt, elementwise=False, arity=1), "needs a shape rule"),
    (lambda: extension_ops.local_implementation(), "is not a module-level name of tests.extension_ops"),
])
def test_a_bad_registration_is_an_error_naming_the_problem(call, message):
    before = dict(primitives.CATALOGUE)
    with pytest.raises(extend.InvalidOp, match="op '[a-z_-]+': ") as info:
        call()
    assert message in str(info.value)
    assert primitives.CATALOGUE == before  # nothing half-registered


def test_a_name_clash_with_another_users_op_names_its_module(registered):
    registered(extension_ops.register_hypot2)
    with pytest.raises(extend.InvalidOp, match="the name is taken by tests.extension_ops"):
        extension_ops.register_hypot2()


def test_load_names_a_module_that_cannot_be_imported():
    environ = {}
    with pytest.raises(extend.AdvalidateError, match="extension module 'no_such_module_xyz' could not be imported"):
        extend.load(["no_such_module_xyz"], environ)
    assert environ == {}


def test_the_derived_rule_steps_relative_to_the_operand_and_rounds_the_product_once(registered):
    """log-like ops at a subnormal point: an absolute step would leave the domain (NaN); the cotangent times a
    derivative past float64's range is inf, and 0 where the cotangent is 0 (not 0·inf = NaN)."""
    registered(lambda: extend.defop("my_log", mp=mpmath.log, domain=lambda x: x))
    from advalidate.backends.numpy_ref import VJPS

    (rule,) = VJPS["my_log"]
    x = np.array([4.21012823e-316, 4.21012823e-316, 0.5])
    got = rule(np.array([0.125, 0.0, 1.0]), None, x)
    assert got[0] == np.inf and got[1] == 0.0 and got[2] == 2.0


def test_check_op_fails_with_the_shrunk_counterexample_and_passes_a_correct_op(registered):
    registered(extension_ops.register_softplus, name="good_softplus")
    results = extend.check_op("good_softplus", backends=["torch"], max_examples=1)
    rows = [r for r in results["stats"]["primitives"] if r["primitive"] == "good_softplus"]
    assert rows and rows[0]["counts"].get("pass", 0) >= 2  # the probes at least: alone, regular and special
    registered(extension_ops.register_softplus, name="bad_softplus", bad=True)
    with pytest.raises(AssertionError) as info:
        extend.check_op("bad_softplus", backends=["torch"], max_examples=1)
    text = str(info.value)
    assert text.startswith("op bad_softplus: 1 unexpected finding(s)\nF001 torch: wrong-value on bad_softplus: ")
    assert "    def f(x0):\n        v0 = tests.extension_ops.TorchSoftplus.apply(x0)\n        return (v0,)" in text
    assert re.search(r"inputs: \[[^\[\],]+\]\n  cotangents: \[[^\[\],]+\]\n  oracle VJP: .+\n  backend VJP: ", text)


def test_check_op_names_an_unregistered_op_and_a_backend_without_an_implementation(registered):
    with pytest.raises(extend.InvalidOp, match="op 'nope': not registered"):
        extend.check_op("nope")
    registered(extension_ops.register_raising)
    with pytest.raises(extend.InvalidOp, match="op 'my_raising': no implementation for backend\\(s\\) jax"):
        extend.check_op("my_raising", backends=["jax"])


def test_a_catalogue_primitives_known_behaviour_does_not_swallow_a_users_op_named_like_it():
    from advalidate.known import KnownBehaviours

    known = KnownBehaviours.load(["torch"])
    assert known.match("torch", "wrong-value", "softplus") is not None  # the catalogue's own (torch's threshold)
    assert known.match("torch", "wrong-value", "add+softplus") is not None
    assert known.match("torch", "wrong-value", "bad_softplus") is None
    assert known.match("torch", "wrong-value", "add+softplus_x") is None


@pytest.fixture
def example_modules(monkeypatch):
    """examples/ on the path; its modules (which register their ops when imported) forgotten afterwards."""
    import sys

    from .cli_support import ROOT

    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    yield ROOT / "examples"
    for module in ("log1mexp_planted", "log1mexp_ops"):
        sys.modules.pop(module, None)
    for name in ("log1mexp_planted", "log1mexp"):
        if name in extend.ops():
            extend.remove(name)


@pytest.mark.slow
def test_a_findings_bug_report_script_imports_the_users_module_and_reproduces_the_value(example_modules, tmp_path):
    import importlib
    import subprocess
    import sys

    from advalidate.campaign import Campaign, Settings
    from advalidate.coverage import Probe

    from .cli_support import environment

    importlib.import_module("log1mexp_planted")
    campaign = Campaign(_backends("torch"), Settings(max_examples=1, replay_known=False, measure_work=False))
    campaign.schedule.primitives, campaign.schedule.probes = ["log1mexp_planted"], [Probe("log1mexp_planted", False)]
    (finding,) = campaign.run()["findings"]
    script = tmp_path / "F001-torch.py"
    script.write_text(finding["script"])
    assert "import log1mexp_planted  # registers advalidate op 'log1mexp_planted'" in finding["script"]
    # the script imports the user's module: it runs where that module is importable, as the user's code is
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=example_modules,
                          env=environment(tmp_path, example_modules), timeout=300)
    assert "the same as advalidate recorded, bit for bit" in done.stdout, done.stdout + done.stderr
    assert "<- beyond the tolerance" in done.stdout


def test_operands_come_from_the_first_kind_of_sample_the_domain_accepts(registered):
    from advalidate.primitives.operands import INSIDE_UNIT, POSITIVE

    assert registered(lambda: extend.defop("my_sqrt", mp=mpmath.sqrt, domain=lambda x: x)).operands == (POSITIVE,)
    inside = registered(lambda: extend.defop("my_atanh", mp=mpmath.atanh, domain=lambda x: 1 - x * x))
    assert inside.operands == (INSIDE_UNIT,)
    assert registered(lambda: extend.defop("my_exp", mp=mpmath.exp)).operands == ()
