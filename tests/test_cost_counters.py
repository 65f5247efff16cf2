"""Every backend's work counter: the one-pass bound on each catalogue primitive and on compositions."""

import numpy as np
import pytest

from advalidate import primitives
from advalidate.check import program_omega
from advalidate.cost import OMEGA, check_bound, examples, io_size
from .cost_counters import BACKENDS, counter, library

# Primitives whose VJP rule, as the library writes it, costs more than omega = 5 under unit weights
# (measured at shape (8, 16); each was read off the trace, see the report). Strict: a fix makes them fail.
EXCEEDS = {
    ("jax", "erf"): "6.0: square, neg, exp, two muls for one erf",
    ("jax", "abs"): "6.0: ge, two select_n, neg, add_any instead of g·sign(x)",
    ("jax", "div"): "7.0: integer_pow(-2) (2 ops), two muls, neg, div",
    ("jax", "maximum"): "13.0: ties split 1/2 with eq/select_n/div on both sides",
    ("jax", "minimum"): "13.0: ties split 1/2 with eq/select_n/div on both sides",
    ("jax", "atan2"): "6.5: x² + y² computed twice",
    ("torch", "erf"): "6.0: pow, neg, exp, two muls",
    ("torch", "div"): "6.0: three divs, neg, mul",
    ("torch", "pow"): "6.0: zero-base masks (ge, eq, logical_and, where ×2) around log and pow",
    ("torch", "maximum"): "11.0: ties split with div/eq/where/masked_fill on both sides",
    ("torch", "minimum"): "11.0: ties split with div/eq/where/masked_fill on both sides",
    ("torch", "atan2"): "6.5: reciprocal of x² + y², masked_fill, four muls",
    ("torch", "prod"): "7.0: exclusive cumprods built with cat (a move), flip, two cumprods",
    ("autograd", "sqrt"): "7.0: g·0.5·x**-0.5 (np.power weighs 3) plus the tuple cotangent add",
    ("autograd", "erf"): "8.0: x**2 by np.power (3), neg, exp, two muls",
    ("autograd", "abs"): "7.0: conj, two replace_zero, mul, div",
    ("autograd", "relu"): "7.0: maximum(x, 0) with balanced_eq tie splitting",
    ("autograd", "div"): "8.0: -g·x/y² with np.power",
    ("autograd", "maximum"): "13.0: balanced_eq on both sides",
    ("autograd", "minimum"): "13.0: balanced_eq on both sides",
    ("autograd", "atan2"): "7.5: x² + y² twice",
    ("autograd", "max"): "8.0: mask, its sum, a divide and a multiply per element",
    ("autograd", "arcsinh"): "6.0: g / sqrt(x² + 1) with np.power",
    ("autograd", "pow"): "5.33: x**where(y, y - 1, 1) and x**y again in the rules (np.power weighs 3), a where",
    # ---- issue 16: scans, sorting, indexing, statistics
    ("jax", "cumprod"): "14.3: the JVP of an associative_scan (up- and down-sweep levels), transposed: add_any, mul",
    ("jax", "cummax"): "30.6: the JVP of an associative_scan over (max, tangent): eq, select_n, div per level",
    ("jax", "logcumsumexp"): "12.1: the JVP of an associative_scan of logaddexp: exp, sub, select_n per level",
    ("torch", "cumprod"): "24.4: cumprod_backward's zero masks (eq, bitwise_not, masked_fill, scatter) and a "
                          "cumsum of g·ans / x",
    ("torch", "logcumsumexp"): "6.25: logcumsumexp_backward runs logcumsumexp twice more on log|g| - ans parts",
    ("autograd", "min"): "8.0: mask, its sum, a divide and a multiply per element (as max)",
    ("autograd", "sort"): "raises NotImplementedError for a multi-dimensional operand (known error)",
    ("autograd", "pad"): "raises AssertionError in reflect and edge modes (known error; the example reflects)",
    # ---- issue 16: elementwise, activations, special functions
    ("jax", "arccos"): "6.0: square, sub, rsqrt, neg, mul for one acos",
    ("jax", "arctanh"): "7.0: 1/(1 - x²) with two integer_pows (x², the reciprocal), add, sub, mul",
    ("jax", "fmod"): "9.0: the divisor's cotangent recomputes trunc(a/b) (div, sign, abs, floor, mul, div) then neg, mul",
    ("jax", "erfc"): "6.0: square, neg, exp, two muls for one erfc",
    ("jax", "clip"): "7.0: the bounds' ties split 1/2 with eq/select_n/div on both sides (as maximum/minimum)",
    ("torch", "arcsin"): "6.0: -(x·x) + 1, rsqrt, two muls",
    ("torch", "arccos"): "7.0: -(x·x) + 1, rsqrt, two muls, two negs",
    ("torch", "erfc"): "6.0: pow, neg, exp, two muls",
    ("torch", "erfinv"): "6.0: erfinv recomputed in the backward (not its result reused), pow, exp, two muls",
    ("torch", "xlog1py"): "5.5: special_xlog1py again for x's cotangent, le/eq/bitwise_and/masked_fill at y",
    ("autograd", "arcsin"): "6.0: g / sqrt(1 - x**2) with np.power (3)",
    ("autograd", "arccos"): "7.0: -g / sqrt(1 - x**2) with np.power (3)",
    ("autograd", "arccosh"): "6.0: g / sqrt(x**2 - 1) with np.power (3)",
    ("autograd", "remainder"): "7.0: -g·floor(x/y) for y, g for x, and the tuple cotangent add",
    ("autograd", "erfc"): "8.0: -2·g/sqrt(pi)·exp(-(x**2)) with np.power (3)",
    ("autograd", "erfinv"): "8.0: erfinv recomputed in the rule, its square by np.power (3), exp, muls",
    ("autograd", "clip"): "6.0: g·logical_and(ans != lo, ans != hi)",
}


