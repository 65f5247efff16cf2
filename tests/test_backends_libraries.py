"""JAX, PyTorch and autograd against the NumPy reference tape, primitive by primitive, in float64 and float32.

The tolerance is normwise and relative: 64 units of the dtype's machine epsilon (1.4e-14 in float64, 7.6e-6
in float32). A single primitive at a well-conditioned point leaves both sides within a few ulps of the truth;
the largest differences measured here are 3.2e-16 (float64) and 2.5e-7 (float32).
"""

import pathlib
import sys
import types

import numpy as np
import pytest

from advalidate import CATALOGUE, Builder
from advalidate.backends.contract import Work
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.backends.registry import validate

from .helpers import single, well_inside

PLUGIN = pathlib.Path(__file__).resolve().parents[1] / "plugins" / "advalidate-autograd"
REF = NumpyReference()
RTOL = {dtype: 64 * float(np.finfo(dtype).eps) for dtype in ("float64", "float32")}


def _jax(jit=False):
    pytest.importorskip("jax")
    from advalidate.backends.jax_backend import JaxBackend, JaxJitBackend

    return JaxJitBackend() if jit else JaxBackend()


def _torch():
    pytest.importorskip("torch")
    from advalidate.backends.torch_backend import TorchBackend

    return TorchBackend()


def _autograd():
    pytest.importorskip("autograd")
    if str(PLUGIN) not in sys.path:
        sys.path.append(str(PLUGIN))  # importable for these numeric tests; registration is tested elsewhere
    from advalidate_autograd import AutogradBackend

    return AutogradBackend()


MAKERS = {"jax": _jax, "jax-jit": lambda: _jax(jit=True), "torch": _torch, "autograd": _autograd}
_made = {}


@pytest.fixture(params=sorted(MAKERS))
def backend(request):
    if request.param not in _made:
        _made[request.param] = MAKERS[request.param]()
    return _made[request.param]


