"""The tinygrad plug-in: found through its entry point, rendering tinygrad source, counting work on the code it checks
(the kernels tinygrad schedules), and catching a planted wrong VJP. Run by ``tox -e tinygrad``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tinygrad")

from advalidate import load_backends, run_conformance  # noqa: E402
from advalidate.plugin import CATALOGUE, Function, Node, render  # noqa: E402
from tinygrad import Tensor  # noqa: E402

import advalidate_tinygrad.backend as backend_module  # noqa: E402
from advalidate_tinygrad import TinygradBackend  # noqa: E402
from advalidate_tinygrad.dialect import UNSUPPORTED  # noqa: E402
from advalidate_tinygrad.work import count_linear  # noqa: E402

HERE = Path(__file__).parent


def _advalidate(*args, cwd, env=None):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "advalidate"), *args], cwd=cwd,
                          env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=600)


def _composition() -> Function:
    """x0 (3×2) @ x1 (2,) through tanh, a softmax and a sum, plus exp(x1²) summed: two outputs, several families."""
    return Function(((3, 2), (2,)), (
        Node.make("matmul", "x0", "x1"), Node.make("tanh", "v0"), Node.make("softmax", "v1", axis=-1),
        Node.make("square", "x1"), Node.make("exp", "v3"), Node.make("sum", "v4", axis=None)), ("v2", "v5"))


def _point(fn, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1.5, 1.5, size=s) for s in fn.inputs]
    vs = [rng.uniform(-1.5, 1.5, size=s) for s in fn.output_shapes]
    return xs, vs


def _reference():
    """advalidate's reference tape, loaded by name as a user loads any backend."""
    (reference,), _ = load_backends(["numpy-ref"])
    return reference


def test_advalidate_backends_lists_it_through_its_entry_point(tmp_path):
    done = _advalidate("backends", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["tinygrad"])
    assert " ok " in line and "entry point of advalidate-tinygrad" in line
    assert f"{len(CATALOGUE) - len(UNSUPPORTED)}/{len(CATALOGUE)} primitives" in line


