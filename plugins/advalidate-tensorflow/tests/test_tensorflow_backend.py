"""The TensorFlow plug-in: found through its entry points, rendering TensorFlow source, counting work on the code it
checks, and conformant (every finding a known behaviour it ships). Run by ``tox -e tensorflow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from advalidate import load_backends  # noqa: E402
from advalidate.plugin import CATALOGUE, Function, Node, render, single  # noqa: E402

from advalidate_tensorflow import TensorFlowBackend, TensorFlowFunctionBackend  # noqa: E402
from advalidate_tensorflow.backend import SECOND_ORDER, forward_mode, reverse_mode  # noqa: E402
from advalidate_tensorflow.work import count_program  # noqa: E402

BACKENDS = [TensorFlowBackend, TensorFlowFunctionBackend]
MISSING = {"cummax", "mish", "hardtanh", "logit", "log1mexp"}  # TensorFlow has no op for them


def _advalidate(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "advalidate"), *args], cwd=cwd, env=env,
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


def test_advalidate_backends_lists_both_through_their_entry_points(tmp_path):
    done = _advalidate("backends", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("tensorflow", "tensorflow-function"):
        line = next(line for line in done.stdout.splitlines() if line.split()[:1] == [name])
        assert " ok " in line and "entry point of advalidate-tensorflow" in line
        assert f"{len(CATALOGUE) - len(MISSING)}/{len(CATALOGUE)} primitives" in line
    # the tox env installs advalidate[all] and both plug-ins: every backend is there and loads
    listed = {line.split()[0]: line for line in done.stdout.splitlines() if line[:1].isalpha() and " ok " in line}
    assert {"numpy-ref", "jax", "jax-jit", "torch", "autograd", "tensorflow", "tensorflow-function"} <= set(listed), \
        done.stdout


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_it_runs_the_tensorflow_source_a_finding_prints(backend_class):
    backend = backend_class()
    fn = _composition()
    source = render(fn, backend.dialect)
    assert backend.compiled(fn).__source__ == source
    assert "tf.nn.softmax(v1, axis=-1)" in source and "tnp.matmul(x0, x1)" in source
    assert set(backend.missing()) == MISSING


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_every_mode_agrees_with_the_reference_tape(backend_class):
    backend = backend_class()
    fn = _composition()
    xs, vs = _point(fn)
    ws = [np.full(s, 0.5) for s in fn.inputs]
    reference = _reference()
    got, want = backend.vjp(fn, xs, vs), reference.vjp(fn, xs, vs)
    for g, w in zip(got.grads, want.grads):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    for g, w in zip(backend.jvp(fn, xs, ws).tangents, reference.jvp(fn, xs, ws).tangents):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    want = reference.hvp(fn, xs, vs, ws, "forward-over-reverse").hvps
    for method in SECOND_ORDER:
        for g, w in zip(backend.hvp(fn, xs, vs, ws, method).hvps, want):
            np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)


def _reference():
    """advalidate's reference tape, loaded by name as a user loads any backend."""
    (reference,), _ = load_backends(["numpy-ref"])
    return reference


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_work_is_counted_on_the_program_the_backend_runs(backend_class, monkeypatch):
    """work() traces the very program vjp() runs (backend.program of reverse_mode), and the count keeps the bound."""
    backend = backend_class()
    fn = _composition()
    xs, vs = _point(fn)
    built = []
    program = backend.program
    monkeypatch.setattr(backend, "program", lambda mode, f: built.append(mode) or program(mode, f))
    work = backend.work(fn, xs, vs)
    backend.vjp(fn, xs, vs)
    assert built == [reverse_mode, reverse_mode]  # the same code, for the count and for the values
    assert work.forward_passes == 1 and work.vjp <= 5 * work.forward + 16, work  # reverse mode's bound (ω = 5)
    assert backend.jvp_work(fn, xs, xs).vjp < 5 * work.forward + 16


def test_eager_and_function_are_charged_the_same_trace():
    fn = _composition()
    xs, vs = _point(fn)
    assert TensorFlowBackend().work(fn, xs, vs) == TensorFlowFunctionBackend().work(fn, xs, vs)


def test_the_unit_costs_of_a_few_ops():
    x = tf.constant(np.ones((3, 4)))
    assert count_program(lambda x: tf.math.sin(x), x).work == 12
    assert count_program(lambda x: tf.math.reduce_sum(x), x).work == 12
    assert count_program(lambda x: tf.transpose(x), x).work == 0  # a view
    assert count_program(lambda x: tf.linalg.matmul(x, x, transpose_b=True), x).work == 2 * 3 * 3 * 4


@pytest.mark.parametrize("mode", ["vjp", "jvp", "hvp"])
def test_every_op_traced_on_the_catalogue_is_in_a_table(mode):
    backend = TensorFlowBackend()
    unknown = {}
    for name in sorted(backend.primitives):
        fn = single(name)
        xs, vs = _point(fn, 1)
        f = backend.compiled(fn)
        xs_t = [tf.constant(x) for x in xs]
        if mode == "vjp":
            program, vectors = backend.program(reverse_mode, f), [tf.constant(v) for v in vs]
        elif mode == "jvp":
            program, vectors = backend.program(forward_mode, f), xs_t
        else:
            n = len(vs)
            program = backend.program(lambda f, xs, vec: SECOND_ORDER["reverse-over-reverse"](f, xs, vec[:n], vec[n:]),
                                      f)
            vectors = [tf.constant(v) for v in vs] + xs_t
        try:
            tally = count_program(program, xs_t, vectors)
        except (LookupError, TypeError, NotImplementedError):
            continue  # a primitive TensorFlow cannot differentiate this way: a known behaviour, not a count
        if tally.unknown:
            unknown[name] = sorted(tally.unknown)
    assert unknown == {}


def test_a_campaign_writes_a_report_with_its_column_and_every_finding_known(tmp_path):
    done = _advalidate("run", "--backend", "tensorflow", "--max-examples", "8", "--seed", "3", "--out",
                       str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [b["name"] for b in results["backends"]] == ["tensorflow"]
    # every entry replayed: present, or (the two second-order costs whose count depends on the process's history,
    # their comments say) under the bound when replayed first
    assert all(r["status"] in ("present", "cannot run") or (r["status"] == "fixed" and r["kind"] == "cost-bound")
               for r in results["known"]), [(r["source"], r["status"]) for r in results["known"]]
    page = (tmp_path / "out" / "index.html").read_text()
    assert ">tensorflow<" in page and "tensorflow (jvp)" in page