def _relative(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.linalg.norm(b)
    return np.linalg.norm(a - b) / scale if scale else np.linalg.norm(a - b)


def _check_against_reference(backend, fn, xs, vs):
    ref = REF.vjp(fn, xs, vs)
    out = backend.vjp(fn, xs, vs)
    assert len(out.outputs) == len(ref.outputs) and len(out.grads) == len(ref.grads)
    for got, want in zip(out.outputs + out.grads, ref.outputs + ref.grads):
        assert isinstance(got, np.ndarray), type(got)
        assert got.dtype == np.dtype(fn.dtype) and got.shape == want.shape, (got.dtype, got.shape, want.shape)
        assert _relative(got, want) <= RTOL[fn.dtype], (_relative(got, want), RTOL[fn.dtype])


# ---- issue 16: VJPs that raise at every point (known behaviours of kind error, advalidate/known/<backend>.txt):
# strict, a release that fixes one fails here and its entry is to be dropped
RAISES = {("autograd", "diagonal"): NotImplementedError}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_agrees_with_the_reference_on_every_primitive(backend, dtype):
    rng = np.random.default_rng(7)
    for name in sorted(CATALOGUE):
        fn = single(name, dtype=dtype)
        if name not in backend.primitives:
            assert name in backend.missing()
            continue
        if (backend.name, name) in RAISES:
            xs = well_inside(fn, rng, dtype)
            with pytest.raises(RAISES[backend.name, name]):
                backend.vjp(fn, xs, [rng.normal(size=s).astype(dtype) for s in fn.output_shapes])
            continue
        if _known_error(backend.name, name):  # a listed known behaviour: the library raises (autograd's 2-D sort)
            # or misses at regular points (torch's digamma)
            continue
        for _ in range(2):
            xs = well_inside(fn, rng, dtype)
            vs = [rng.normal(size=s).astype(dtype) for s in fn.output_shapes]
            try:
                _check_against_reference(backend, fn, xs, vs)
            except AssertionError as e:
                raise AssertionError(f"{backend.name} {dtype} {name}: {e}") from None


def _known_error(backend, name):
    from advalidate.known import KnownBehaviours

    # an error anywhere, or a wrong value a known entry explains at regular points (torch's trigamma, 5e-10 relative)
    known = KnownBehaviours.load([backend])
    return known.match(backend, "error", name) is not None or any(
        known.match(backend, kind, name, "regular") is not None for kind in ("wrong-value", "precision-loss"))


def _composition(dtype="float64"):
    """Two outputs, fan-out, broadcasting, a reduction and an input (x2) the outputs do not use."""
    b = Builder(dtype)
    W, x, _ = b.input(4, 3), b.input(3), b.input(2)
    h = b.tanh(b.matmul(W, x))
    s = b.logsumexp(b.mul(h, h))
    return b.build(b.add(h, s), b.softmax(b.sub(h, b.sum(x))))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_agrees_on_a_composition_and_gives_zeros_to_an_unused_input(backend, dtype):
    rng = np.random.default_rng(11)
    fn = _composition(dtype)
    xs = [rng.normal(size=s).astype(dtype) for s in fn.inputs]
    vs = [rng.normal(size=s).astype(dtype) for s in fn.output_shapes]
    _check_against_reference(backend, fn, xs, vs)
    unused = backend.vjp(fn, xs, vs).grads[2]
    assert unused.shape == (2,) and unused.dtype == np.dtype(dtype) and not unused.any()


def test_every_catalogue_primitive_is_supported_or_declared_missing(backend):
    missing = backend.missing()
    assert set(backend.primitives) | set(missing) == set(CATALOGUE)
    assert not set(backend.primitives) & set(missing)
    assert all(isinstance(reason, str) and reason for reason in missing.values())


def test_the_real_backends_follow_the_contract(backend):
    assert validate(type(backend)).name == backend.name


def test_torch_an_unsupported_primitive_is_declared_and_refused_by_name():
    base = type(_torch())
    Partial = type("Partial", (base,), {"name": "torch-no-erf", "unsupported": {"erf": "not in this build"}})
    backend = Partial()
    assert "erf" not in backend.primitives and backend.missing()["erf"] == "not in this build"
    assert backend.supports(single("erf")) == "unsupported primitives: erf"
    with pytest.raises(NotImplementedError, match="does not support erf"):
        backend.vjp(single("erf"), [np.ones((3, 4))], [np.ones((3, 4))])


def test_jax_runs_in_float64_and_jit_is_an_option():
    jax = pytest.importorskip("jax")

    from advalidate.backends.jax_backend import JaxBackend

    eager, jitted = JaxBackend(), JaxBackend(jit=True)
    assert not eager.jit and jitted.jit
    assert jax.config.jax_enable_x64
    assert (eager.name, jitted.name) == ("jax", "jax-jit")
    from advalidate.backends.jax_backend import JaxJitBackend

    assert JaxJitBackend().jit and JaxJitBackend().name == "jax-jit"


def test_the_backend_runs_the_source_it_prints(backend):
    fn = _composition()
    from advalidate.render import render

    assert backend.compiled(fn).__source__ == render(fn, backend.dialect)


COUNTERS = {"jax": "advalidate.cost.jaxpr", "jax-jit": "advalidate.cost.jaxpr",
            "torch": "advalidate.cost.dispatch", "autograd": "advalidate_autograd.work"}


def test_work_counts_the_code_vjp_runs(backend, monkeypatch):
    """work() hands the library's counter the compiled dialect function, the inputs, the cotangents and the very
    derivative code ``vjp`` runs (issue 18: never a second copy): run on the same point, that code gives the values
    ``vjp`` returns, bit for bit."""
    import importlib

    calls = []

    def count_work(f, inputs, cotangents, vjp=None):
        calls.append((f, inputs, cotangents, vjp))
        return Work(forward=10, vjp=30, forward_passes=1)

    monkeypatch.setattr(importlib.import_module(COUNTERS[backend.name]), "count_work", count_work)
    rng = np.random.default_rng(2)
    fn = _composition()
    xs = [rng.normal(size=s) for s in fn.inputs]
    vs = [rng.normal(size=s) for s in fn.output_shapes]
    assert backend.work(fn, xs, vs) == Work(10, 30, 1)
    (f, inputs, cotangents, code), = calls
    assert f is backend.compiled(fn) and len(inputs) == 3 and len(cotangents) == 2 and code is not None
    outputs = [np.asarray(o) for o in f(*[_native(backend, x) for x in inputs])]
    np.testing.assert_allclose(outputs[0], REF.vjp(fn, xs, vs).outputs[0], rtol=1e-14)
    native = [_native(backend, x, grad=True) for x in xs]
    _, grads = code(f, native, [_native(backend, v) for v in vs])
    checked = backend.vjp(fn, xs, vs).grads
    grads = [np.zeros_like(c) if g is None else np.asarray(g.detach() if hasattr(g, "detach") else g)
             for g, c in zip(grads, checked)]  # None: an input the outputs do not reach (torch)
    assert all(np.array_equal(g, c) for g, c in zip(grads, checked))


def _native(backend, x, grad=False):
    if backend.name == "torch":
        import torch

        return torch.tensor(x, requires_grad=grad)
    return x