# ---- issue 16: structural linear algebra (ratios at the registrations' examples: outer 16 x 8, kron (2, 2) x (8, 16))
EXCEEDS.update({
    ("jax", "outer"): "5.19: the product's transpose sums each cotangent again over the size-1 axis it broadcast",
    ("jax", "kron"): "5.26: the broadcast product's transpose sums the size-1 axes of each operand again",
    ("autograd", "outer"): "5.19: anp.dot(g, b.T) and anp.dot(a.T, g) plus the unbroadcast sums of the tuple cotangent",
    ("autograd", "kron"): "5.26: tensordots over the reshaped cotangent plus reshape-back sums",
    ("autograd", "trace"): "49.0: g times an identity matrix (np.eye, an einsum over all m·n entries) for a trace that "
                           "reads min(m, n)",
    # ---- issue 16 triage (t16a): the counter sees SciPy's LAPACK solve since then
    ("autograd", "triangular_solve"): "5.31: scipy's solve_triangular(a, ḡ, trans='T') twice (the rules for a and b) "
                                      "and the full outer product v·xᵀ before tril (known)",
})
RAISES = {("autograd", "diagonal"): "make_diagonal, the VJP of np.diagonal, raises NotImplementedError for "
                                    "np.diagonal's default axes"}


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param, counter(request.param)


def _supports(dialect, prims) -> bool:
    """The dialect has a template for every primitive of ``prims`` (a primitive without one is not supported)."""
    from advalidate.render import DIALECTS

    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    return all(d.template(p) is not None for p in prims)


def _check(name, cnt, prim, fn):
    xs, vs = examples.point(fn, np.random.default_rng(7), prim)
    work = cnt(fn, xs, vs)
    assert work.forward_passes == 1
    structural = prim in primitives.FAMILIES["structural"]
    omega = program_omega(fn)  # a factorisation's own constant where 5 does not hold for a correct rule
    verdict = check_bound(work, omega, io=io_size(xs, vs) if structural else 0)
    assert verdict.ok, f"{name} {prim}: {verdict.message}"
    if not structural:  # the ratio itself, no slack: the examples are large enough not to need it
        assert work.ratio <= omega, f"{name} {prim}: ratio {work.ratio:.2f} ({work.forward} -> {work.vjp})"
    return work


def _lacks(dialect, prim):
    from advalidate.render import DIALECTS

    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    return d.template(prim) is None


@pytest.mark.parametrize("prim", list(primitives.CATALOGUE))
def test_catalogue_primitive_keeps_the_bound(backend, prim, request):
    name, cnt = backend
    if name != "numpy-ref" and not _supports(library(name)[1], [prim]):
        pytest.skip(f"{name} does not support {prim}")
    if (name, prim) in EXCEEDS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{name} {prim}: {EXCEEDS[name, prim]}"))
    if (name, prim) in RAISES:
        request.applymarker(pytest.mark.xfail(strict=True, raises=NotImplementedError, reason=RAISES[name, prim]))
    _check(name, cnt, prim, examples.single(prim))