def test_it_runs_the_tinygrad_source_a_finding_prints():
    backend = TinygradBackend()
    fn = _composition()
    source = render(fn, backend.dialect)
    assert backend.compiled(fn).__source__ == source
    assert "from tinygrad import Tensor" in source
    assert "v2 = v1.softmax(axis=-1)" in source and "v0 = x0.matmul(x1)" in source
    assert set(backend.missing()) == set(UNSUPPORTED)
    outs = backend.compiled(fn)(Tensor(np.ones((3, 2))), Tensor(np.ones(2)))
    assert all(isinstance(o, Tensor) for o in outs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_vjp_agrees_with_the_reference_tape(dtype):
    fn = Function(_composition().inputs, _composition().nodes, _composition().outputs, dtype=dtype)
    xs, vs = _point(fn)
    xs, vs = [x.astype(dtype) for x in xs], [v.astype(dtype) for v in vs]
    got, want = TinygradBackend().vjp(fn, xs, vs), _reference().vjp(fn, xs, vs)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for g, w in zip(got.outputs + got.grads, want.outputs + want.grads):
        assert g.dtype == np.dtype(dtype) and g.shape == w.shape
        np.testing.assert_allclose(g, w, **tol)


def test_an_input_the_outputs_do_not_reach_gets_zeros():
    fn = Function(((3,), (2,)), (Node.make("sin", "x0"),), ("v0",))
    xs, vs = _point(fn)
    grads = TinygradBackend().vjp(fn, xs, vs).grads
    np.testing.assert_array_equal(grads[1], np.zeros(2))
    np.testing.assert_allclose(grads[0], vs[0] * np.cos(xs[0]), rtol=1e-15)


def test_work_is_counted_on_the_schedule_the_backend_runs(monkeypatch):
    """work() counts the very schedule it runs (backend.realize of reverse_mode's tensors, as vjp() does), and gives
    that run's derivatives, equal to vjp()'s."""
    backend = TinygradBackend()
    fn = _composition()
    xs, vs = _point(fn)
    runs = []
    realize = backend_module.realize
    monkeypatch.setattr(backend_module, "realize", lambda ts, count=None: runs.append(count) or realize(ts, count))
    work = backend.work(fn, xs, vs)
    grads = backend.vjp(fn, xs, vs).grads
    assert len(runs) == 3 and runs[0] is not None and runs[1] is not None and runs[2] is None
    for g, w in zip(work.values, grads):
        np.testing.assert_array_equal(g, w)
    assert work.forward_passes == 1 and 0 < work.forward < work.vjp <= 5 * work.forward + 16, work


def test_the_cost_is_flat_in_the_number_of_outputs():
    """One backward pass for every output (the gradient of Σ sum(o·v)): k outputs cost k forwards and one VJP's worth
    each, not k backward passes over the whole function."""
    def fn(k):
        nodes = [Node.make("sin", "x0"), Node.make("exp", "v0")] + [Node.make("mul", "v1", "v0") for _ in range(k)]
        return Function(((4, 3),), tuple(nodes), tuple(f"v{2 + i}" for i in range(k)))
    ratios = []
    for k in (1, 4):
        f = fn(k)
        xs, vs = _point(f)
        ratios.append(TinygradBackend().work(f, xs, vs).ratio)
    assert ratios[1] <= ratios[0] * 1.5, ratios


def _tally(fn, *xs):
    tensors = [Tensor(np.asarray(x)) for x in xs]
    return count_linear(Tensor.schedule_linear(fn(*tensors))).work


def test_the_unit_costs_of_a_few_ops():
    x = np.ones((3, 4))
    assert _tally(lambda x: x.sin(), x) == 12  # one ALU op per element
    assert _tally(lambda x: x.sum(), x) == 12  # a reduction: the elements it reads
    assert _tally(lambda x: x.permute(1, 0).contiguous(), x) == 0  # a copy of a view: no arithmetic
    assert _tally(lambda x: x.exp(), x) == 24  # tinygrad's exp: exp2(x · log2 e), two ALU ops
    assert _tally(lambda x: x.matmul(x.T), x) == 2 * 3 * 3 * 4  # a multiply and an add per term: 2·m·n·k


def test_a_planted_wrong_vjp_is_caught_by_a_short_campaign(tmp_path):
    """A subclass whose VJP is off by 1e-3 relative (tests/planted.py) gives wrong-value findings."""
    sys.path.insert(0, str(HERE))
    try:
        from planted import PlantedTinygrad
    finally:
        sys.path.remove(str(HERE))
    with pytest.raises(AssertionError, match="wrong-value"):
        run_conformance(PlantedTinygrad, max_examples=2, seed=1, dtypes=["float64"], out=tmp_path)


def test_a_campaign_writes_a_report_with_its_column_and_every_finding_known(tmp_path):
    """A short campaign with work counting and the cost sweeps: every shipped entry replayed present, no finding
    unknown (the sweeps meet a forward tinygrad folds to a constant, softmax over an axis of length 1: work 0)."""
    done = _advalidate("run", "--backend", "tinygrad", "--no-probes", "--max-examples", "6", "--seed", "3",
                       "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [b["name"] for b in results["backends"]] == ["tinygrad"]
    assert results["known"] and all(r["status"] == "present" for r in results["known"]), \
        [(r["source"], r["status"]) for r in results["known"] if r["status"] != "present"]
    assert not [f for f in results["findings"] if not f["known"]]
    assert ">tinygrad<" in (tmp_path / "out" / "index.html").read_text()


@pytest.mark.parametrize("nodes, inputs", [
    ([Node.make("minimum", "x0", "x1")], [[0.7293659056250901, -1.0557465018264538],
                                          [[-1.86, -1.94], [1.35, 1.69], [0.62, 1.05], [0.40, 1.77]]]),
    ([Node.make("cumprod", "x0", axis=-1)], [[0.25, 0.25]]),
    ([Node.make("sort", "x0", axis=-1)], [[0.25, 1.125, 2.0]]),
    ([Node.make("div", "x0", "x0")], [np.full((3, 3), 0.75)]),
    ([Node.make("pow", "x0", "x0")], [[0.25, 0.25]]),
])
def test_the_cost_bound_entries_are_present(nodes, inputs):
    """The cost-bound entries of known/tinygrad.txt (their functions and points), counted by the backend: each VJP
    costs more than 5·work(f) + 16, advalidate's bound before its allowance for the inputs' and cotangents' sizes."""
    xs = [np.asarray(x, dtype=np.float64) for x in inputs]
    fn = Function(tuple(x.shape for x in xs), tuple(nodes), (f"v{len(nodes) - 1}",))
    vs = [np.ones(s) for s in fn.output_shapes]
    work = TinygradBackend().work(fn, xs, vs)
    assert work.vjp > 5 * work.forward + 16, work
