"""The PyTensor plug-in: found through its entry points, rendering PyTensor source, computing VJPs (and JVPs, HVPs)
that agree with advalidate's reference tape, counting work on the very compiled graph it checks, and caught by a
short campaign when its VJP is wrong. Run by ``tox -e pytensor``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytensor = pytest.importorskip("pytensor")
import pytensor.tensor as pt  # noqa: E402

from advalidate import Campaign, Settings, load_backends  # noqa: E402
from advalidate.plugin import CATALOGUE, VJP, Function, Node, render, single  # noqa: E402

from advalidate_pytensor import PyTensorBackend, PyTensorFastCompileBackend  # noqa: E402
from advalidate_pytensor.backend import SECOND_ORDER  # noqa: E402
from advalidate_pytensor.dialect import UNSUPPORTED  # noqa: E402
from advalidate_pytensor.work import count_fgraph  # noqa: E402

BACKENDS = [PyTensorBackend, PyTensorFastCompileBackend]


def _advalidate(*args, cwd):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "advalidate"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def _composition() -> Function:
    """x0 (3×2) @ x1 (2,) through tanh, a softmax and a sum, plus log1p(x1²): two outputs, several families."""
    return Function(((3, 2), (2,)), (
        Node.make("matmul", "x0", "x1"), Node.make("tanh", "v0"), Node.make("softmax", "v1", axis=-1),
        Node.make("square", "x1"), Node.make("log1p", "v3"), Node.make("sum", "v4", axis=None)), ("v2", "v5"))


def _point(fn, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1.5, 1.5, size=s) for s in fn.inputs]
    vs = [rng.uniform(-1.5, 1.5, size=s) for s in fn.output_shapes]
    return xs, vs


def _reference():
    (reference,), _ = load_backends(["numpy-ref"])
    return reference


def test_advalidate_backends_lists_both_through_their_entry_points(tmp_path):
    done = _advalidate("backends", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("pytensor", "pytensor-fast-compile"):
        line = next(line for line in done.stdout.splitlines() if line.split()[:1] == [name])
        assert " ok " in line and "entry point of advalidate-pytensor" in line
        assert f"{len(CATALOGUE) - len(UNSUPPORTED)}/{len(CATALOGUE)} primitives" in line


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_it_runs_the_pytensor_source_a_finding_prints(backend_class):
    backend = backend_class()
    fn = _composition()
    source = render(fn, backend.dialect)
    assert backend.compiled(fn).__source__ == source
    assert "pt.special.softmax(v1, axis=-1)" in source and "pt.matmul(x0, x1)" in source
    assert set(backend.missing()) == set(UNSUPPORTED)
    # the rendered function builds a PyTensor graph
    out = backend.compiled(fn)(pt.tensor("a", shape=(3, 2)), pt.tensor("b", shape=(2,)))
    assert all(isinstance(o, pytensor.graph.basic.Variable) for o in out)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_every_mode_agrees_with_the_reference_tape(backend_class):
    backend = backend_class()
    fn = _composition()
    xs, vs = _point(fn)
    ws = [np.full(s, 0.5) for s in fn.inputs]
    reference = _reference()
    got, want = backend.vjp(fn, xs, vs), reference.vjp(fn, xs, vs)
    for g, w in zip([*got.outputs, *got.grads], [*want.outputs, *want.grads]):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    for g, w in zip(backend.jvp(fn, xs, ws).tangents, reference.jvp(fn, xs, ws).tangents):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    want = reference.hvp(fn, xs, vs, ws, "forward-over-reverse").hvps
    for method in SECOND_ORDER:
        for g, w in zip(backend.hvp(fn, xs, vs, ws, method).hvps, want):
            np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_work_is_counted_on_the_compiled_program_the_backend_runs(backend_class, monkeypatch):
    """work() counts the fgraph of the very compiled function vjp() runs (one build, cached), gives back the values
    that run computed, and keeps reverse mode's bound."""
    backend = backend_class()
    fn = _composition()
    xs, vs = _point(fn)
    built = []
    build = backend.build
    monkeypatch.setattr(backend, "build", lambda kind, f, method=None: built.append(kind) or build(kind, f, method))
    work = backend.work(fn, xs, vs)
    got = backend.vjp(fn, xs, vs)
    assert sorted(built) == ["forward", "vjp"]  # the vjp program compiled once, for the count and for the values
    for value, grad in zip(work.values, got.grads):
        np.testing.assert_array_equal(value, grad)
    assert work.forward_passes == 1 and work.vjp <= 5 * work.forward + 16, work
    assert backend.jvp_work(fn, xs, xs).vjp <= 5 * work.forward + 16


