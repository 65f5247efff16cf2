"""Quality: advalidate catches the planted custom-VJP mistakes of ``tests/custom_mutants.py`` and passes the right ops.

Each entry is registered as a user registers an op (``advalidate.extend.defop``: its mpmath form, domain and the
two implementations) and checked with the one call a user's test makes, ``extend.check_op``, at its defaults, on
one library at a time. A mistake must give a finding of its kind (never an ``error`` unless the mistake is one the
library itself refuses), shrunk to the op alone on a few elements; a right op must give none.
"""

from __future__ import annotations

import numpy as np
import pytest

# the users' ops here are written in jax and torch: without both (tox -e numpy) the module skips
pytest.importorskip("jax")
pytest.importorskip("torch")

from tests.custom_mutants import PLANTED, register

LIBRARIES = ("jax", "torch")


def _sample(op, rng):
    if op == "log1mexp":
        return [rng.uniform(0.1, 3.0, (4,))]
    if op == "logaddexp":
        return [rng.normal(size=(2, 4)), rng.normal(size=(4,))]  # the second operand broadcast over rows
    return [rng.normal(size=(4,))]


def _vjp(library, op, xs, v):
    """The op's outputs' VJP with cotangent ``v`` through the library's own autodiff; the exception if it raises."""
    try:
        if library == "jax":
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)
            _, pullback = jax.vjp(op, *[jnp.asarray(x) for x in xs])
            return [np.asarray(g) for g in pullback(jnp.asarray(v))]
        import torch

        ts = [torch.tensor(x, requires_grad=True) for x in xs]
        return [g.numpy() for g in torch.autograd.grad(op.apply(*ts), ts, torch.tensor(v))]
    except Exception as e:  # noqa: BLE001 - the planted op may be refused by its library
        return e


@pytest.mark.parametrize("name", [n for n, p in PLANTED.items() if p.mistaken])
def test_each_planted_mistake_is_a_real_mistake(name):
    """The planted rule differs from the right one (or is refused) exactly where its entry says, in both libraries."""
    entry = PLANTED[name]
    right = PLANTED[entry.op]
    rng = np.random.default_rng(0)
    xs = _sample(entry.op, rng)
    v = rng.normal(size=np.broadcast_shapes(*[x.shape for x in xs]))
    for library in LIBRARIES:
        impl = entry.jax_op if library == "jax" else entry.torch_op
        want = _vjp(library, right.jax_op if library == "jax" else right.torch_op, xs, v)
        got = _vjp(library, impl, xs, v)
        expected = entry.expected[library]
        if expected == "error":
            assert isinstance(got, Exception), (library, got)
        elif expected is None:
            assert all(np.allclose(g, w, rtol=1e-13, atol=0) for g, w in zip(got, want)), (library, got, want)
        elif expected == "cost-bound":  # right values at the wrong cost
            assert all(np.allclose(g, w, rtol=1e-13, atol=0) for g, w in zip(got, want)), (library, got, want)
        else:
            assert not isinstance(got, Exception), (library, got)
            assert any(not np.allclose(g, w, rtol=1e-9, atol=0) for g, w in zip(got, want)), (library, got, want)


def test_right_ops_agree_across_libraries_and_with_mpmath():
    import mpmath

    rng = np.random.default_rng(1)
    mpmath.mp.prec = 120
    for name in ("softplus", "log1mexp", "logaddexp"):
        entry = PLANTED[name]
        xs = _sample(name, rng)
        shape = np.broadcast_shapes(*[x.shape for x in xs])
        v = rng.normal(size=shape)
        exact = []
        for k, x in enumerate(xs):  # v·∂f/∂x_k by mpmath.diff, summed back over broadcasting
            g = np.zeros(shape)
            for idx in np.ndindex(*shape):
                args = [mpmath.mpf(float(np.broadcast_to(a, shape)[idx])) for a in xs]
                g[idx] = float(v[idx] * mpmath.diff(lambda t: entry.math.mp(*args[:k], t, *args[k + 1:]), args[k]))
            exact.append(g.reshape((-1,) + x.shape).sum(0) if x.shape != shape else g)
        for library in LIBRARIES:
            got = _vjp(library, entry.jax_op if library == "jax" else entry.torch_op, xs, v)
            for g, e in zip(got, exact):
                np.testing.assert_allclose(g, e, rtol=1e-14, atol=1e-300)


# ---------------------------------------------------------------- advalidate's verdict on each registered entry


