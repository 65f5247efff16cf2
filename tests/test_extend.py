"""advalidate.extend: a user's op registered once, called by the backends from the user's module, checked against
the oracle with reference rules derived from its mpmath form; bad registrations named."""

import mpmath
import numpy as np
import pytest

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