@pytest.mark.parametrize("outputs", [1, 2, 4])
def test_work_is_flat_in_the_number_of_outputs(outputs):
    """k outputs sin(x)·x_k... pulled back at once cost a bounded multiple of their forward, whatever k."""
    nodes = [Node.make("sin", "x0")]
    for k in range(outputs):
        nodes.append(Node.make("mul", "v0", f"x{k + 1}"))
    fn = Function(((4, 4),) * (outputs + 1), tuple(nodes), tuple(f"v{k + 1}" for k in range(outputs)))
    xs, vs = _point(fn)
    work = PyTensorFastCompileBackend().work(fn, xs, vs)
    assert work.forward == 16 * (1 + outputs)
    assert work.vjp <= 4 * work.forward, work


def test_the_unit_costs_of_a_few_ops():
    def cost(build, *shapes):
        xs = [pt.tensor(f"x{i}", dtype="float64", shape=s) for i, s in enumerate(shapes)]
        fn = pytensor.function(xs, build(*xs), mode="FAST_COMPILE")
        return count_fgraph(fn.maker.fgraph, [np.ones(s) for s in shapes]).work

    assert cost(pt.sin, (3, 4)) == 12
    assert cost(lambda x: pt.sum(x), (3, 4)) == 12
    assert cost(lambda x: x.T, (3, 4)) == 0  # a view
    assert cost(lambda a, b: pt.matmul(a, b), (3, 4), (4, 5)) == 2 * 3 * 4 * 5
    # a fused Composite counts each of its scalar ops: exp(x)·x + 1 is three per element
    xs = pt.tensor("x", dtype="float64", shape=(3, 4))
    fused = pytensor.function([xs], pt.exp(xs) * xs + 1, mode="NUMBA")
    assert any("Composite" in str(n.op) for n in fused.maker.fgraph.toposort())
    assert count_fgraph(fused.maker.fgraph, [np.ones((3, 4))]).work == 3 * 12


@pytest.mark.parametrize("kind", ["vjp", "jvp", "hvp"])
def test_every_op_compiled_for_the_catalogue_is_in_a_table(kind):
    backend = PyTensorFastCompileBackend()
    unknown = {}
    for name in sorted(backend.primitives):
        if name == "norm" or (name == "prod" and kind != "vjp"):
            continue  # its derivative raises (a known behaviour)
        if name == "pad" and kind == "jvp":
            continue  # its Scan's shapes are known only by running the loop: not counted (the README says so)
        fn = single(name)
        xs, vs = _point(fn, 1)
        vectors = {"vjp": vs, "jvp": xs, "hvp": [*vs, *xs]}[kind]
        program = backend.program(kind, fn, "reverse-over-reverse" if kind == "hvp" else None)
        tally = count_fgraph(program.fn.maker.fgraph, [*xs, *vectors])
        if tally.unknown:
            unknown[name] = sorted(tally.unknown)
    assert unknown == {}


class _PlantedWrongVJP(PyTensorFastCompileBackend):
    """The plug-in with a bug planted: every cotangent it returns is 1e-6 too large, relatively."""

    name = "pytensor-planted"

    def vjp(self, function, inputs, cotangents):
        got = super().vjp(function, inputs, cotangents)
        return VJP(got.outputs, [g * (1 + 1e-6) for g in got.grads])


def test_a_planted_wrong_vjp_is_caught_by_a_short_campaign(tmp_path):
    """A short campaign (no probes, reverse mode) finds the planted bug; the real backend passes the same one."""
    def findings(backend):
        settings = Settings(max_examples=6, seed=0, out=str(tmp_path / backend.name), probes=False,
                            replay_known=False, modes=("vjp",), measure_work=False)
        results = Campaign([backend], settings).run()
        return [f for f in results["findings"] if not f.get("known")]

    planted = findings(_PlantedWrongVJP())
    assert planted and {f["kind"] for f in planted} == {"wrong-value"}, planted
    assert findings(PyTensorFastCompileBackend()) == []