@pytest.fixture
def registered():
    """Registers entries by name for one test and unregisters them after it."""
    from advalidate import extend

    names = []

    def reg(name):
        names.append(register(name))
        return names[-1]

    yield reg
    for op in names:
        extend.remove(op)


def _one_node(op, entry, rng):
    """The op alone on a small fixed-shape example: (function, inputs, cotangents)."""
    from advalidate import Builder

    b = Builder()
    xs = _sample(entry.op, rng)
    fn = b.build(b.apply(op, *[b.input(*x.shape) for x in xs]))
    return fn, xs, [rng.normal(size=s) for s in fn.output_shapes]


@pytest.mark.parametrize("name", list(PLANTED))
def test_verdict_on_one_example(name, registered):
    """Each entry registered, on the op alone at one point: the expected kind on jax, jax-jit and torch, nothing on
    a right op (torch's own summing makes ``broadcast-not-summed`` right there)."""
    from advalidate.backends.registry import load_backends
    from advalidate.check import check_example
    from advalidate.oracle import Oracle

    entry = PLANTED[name]
    fn, xs, cts = _one_node(registered(name), entry, np.random.default_rng(2))
    backends, errors = load_backends(["jax", "jax-jit", "torch"], isolate="none")
    assert not errors
    result = check_example(fn, xs, cts, backends, Oracle())
    for o in result.outcomes:
        expected = entry.expected["jax" if o.backend.startswith("jax") else "torch"]
        if expected is None:
            assert o.status == "pass", (o.backend, o.kind, o.message)
        else:
            assert (o.status, o.kind) == ("finding", expected), (o.backend, o.kind, o.message)
    if "error" in entry.expected.values():  # refused by the library: the finding says why, in its words
        assert all("Custom VJP bwd rule" in o.message for o in result.outcomes if o.kind == "error")


# ---------------------------------------------------------------- a user's one call, at its defaults


def _check_op(op):
    """``extend.check_op`` on jax and torch at its defaults: its results, whether it raised (findings) or not."""
    from advalidate import extend

    try:
        return extend.check_op(op, backends=list(LIBRARIES)), True
    except AssertionError as e:
        return e.results, False


def _elements(fn) -> int:
    return sum(int(np.prod(s)) for s in fn.inputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PLANTED))
def test_check_op_catches_and_shrinks(name, registered):
    """``check_op`` at its defaults (jax and torch in one call): a planted mistake fails it with a finding of its kind
    on each library where it is a mistake, shrunk to the op and at most one more node on a few elements, and no
    crash (other findings may come from the same mistake elsewhere: a wrong sign at a subnormal x is -inf for +inf,
    a nan-inf); where the op is right (torch rescues ``broadcast-not-summed``) no finding but the library's known
    behaviours (XLA flushing a subnormal input to zero), which check_op passes."""
    from advalidate.ir import Function

    entry = PLANTED[name]
    op = registered(name)
    results, passed = _check_op(op)
    assert passed == (not entry.mistaken)
    for library in LIBRARIES:
        findings = [f for f in results["findings"] if not f["known"] and f["backend"] == library]
        kinds = sorted({f["kind"] for f in findings})
        expected = entry.expected[library]
        if expected is None:
            assert kinds == [], (library, [f["message"] for f in findings])
            continue
        assert expected in kinds, (library, [(f["kind"], f["message"]) for f in findings])
        if expected != "error":  # caught by the mistake, not by a crash
            assert "error" not in kinds, [f["message"] for f in findings if f["kind"] == "error"]
        functions = [Function.from_dict(f["function"]) for f in findings]
        assert all(op in fn.primitives_used for fn in functions), functions  # the op's findings, not the catalogue's
        smallest = min((fn for fn, f in zip(functions, findings) if f["kind"] == expected),
                       key=lambda fn: (len(fn.nodes), _elements(fn)))
        assert len(smallest.nodes) <= 2, (library, repr(smallest))  # the op, and at most one node beside it
        assert _elements(smallest) <= SHRUNK_ELEMENTS.get(name, 1), (library, repr(smallest))


SHRUNK_ELEMENTS = {  # the most input elements the shrunk example may keep
    "scalar-only": 2,  # right on one element
    "broadcast-not-summed": 3,  # logaddexp(x[2], y[]): one operand broadcast
    "broadcast-mean": 3,  # the mean of two copies is half their sum
    "reruns-forward": 4,  # the O(n²) work passes the bound 5·work(f) + 16 from a few elements on
}
