"""The per-primitive conformance checks: every backend passes them, and they catch planted bugs in a backend."""

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
from advalidate.conformance.checks import run_checks

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
    # not-supported: a primitive the library lacks (no template: the README's primitives table lists them)
    assert report.ok and statuses <= {"pass", "known", "not-supported"}, report.summary()
    # every program in each mode (every backend here has forward mode too)
    assert len(report.outcomes) == 2 * (len(numpy_ref.VJPS) + len(conformance.COMPOSITIONS))
    assert {o.id.split("[")[0] for o in report.outcomes} == {"vjp", "jvp"}


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_every_backend_passes_in_float64_at_default_settings(name):
    _passes(run_checks(_backend(name), dtypes=["float64"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_every_backend_passes_in_float32_at_default_settings(name):
    _passes(run_checks(_backend(name), dtypes=["float32"]))


def test_every_primitive_and_composition_is_checked_in_each_dtype():
    ids = [c.id for c in conformance.checks(NumpyReference())]
    n = len(numpy_ref.VJPS) + len(conformance.COMPOSITIONS)
    assert len(ids) == len(set(ids)) == 2 * 2 * n  # two dtypes, two modes
    assert "vjp[float64][sin]" in ids and "vjp[float32][softmax-net]" in ids and "jvp[float64][sin]" in ids


class ReverseOnly(NumpyReference):
    """A backend without forward mode: no jvp checks."""

    name = "reverse-only"
    jvp = jvp_work = None


def test_a_backend_without_forward_mode_gets_reverse_mode_checks_only():
    ids = [c.id for c in conformance.checks(ReverseOnly())]
    assert ids and all(i.startswith("vjp[") for i in ids)


def test_a_wrong_jvp_rule_fails_its_forward_mode_check_and_names_it():
    from .test_forward_mode import WrongJVP

    backend = WrongJVP("sin", lambda ts, ans, x: ts[0] * np.cos(x) * (1 + 1e-9))
    backend.version = "planted"
    report = run_checks(backend, dtypes=["float64"], select=_only("vjp[float64][sin]", "jvp[float64][sin]"),
                        raise_on_failure=False)
    assert [(o.id, o.status, o.kind) for o in report.outcomes] == [
        ("vjp[float64][sin]", "pass", None), ("jvp[float64][sin]", "fail", "wrong-value")]
    assert "J·w of output 0" in report.outcomes[1].detail
    # its reproduction gives the tangents w (a forward-mode failure cannot be rerun from the cotangents)
    reproduction = report.outcomes[1].reproduction
    assert "input tangents w of forward mode" in reproduction and "\nw0 = np.array(" in reproduction
    assert "\nv0 = " not in reproduction and "\nx0 = np.array(" in reproduction


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
        run_checks(PlantedSin, select=_only("vjp[float64][sin]", "vjp[float64][cos]"))
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
    report = run_checks(Float64Always, select=_only("vjp[float32][exp]", "vjp[float64][exp]"),
                             raise_on_failure=False)
    (failure,) = report.failures
    assert failure.id == "vjp[float32][exp]" and failure.kind == "error"
    assert "gradient 0 has shape (3, 4) and dtype float64; expected (3, 4) and float32" in failure.detail


class Raises(NumpyReference):
    name = "raises"

    def vjp(self, fn, inputs, cotangents):
        raise RuntimeError("no kernel for this op")


def test_an_exception_is_an_error_not_a_crash():
    report = run_checks(Raises, dtypes=["float64"], select=_only("vjp[float64][tanh]"), raise_on_failure=False)
    (failure,) = report.failures
    assert failure.kind == "error" and "RuntimeError: no kernel for this op" in failure.detail


class NoErf(NumpyReference):
    name = "no-erf"
    primitives = {k: v for k, v in numpy_ref.VJPS.items() if k != "erf"}


def test_an_unsupported_primitive_is_reported_not_run():
    report = run_checks(NoErf, dtypes=["float64"], select=_only("vjp[float64][erf]", "vjp[float64][exp]"))
    assert [(o.id, o.status) for o in report.outcomes] == [("vjp[float64][exp]", "pass"),
                                                          ("vjp[float64][erf]", "not-supported")]


def test_a_known_failure_is_reported_as_known_with_its_evidence(tmp_path):
    (tmp_path / "planted-sin.txt").write_text(
        "# planted: the sin rule is 1e-9 relative off\n# evidence: the test that planted it\nwrong-value sin\n"
        "    function: sin(x0)\n    inputs: x0 = 0.5\n    cotangents: 1.0\n")
    report = run_checks(PlantedSin, known_dir=tmp_path, select=_only("vjp[float64][sin]", "vjp[float64][cos]"))
    assert report.ok
    assert {o.id: o.status for o in report.outcomes} == {"vjp[float64][sin]": "known", "vjp[float64][cos]": "pass"}
    summary = report.summary()
    assert "KNOWN vjp[float64][sin] [wrong-value]" in summary and "planted: the sin rule is 1e-9" in summary


def test_a_known_entry_of_another_kind_does_not_match(tmp_path):
    (tmp_path / "planted-sin.txt").write_text(
        "nan-inf sin  # a different kind\n    function: sin(x0)\n    inputs: x0 = 0.5\n    cotangents: 1.0\n")
    with pytest.raises(AssertionError, match="FAIL vjp\\[float64\\]\\[sin\\] \\[wrong-value\\]"):
        run_checks(PlantedSin, known_dir=tmp_path, select=_only("vjp[float64][sin]"))


def _pytest(args, **env):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    plugin = [] if _plugin_installed() else ["-p", "advalidate.pytest_plugin"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, "--pyargs", "advalidate.conformance"]
    return subprocess.run(cmd + args, capture_output=True, text=True, env=environ, cwd=ROOT.parent, timeout=300)


def _plugin_installed():
    return any(ep.value == "advalidate.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def test_the_pytest_entry_runs_one_test_per_check():
    done = _pytest(["--advalidate-backend", "numpy-ref", "-k", "test_primitive and tanh and not gelu and not arctanh and not hardtanh"])
    assert done.returncode == 0, done.stdout + done.stderr
    # vjp[float64][tanh] and vjp[float64][chain-tanh], and the same in forward mode (not gelu_tanh, arctanh, hardtanh)
    assert done.stdout.strip().splitlines()[-1].startswith("4 passed"), done.stdout
