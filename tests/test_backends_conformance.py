"""The conformance suite: every backend passes it, and it catches planted bugs in a backend."""

import importlib.metadata
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from advalidate.backends import numpy_ref
from advalidate.backends.contract import VJP
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.conformance import checks as conformance
from advalidate.conformance.known import parse
from advalidate.testing import run_conformance

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "advalidate-autograd"
LIBRARIES = {"numpy-ref": "numpy", "jax": "jax", "jax-jit": "jax", "torch": "torch", "autograd": "autograd"}


def _backend(name):
    pytest.importorskip(LIBRARIES[name])
    if name == "autograd":
        if str(PLUGIN) not in sys.path:
            sys.path.append(str(PLUGIN))
        from advalidate_autograd import AutogradBackend

        return AutogradBackend
    return name


def _passes(report):
    statuses = {o.status for o in report.outcomes}
    assert report.ok and statuses <= {"pass", "known-pass", "known-fail"}, report.summary()
    assert len(report.outcomes) == len(numpy_ref.VJPS) + len(conformance.COMPOSITIONS)


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_every_backend_passes_in_float64_at_default_settings(name):
    _passes(run_conformance(_backend(name), dtypes=["float64"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_every_backend_passes_in_float32_at_default_settings(name):
    _passes(run_conformance(_backend(name), dtypes=["float32"]))


def test_every_primitive_and_composition_is_checked_in_each_dtype():
    ids = [c.id for c in conformance.checks(NumpyReference())]
    n = len(numpy_ref.VJPS) + len(conformance.COMPOSITIONS)
    assert len(ids) == len(set(ids)) == 2 * n
    assert "vjp[float64][sin]" in ids and "vjp[float32][softmax-net]" in ids


def test_points_are_reproducible_per_check_and_seed():
    check = conformance.checks(NumpyReference(), ["float64"])[0]
    a, b, c = check.points(2, 0), check.points(2, 0), check.points(2, 1)
    a, b, c = list(a), list(b), list(c)
    assert all(np.array_equal(x, y) for x, y in zip(a[1][0], b[1][0]))
    assert not np.array_equal(a[0][0][0], c[0][0][0])


class PlantedSin(NumpyReference):
    """The reference tape with the VJP of sin wrong by 1e-9 relative."""

    name = "planted-sin"
    primitives = dict(numpy_ref.VJPS, sin=(lambda g, ans, x: g * np.cos(x) * (1 + 1e-9),))

    def vjp(self, fn, inputs, cotangents):
        values = numpy_ref.forward(fn, inputs)
        grads = numpy_ref.backward(fn, values, cotangents, self.primitives)
        return VJP([np.array(numpy_ref.counting.unwrap(values[o])) for o in fn.outputs], [np.array(g) for g in grads])


def _only(*ids):
    return lambda check_id: check_id in ids


def test_a_vjp_wrong_by_1e_9_fails_with_evidence_and_a_reproduction():
    with pytest.raises(AssertionError) as info:
        run_conformance(PlantedSin, select=_only("vjp[float64][sin]", "vjp[float64][cos]"))
    text = str(info.value)
    assert "FAIL vjp[float64][sin] [wrong-value]" in text and "vjp[float64][cos]" not in text
    assert "backend" in text and "oracle" in text and "def f(x0):" in text and "np.sin(x0)" in text


class Float64Always(NumpyReference):
    """Returns float64 gradients whatever the function's dtype."""

    name = "float64-always"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [g.astype(np.float64) for g in out.grads])


def test_a_wrong_dtype_is_an_error():
    report = run_conformance(Float64Always, select=_only("vjp[float32][exp]", "vjp[float64][exp]"),
                             raise_on_failure=False)
    (failure,) = report.failures
    assert failure.id == "vjp[float32][exp]" and failure.kind == "error"
    assert "gradient 0 has shape (3, 4) and dtype float64; expected (3, 4) and float32" in failure.detail


class Raises(NumpyReference):
    name = "raises"

    def vjp(self, fn, inputs, cotangents):
        raise RuntimeError("no kernel for this op")


def test_an_exception_is_an_error_not_a_crash():
    report = run_conformance(Raises, dtypes=["float64"], select=_only("vjp[float64][tanh]"), raise_on_failure=False)
    (failure,) = report.failures
    assert failure.kind == "error" and "RuntimeError: no kernel for this op" in failure.detail


class NoErf(NumpyReference):
    name = "no-erf"
    primitives = {k: v for k, v in numpy_ref.VJPS.items() if k != "erf"}


def test_an_unsupported_primitive_is_reported_not_run():
    report = run_conformance(NoErf, dtypes=["float64"], select=_only("vjp[float64][erf]", "vjp[float64][exp]"))
    assert [(o.id, o.status) for o in report.outcomes] == [("vjp[float64][exp]", "pass"),
                                                          ("vjp[float64][erf]", "not-supported")]


def test_a_known_failure_is_reported_as_known_and_stale_entries_warn(tmp_path):
    known = tmp_path / "planted-sin.txt"
    known.write_text("# planted\nvjp[float64][sin]  # wrong-value: planted 1e-9 relative error in the sin rule\n"
                     "vjp[float64][cos]  # passes: listed to test the known-pass status\n"
                     "vjp[float64][cbrt]  # matches no check\n")
    with pytest.warns(UserWarning, match=r"match no check: vjp\[float64\]\[cbrt\]"):
        report = run_conformance(PlantedSin, known=known, select=_only("vjp[float64][sin]", "vjp[float64][cos]"))
    assert report.ok
    assert {o.id: o.status for o in report.outcomes} == {"vjp[float64][sin]": "known-fail",
                                                        "vjp[float64][cos]": "known-pass"}
    summary = report.summary()
    assert "known: wrong-value: planted" in summary and "depends on the points, or it is stale" in summary


def test_a_known_entry_needs_its_evidence():
    with pytest.raises(ValueError, match="known.txt:2: 'vjp\\[float64\\]\\[sin\\]' needs a comment"):
        parse("# header\nvjp[float64][sin]\n", "known.txt")


def test_the_pytest_entry_runs_one_test_per_check():
    env = dict(os.environ, PYTHONPATH=str(ROOT), ADVALIDATE_BACKEND="numpy-ref")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "advalidate.conformance",
           "-k", "tanh", "--advalidate-points=1" if _plugin_installed() else "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT.parent, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
    # vjp[..][tanh] and vjp[..][chain-tanh] in two dtypes
    assert done.stdout.strip().splitlines()[-1].startswith("4 passed"), done.stdout


def _plugin_installed():
    return any(ep.value == "advalidate.conformance.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def test_the_pytest_entry_without_a_backend_is_a_usage_error():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ADVALIDATE_BACKEND", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "advalidate.conformance"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT.parent, timeout=300)
    assert done.returncode != 0 and "needs --advalidate-backend NAME" in done.stdout + done.stderr