@pytest.mark.parametrize("label, fn", examples.composed(), ids=[c[0] for c in examples.composed()])
def test_composed_functions_keep_the_bound(backend, label, fn):
    name, cnt = backend
    _check(name, cnt, None, fn)


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_every_traced_op_is_in_a_table(name):
    """No primitive is charged by the default rule on the catalogue and the compositions."""
    module, dialect = library(name)
    from advalidate import compile_function

    for label, fn in examples.catalogue() + examples.composed():
        if not _supports(dialect, fn.primitives_used):
            continue  # not supported by the library: no template
        xs, vs = examples.point(fn, np.random.default_rng(1), label)
        f = compile_function(fn, dialect)
        if name == "jax":
            from advalidate.backends.jax_backend import reverse_mode

            tally = module.count_program(lambda xs, vs: reverse_mode(f, xs, vs), xs, vs)
        else:
            import torch

            from advalidate.backends.torch_backend import reverse_mode

            tally = module.Tally()
            ts = [torch.from_numpy(x).requires_grad_(True) for x in xs]
            with module.counting_ops(tally):
                reverse_mode(f, ts, [torch.from_numpy(v) for v in vs])
        assert not tally.unknown, f"{label}: {sorted(tally.unknown)}"


def test_jax_counter_recurses_into_scan_and_cond():
    pytest.importorskip("jax")
    import jax
    import jax.numpy as jnp

    from advalidate.cost import jaxpr

    def body(c, x):
        return c, jnp.sin(x) * c

    x = jnp.ones(10)
    assert jaxpr.count_program(lambda xs: jax.lax.scan(body, 1.0, xs)[1], jnp.ones((7, 10))).work == 7 * 20
    cond = jaxpr.count_program(lambda p, x: jax.lax.cond(p, lambda x: jnp.exp(jnp.sin(x)), jnp.cos, x), True, x)
    assert cond.work == 20  # the dearer branch


def test_torch_fused_backward_kernels_are_weighted():
    pytest.importorskip("torch")
    import torch

    from advalidate.cost import dispatch

    g, y = torch.ones(5), torch.full((5,), 0.5)
    tally = dispatch.Tally()
    with dispatch.counting_ops(tally):
        torch.ops.aten.tanh_backward(g, y)
        torch.ops.aten._softmax_backward_data(g.reshape(1, 5), y.reshape(1, 5), 1, torch.float32)
    assert tally.by_op["tanh_backward"] == 3 * 5
    assert tally.by_op["_softmax_backward_data"] == 4 * 5


def test_jax_xla_second_opinion_agrees_on_the_shape():
    """XLA's cost analysis (after fusion) gives a lower but also flat VJP/f flops ratio on the matrix chain."""
    pytest.importorskip("jax")
    from advalidate import compile_function
    from advalidate.cost import jaxpr

    ratios = []
    for m in (16, 1024):
        fn = examples.matrix_chain(64, m)
        xs, vs = examples.point(fn, np.random.default_rng(0))
        cost = jaxpr.xla_cost(compile_function(fn, "jax"), xs, vs)
        ratios.append(cost["vjp"]["flops"] / cost["forward"]["flops"])
        assert ratios[-1] <= jaxpr.count_work(compile_function(fn, "jax"), xs, vs).ratio
    assert 1 < min(ratios) and max(ratios) <= OMEGA and max(ratios) / min(ratios) < 1.1


def test_jax_while_loop_is_counted_once_and_recorded():
    pytest.importorskip("jax")
    import jax
    import jax.numpy as jnp

    from advalidate.cost import jaxpr

    tally = jaxpr.count_program(lambda x: jax.lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, jnp.sin(c[1])),
                                                             (0, x))[1], jnp.ones(10))
    assert tally.while_loops == 1 and tally.by_primitive["sin"] == 10


def test_autograd_counter_sees_scipy_triangular_solves():
    """autograd's solve_triangular is SciPy's LAPACK call on plain copies: its forward and the solve in its VJP rule
    are charged n per element of the right-hand side (as the jaxpr and dispatch counters charge it), and what is
    computed from the solution is observed (F085 of issue 16's special campaign: work(f) of
    softmax(solve_triangular(a, b)) was 0, every op after the solve unseen, a cost-bound finding of 20 > 19)."""
    pytest.importorskip("autograd")
    from advalidate.ir import Function, Node

    name, cnt = "autograd", counter("autograd")
    fn = Function(((1, 1), (1, 1)), (Node.make("triangular_solve", "x0", "x1", lower=False),
                                     Node.make("softmax", "v0", axis=-1)), ("v1",), "float64")
    xs, vs = [np.array([[-0.5]]), np.array([[2.0]])], [np.array([[1.0]])]  # F085's shapes
    work = cnt(fn, xs, vs)
    assert work.forward == 1 + 5  # the solve (n = 1, one element), then max, sub, exp, sum and div of one element
    assert work.forward_passes == 1
    assert check_bound(work, program_omega(fn)).ok
