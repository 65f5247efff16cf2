"""Second order (Hessian-vector products) of the library backends: jax, jax-jit, torch and autograd, by both methods
(forward over reverse, reverse over reverse), against closed forms, against a float64 central difference of the
backend's own VJP, and against each other; dtypes and shapes as the contract asks (float32 stays float32, an input
nothing depends on gets zeros), the work counted once per forward, and the tables of primitives."""

import pathlib
import sys
import warnings

import numpy as np
import pytest

from advalidate import Builder
from advalidate.backends.contract import HVP, HVP_METHODS, Work, hvp_methods_of, modes_of, supports_mode
from advalidate.backends.registry import validate
from advalidate.builder import single

PLUGIN = pathlib.Path(__file__).resolve().parents[1] / "plugins" / "advalidate-autograd"


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


def _backend(name):
    if name not in _made:
        _made[name] = MAKERS[name]()
    return _made[name]


@pytest.fixture(params=sorted(MAKERS))
def backend(request):
    return _backend(request.param)


def _hvp(backend, fn, xs, vs, us, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autograd's "Output seems independent of input", torch's deprecations
        return backend.hvp(fn, xs, vs, us, method)


def _relative(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.linalg.norm(b)
    return np.linalg.norm(a - b) / scale if scale else np.linalg.norm(a - b)


def _check_arrays(result, fn):
    """The contract's types: NumPy arrays of the function's dtype, outputs of the output shapes, H_v·u of the
    inputs' shapes."""
    assert isinstance(result, HVP)
    assert len(result.outputs) == len(fn.output_shapes) and len(result.hvps) == len(fn.inputs)
    for got, shape in [*zip(result.outputs, fn.output_shapes), *zip(result.hvps, fn.inputs)]:
        assert type(got) is np.ndarray, type(got)
        assert got.dtype == np.dtype(fn.dtype) and got.shape == tuple(shape), (got.dtype, got.shape, shape)


# ---- functions with closed forms


def _tanh_mul(dtype="float64"):
    b = Builder(dtype)
    x, y = b.input(4), b.input(4)
    return b.build(b.tanh(b.mul(x, y)))


def _tanh_mul_exact(xs, vs, us):
    """H_v·u of tanh(x·y): z = xy, g_x = v t' y, g_y = v t' x, with t' = 1 - tanh², t'' = -2 tanh t'."""
    (x, y), (v,), (ux, uy) = [[np.asarray(a, np.float64) for a in arrays] for arrays in (xs, vs, us)]
    t = np.tanh(x * y)
    t1, dz = 1 - t * t, y * ux + x * uy
    t2 = -2 * t * t1
    return [v * (t2 * dz * y + t1 * uy), v * (t2 * dz * x + t1 * ux)]


def _sin_matmul(dtype="float64"):
    b = Builder(dtype)
    W, x = b.input(3, 4), b.input(4)
    return b.build(b.sin(b.matmul(W, x)))


def _sin_matmul_exact(xs, vs, us):
    """H_v·u of sin(W x): g_z = v cos z, g_W = g_z xᵀ, g_x = Wᵀ g_z; dg_z = -v sin z (dW x + W dx)."""
    (W, x), (v,), (dW, dx) = [[np.asarray(a, np.float64) for a in arrays] for arrays in (xs, vs, us)]
    z = W @ x
    gz = v * np.cos(z)
    dgz = -v * np.sin(z) * (dW @ x + W @ dx)
    return [np.outer(dgz, x) + np.outer(gz, dx), dW.T @ gz + W.T @ dgz]


CLOSED = {"tanh(x*y)": (_tanh_mul, _tanh_mul_exact), "sin(W@x)": (_sin_matmul, _sin_matmul_exact)}


def _point(fn, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, size=s).astype(fn.dtype) for s in fn.inputs]
    vs = [rng.normal(size=s).astype(fn.dtype) for s in fn.output_shapes]
    us = [rng.normal(size=s).astype(fn.dtype) for s in fn.inputs]
    return xs, vs, us


@pytest.mark.parametrize("method", HVP_METHODS)
@pytest.mark.parametrize("case", sorted(CLOSED))
def test_hvp_matches_the_closed_form_in_float64(backend, case, method):
    make, exact = CLOSED[case]
    fn = make()
    xs, vs, us = _point(fn)
    result = _hvp(backend, fn, xs, vs, us, method)
    _check_arrays(result, fn)
    for i, (got, want) in enumerate(zip(result.hvps, exact(xs, vs, us))):
        assert _relative(got, want) <= 1e-12, (backend.name, case, method, i, _relative(got, want))
    want_outputs = backend.vjp(fn, xs, vs).outputs
    assert all(np.array_equal(a, b) for a, b in zip(result.outputs, want_outputs))


@pytest.mark.parametrize("method", HVP_METHODS)
def test_float32_stays_float32_and_is_close_to_the_closed_form(backend, method):
    fn = _tanh_mul("float32")
    xs, vs, us = _point(fn, seed=1)
    result = _hvp(backend, fn, xs, vs, us, method)
    _check_arrays(result, fn)  # float32 arrays: nothing promoted to float64
    for got, want in zip(result.hvps, _tanh_mul_exact(xs, vs, us)):
        assert _relative(got, want) <= 1e-5, (backend.name, method, _relative(got, want))


# ---- a function without a closed form at hand: a central difference of the backend's own VJP


def _two_by_two(dtype="float64"):
    """Two outputs, fan-out, a reduction, and an input (x2) nothing depends on."""
    b = Builder(dtype)
    x, y, _ = b.input(3), b.input(3), b.input(2)
    h = b.tanh(b.mul(x, y))
    return b.build(b.add(b.exp(h), b.sum(b.sin(x))), b.logsumexp(b.mul(h, y)))


def _vjp_difference(backend, fn, xs, vs, us, h=1e-5):
    """``(Jᵀv(x + h u) - Jᵀv(x - h u)) / 2h``: the derivative of the backend's own VJP along u, to O(h²)."""
    plus = backend.vjp(fn, [x + h * u for x, u in zip(xs, us)], vs).grads
    minus = backend.vjp(fn, [x - h * u for x, u in zip(xs, us)], vs).grads
    return [(p - m) / (2 * h) for p, m in zip(plus, minus)]


@pytest.mark.parametrize("method", HVP_METHODS)
def test_hvp_is_the_derivative_of_the_backends_own_vjp(backend, method):
    fn = _two_by_two()
    xs, vs, us = _point(fn, seed=2)
    result = _hvp(backend, fn, xs, vs, us, method)
    _check_arrays(result, fn)
    want = _vjp_difference(backend, fn, xs, vs, us)
    for i in (0, 1):
        assert _relative(result.hvps[i], want[i]) <= 1e-6, (backend.name, method, i, _relative(result.hvps[i], want[i]))
    assert not result.hvps[2].any()  # the unused input: zeros of its shape and dtype (checked above)


@pytest.mark.parametrize("make", [_two_by_two, _sin_matmul])
def test_the_two_methods_agree_in_float64(backend, make):
    fn = make()
    xs, vs, us = _point(fn, seed=3)
    forward, reverse = (_hvp(backend, fn, xs, vs, us, method) for method in HVP_METHODS)
    for a, b in zip(forward.hvps, reverse.hvps):
        assert _relative(a, b) <= 1e-12, (backend.name, _relative(a, b))
    assert all(np.array_equal(a, b) for a, b in zip(forward.outputs, reverse.outputs))


# ---- zeros where nothing is second order


def _linear(dtype):
    """Outputs linear in the inputs (Jᵀv does not depend on them: H_v = 0), one of them an input as it is, an input
    nothing depends on, and a piecewise-constant output (floor: zero derivatives)."""
    b = Builder(dtype)
    x, y, _ = b.input(3), b.input(3), b.input(2)
    return b.build(b.add(x, y), b.sum(x), x, b.floor(y))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", HVP_METHODS)
def test_a_linear_function_gives_zeros_of_the_inputs_shapes_and_dtype(backend, method, dtype):
    fn = _linear(dtype)
    xs, vs, us = _point(fn, seed=4)
    result = _hvp(backend, fn, xs, vs, us, method)
    _check_arrays(result, fn)
    assert not any(h.any() for h in result.hvps)


@pytest.mark.parametrize("method", HVP_METHODS)
def test_abs_has_a_zero_second_derivative(backend, method):
    """torch's double backward of abs returns a ZeroTensor, which ``.numpy()`` refuses: it comes back as zeros."""
    fn = single("abs")
    rng = np.random.default_rng(5)
    xs = [rng.uniform(0.5, 1.5, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))]
    result = _hvp(backend, fn, xs, [rng.normal(size=(3, 4))], [rng.normal(size=(3, 4))], method)
    _check_arrays(result, fn)
    assert np.max(np.abs(result.hvps[0])) <= 1e-15


# ---- work, contract, tables


@pytest.mark.parametrize("method", HVP_METHODS)
def test_hvp_work_counts_one_forward_and_more_than_the_forward(backend, method):
    fn = _two_by_two()
    xs, vs, us = _point(fn, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        work = backend.hvp_work(fn, xs, vs, us, method)
        first = backend.work(fn, xs, vs)
    assert isinstance(work, Work)
    assert work.forward_passes == 1 and work.vjp > work.forward > 0, work
    assert work.forward == first.forward and work.vjp > first.vjp, (work, first)  # more than a VJP alone


def test_the_backends_pass_validation_with_both_methods(backend):
    validated = validate(type(backend))
    assert validated.name == backend.name
    assert "hvp" in modes_of(validated) and hvp_methods_of(validated) == HVP_METHODS
    assert supports_mode(validated, _two_by_two(), "hvp") is None


def test_an_unknown_method_is_refused(backend):
    fn = _tanh_mul()
    xs, vs, us = _point(fn)
    with pytest.raises(ValueError, match="unknown hvp method"):
        backend.hvp(fn, xs, vs, us, "reverse-over-forward")


def test_dialect_backends_leave_users_ops_out_of_second_order(monkeypatch):
    import advalidate.extend

    backend = _jax()
    assert "sin" in backend.hvp_primitives and set(backend.hvp_primitives) == set(backend.jvp_primitives)
    monkeypatch.setattr(advalidate.extend, "ops", lambda: {"sin": object()})  # as if a user's op were named sin
    assert "sin" in backend.primitives and "sin" not in backend.hvp_primitives


def test_autograd_second_order_tables():
    """Reverse over reverse runs every primitive; forward over reverse lacks those without a defjvp rule; the
    contract's one table is both methods' (the intersection), and what it leaves out raises autograd's own error."""
    backend = _backend("autograd")
    catalogue = set(backend._catalogue_primitives())
    by_method = backend.hvp_primitives_by_method
    assert set(by_method) == set(HVP_METHODS)
    assert set(by_method["reverse-over-reverse"]) == catalogue
    lacking = catalogue - set(by_method["forward-over-reverse"])
    assert {"erf", "sigmoid", "gammaln", "inv", "solve", "det"} <= lacking
    assert set(backend.hvp_primitives) == catalogue - lacking
    assert supports_mode(backend, single("erf"), "hvp") == "no hvp mode for: erf"
    fn = single("erf")
    xs, vs, us = _point(fn, seed=7)
    with pytest.raises(NotImplementedError, match="JVP of erf"):
        _hvp(backend, fn, xs, vs, us, "forward-over-reverse")
    # its reverse over reverse is right: erf'' = -2x erf'
    result = _hvp(backend, fn, xs, vs, us, "reverse-over-reverse")
    x, v, u = xs[0], vs[0], us[0]
    assert _relative(result.hvps[0], v * u * -2 * x * 2 / np.sqrt(np.pi) * np.exp(-x * x)) <= 1e-12
