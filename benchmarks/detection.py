"""Detection power of advalidate beside the anchors: planted bugs, sensitivity and false alarms, in one run.

Usage: python benchmarks/detection.py [--quick] [--examples N] [--false-alarm-examples N] [--seed S]
       [--across-seeds K] [--skip SECTION ...] [--checkers CHECKER ...] [--forward-checkers CHECKER ...]
       [--second-order-checkers CHECKER ...] [--second-order-campaign-examples N]

Every checker sees the SAME generated examples (one stream drawn from ``strategies.examples()`` with a fixed
seed) and the SAME planted-bug backends (``tests/mutants.py``). The anchors check a function of their own
library built for each example: its forward is f (the catalogue's NumPy forms, ``advalidate.evaluate``) and its
backward is the backend's VJP (``backend.vjp``), so each anchor checks exactly the derivative advalidate checks:

- torch: a ``torch.autograd.Function`` checked by ``torch.autograd.gradcheck`` (default, and ``fast_mode=True``);
- jax: a ``jax.custom_vjp`` over ``jax.pure_callback`` checked by ``jax.test_util.check_grads(order=1,
  modes=["rev"])``;
- autograd: an ``autograd.extend.primitive`` with ``defvjp_argnums`` checked by ``autograd.test_util.
  check_grads(modes=["rev"], order=1, argnum=<all arguments>)`` (its default ``argnum=0`` would check the
  first argument only).

A function with several outputs is seen by the anchors as one vector (the outputs flattened and concatenated);
its backward splits the cotangent back into one per output, so nothing is dropped. The anchors check values
only: the cost-bound mutants (right values, wrong cost) are out of their reach by design.

Three tables, and a fourth on request:
1. planted bugs: detected within the stream, examples and seconds to the first detection, size of the
   counterexample (advalidate: the shrunk minimal finding of a campaign on the mutant; anchors: the first
   failing example, they do not shrink);
2. sensitivity: the smallest relative VJP error δ (backend = correct VJP × (1 + δ), δ = 1e-2 … 1e-14)
   detected at every one of several points of well-conditioned functions;
3. false alarms per 10,000 examples on correct VJPs (the NumPy reference tape) over the stream;
4. ``--across-seeds K``: for each mutant, in how many of the streams of seeds 0 … K-1 advalidate's first
   detection comes later than, with, or earlier than the earliest anchor's (one seed's table can be luck).

Forward mode (JVP), run by default after those (``--skip forward`` skips it; ``--skip forward-planted``,
``forward-sensitivity``, ``forward-false-alarms`` one section each; ``--skip planted sensitivity false-alarms``
runs the forward part alone). The stream is drawn from ``strategies.examples(tangents=True)`` (same seeds and
sizes as above), each example's ``tangents`` being the direction w. Columns (``FORWARD_CHECKERS``):

- advalidate jvp: ``check_example(..., tangents=ex.tangents, modes=("jvp",))``, a detection being a finding of the
  mutant's expected kind;
- gradcheck fwd: a ``torch.autograd.Function`` (``forward`` without ctx plus ``setup_context``, as torch requires
  of a Function with a ``jvp``) whose ``jvp`` is the backend's JVP and whose ``backward`` its VJP, checked by
  ``torch.autograd.gradcheck(check_forward_ad=True, check_backward_ad=False)``;
- jax check_grads fwd: a ``jax.custom_jvp`` over ``jax.pure_callback`` whose rule returns the primal and a
  ``pure_callback`` of the backend's JVP, checked by ``check_grads(order=1, modes=["fwd"])`` (forward only: jax
  cannot transpose a ``pure_callback``, so this function has no reverse mode);
- autograd check_grads fwd: an ``autograd.extend.primitive`` with ``defjvp_argnum`` (argument i's JVP: the
  backend's JVP along the tangent of argument i alone, zeros elsewhere) and ``defvjp_argnums`` (the backend's VJP),
  checked by ``check_grads(modes=["fwd"], order=1, argnum=<all arguments>)``.

Outputs are flattened and concatenated as for the VJP anchors. Three more tables:
5. planted forward-mode bugs (``tests/jvp_mutants.py``: one JVP rule of the reference tape wrong, every VJP
   rule right; and a forward mode that re-runs f per input, a cost-bound finding no anchor can see), cells as
   in table 1 (advalidate's shrunk size from a forward-mode campaign on the mutant);
6. sensitivity in forward mode: the reference JVP × (1 + δ) on the well-conditioned functions of table 2;
7. false alarms in forward mode on the correct reference tape: advalidate over ``--false-alarm-examples``, the
   anchors over ``--anchor-false-alarm-examples``; advalidate's findings that are known behaviours of numpy-ref
   in mode jvp (``advalidate/known/numpy-ref.txt``) are counted apart, not as false alarms.

Second order (Hessian-vector products H_v·u), run by default last (``--skip second-order``; ``second-order-planted``,
``second-order-sensitivity`` one section each). The stream is the forward part's (drawn with tangents: u = the
example's tangents, v = its cotangents), less the examples with a primitive the tape has no second order for (its
``hvp_primitives``). Each anchor checks the backend's second derivatives written natively in its library
(``SECOND_CHECKERS``):

- advalidate hvp: ``check_example(..., tangents=ex.tangents, modes=("hvp",))``, a detection being a finding of the
  mutant's expected kind;
- gradgradcheck: ``torch.autograd.gradgradcheck`` on a ``torch.autograd.Function`` whose backward is a second,
  differentiable Function ``G(g, x) = Jᵀ(x)·g`` (the backend's VJP) whose own backward gives ``J·w`` (the backend's
  JVP) for g and ``H_g·w`` (the backend's hvp) for x;
- jax check_grads order 2: ``check_grads(order=2, modes=["fwd", "rev"])`` on a ``jax.custom_jvp`` whose tangent is
  ``J(x) @ t``, J a ``jax.custom_jvp`` of its own (a ``pure_callback`` of the backend's VJP rows) whose tangent along
  s is ``T(x) @ s``, ``T[k] = H_{e_k}`` (the backend's hvp with v = e_k, along each u = e_j): every tangent is linear
  in jax's own operations, since jax cannot transpose a ``pure_callback`` and mode rev, at order 2, transposes them;
- autograd check_grads order 2: ``check_grads(modes=["fwd", "rev"], order=2, argnum=<all arguments>)`` on a
  primitive whose VJP and JVP are primitives (``G_i(x, g) = (Jᵀg)_i``, ``Jt_i(x, t) = J·t``) with their own
  ``defvjp_argnum``/``defjvp_argnum`` from the backend's hvp, JVP and VJP.

Two more tables:
8. planted second-order bugs (``tests/hvp_mutants.py``: one VJP rule of the tape right on floats and dropping a
   term on dual numbers; and an hvp that builds the Hessian column by column, a cost-bound finding no anchor can
   see), with the correct tape as a control row (every flag there is a false alarm) and a campaign column
   (``--second-order-campaign-examples``, default 40, after the probes);
9. sensitivity in second order: the reference H_v·u × (1 + δ) on the well-conditioned functions of table 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from advalidate.backends.contract import JVP, VJP  # noqa: E402
from advalidate.backends.numpy_ref import NumpyReference  # noqa: E402
from advalidate.evaluate import evaluate  # noqa: E402

CHECKERS = ["advalidate", "gradcheck", "gradcheck fast", "jax check_grads", "autograd check_grads"]
DELTAS = [10.0 ** -k for k in range(2, 15)]


# ---------------------------------------------------------------- the shared stream of examples


def draw_examples(n: int, seed: int, dtype: str = "float64", tangents: bool = False) -> list:
    """``n`` examples from ``strategies.examples()``, reproducibly from ``seed``; with ``tangents``, from
    ``examples(tangents=True)`` (each example also has ``.tangents``, one per input, for forward mode)."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings

    from advalidate.strategies import examples

    out = []

    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate], verbosity=hypothesis.Verbosity.quiet)
    @hypothesis.seed(seed)
    @given(examples(dtype=dtype, tangents=True) if tangents else examples(dtype=dtype))
    def collect(example):
        out.append(example)

    collect()
    return out[:n]


def size(fn) -> str:
    elements = sum(int(np.prod(s)) for s in fn.inputs)
    return f"{len(fn.nodes)}n/{len(fn.inputs)}i/{elements}e"


# ---------------------------------------------------------------- one library function per anchor


def _flat(outputs) -> np.ndarray:
    return np.concatenate([np.asarray(o, dtype=np.float64).ravel() for o in outputs])


def _split(g, fn) -> list:
    parts, at = [], 0
    for shape in fn.output_shapes:
        k = int(np.prod(shape))
        parts.append(np.asarray(g[at:at + k], dtype=fn.dtype).reshape(shape))
        at += k
    return parts


def _grads(backend, fn, xs, g) -> list:
    grads = backend.vjp(fn, [np.array(x, dtype=fn.dtype) for x in xs], _split(np.asarray(g), fn)).grads
    return [np.asarray(gr, dtype=np.float64).reshape(s) for gr, s in zip(grads, fn.inputs)]


def _forward(fn, xs) -> np.ndarray:
    with np.errstate(all="ignore"):
        return _flat(evaluate(fn, [np.asarray(x, dtype=fn.dtype) for x in xs]))


def torch_check(fn, inputs, backend, fast: bool) -> bool:
    """True if ``torch.autograd.gradcheck`` flags ``backend``'s VJP of ``fn`` at ``inputs``."""
    import torch

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *xs):
            arrays = [x.detach().numpy().copy() for x in xs]
            ctx.arrays = arrays
            return torch.from_numpy(_forward(fn, arrays))

        @staticmethod
        def backward(ctx, g):
            return tuple(torch.from_numpy(gr) for gr in _grads(backend, fn, ctx.arrays, g.detach().numpy()))

    torch.manual_seed(0)
    # contiguous copies: the strategies may give broadcast views (stride 0), which gradcheck refuses
    xs = tuple(torch.tensor(np.array(x, dtype=np.float64, order="C"), requires_grad=True) for x in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not torch.autograd.gradcheck(F.apply, xs, fast_mode=fast, raise_exception=False)


def jax_check(fn, inputs, backend) -> bool:
    """True if ``jax.test_util.check_grads(order=1, modes=["rev"])`` flags the VJP."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    m = sum(int(np.prod(s)) for s in fn.output_shapes)
    out = jax.ShapeDtypeStruct((m,), jnp.float64)
    ins = tuple(jax.ShapeDtypeStruct(s, jnp.float64) for s in fn.inputs)

    @jax.custom_vjp
    def f(*xs):
        return jax.pure_callback(lambda *a: _forward(fn, a), out, *xs)

    def f_fwd(*xs):
        return f(*xs), xs

    def f_bwd(xs, g):
        return tuple(jax.pure_callback(lambda g, *a: tuple(_grads(backend, fn, a, g)), ins, g, *xs))

    f.defvjp(f_fwd, f_bwd)
    np.random.seed(0)
    try:
        check_grads(f, tuple(jnp.asarray(np.array(x, np.float64, order="C")) for x in inputs), order=1, modes=["rev"])
    except AssertionError:
        return True
    return False


def autograd_check(fn, inputs, backend) -> bool:
    """True if ``autograd.test_util.check_grads(modes=["rev"])`` flags the VJP."""
    from autograd.extend import defvjp_argnums, primitive
    from autograd.test_util import check_grads

    @primitive
    def f(*xs):
        return _forward(fn, xs)

    def vjp_maker(argnums, ans, args, kwargs):
        return lambda g: tuple(_grads(backend, fn, args, g)[i] for i in argnums)

    defvjp_argnums(f, vjp_maker)
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_grads(f, argnum=tuple(range(len(inputs))), modes=["rev"], order=1)(
                *[np.array(x, np.float64, order="C") for x in inputs])
    except AssertionError:
        return True
    return False


def _tangent(backend, fn, xs, ws) -> np.ndarray:
    """The backend's J·w at ``xs`` along ``ws`` (one per input; None: zero), outputs flattened and concatenated."""
    ws = [np.zeros(s) if w is None else w for w, s in zip(ws, fn.inputs)]
    result = backend.jvp(fn, [np.array(x, dtype=fn.dtype) for x in xs],
                         [np.array(np.broadcast_to(np.asarray(w), s), dtype=fn.dtype) for w, s in zip(ws, fn.inputs)])
    return _flat(result.tangents)


def torch_forward_check(fn, inputs, backend) -> bool:
    """True if ``torch.autograd.gradcheck(check_forward_ad=True, check_backward_ad=False)`` flags the JVP: the
    Function's ``jvp`` is the backend's (its ``backward`` the backend's VJP, which this check does not run).
    torch calls ``jvp`` only on a Function whose ``forward`` takes no ``ctx`` and that has a ``setup_context``; the
    tangent of an input without one (gradcheck's undefined-tangent test) is None, given to the backend as zeros."""
    import torch

    class F(torch.autograd.Function):
        @staticmethod
        def forward(*xs):
            return torch.from_numpy(_forward(fn, [x.detach().numpy() for x in xs]))

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.arrays = [x.detach().numpy().copy() for x in inputs]

        @staticmethod
        def backward(ctx, g):
            return tuple(torch.from_numpy(gr) for gr in _grads(backend, fn, ctx.arrays, g.detach().numpy()))

        @staticmethod
        def jvp(ctx, *ts):
            ws = [None if t is None else t.detach().numpy() for t in ts]
            return torch.from_numpy(_tangent(backend, fn, ctx.arrays, ws))

    torch.manual_seed(0)
    xs = tuple(torch.tensor(np.array(x, dtype=np.float64, order="C"), requires_grad=True) for x in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not torch.autograd.gradcheck(F.apply, xs, check_forward_ad=True, check_backward_ad=False,
                                            raise_exception=False)


def jax_forward_check(fn, inputs, backend) -> bool:
    """True if ``jax.test_util.check_grads(order=1, modes=["fwd"])`` flags the JVP: a ``jax.custom_jvp`` whose
    primal is a ``jax.pure_callback`` of f and whose rule returns (primal, a ``pure_callback`` of the backend's JVP).
    Forward mode only: jax cannot transpose a ``pure_callback`` ("Pure callbacks do not support transpose"), so
    this function has no reverse mode (``modes=["rev"]`` raises); reverse mode is the VJP column's custom_vjp."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    m = sum(int(np.prod(s)) for s in fn.output_shapes)
    out = jax.ShapeDtypeStruct((m,), jnp.float64)
    k = len(fn.inputs)

    @jax.custom_jvp
    def f(*xs):
        return jax.pure_callback(lambda *a: _forward(fn, a), out, *xs)

    @f.defjvp
    def f_jvp(primals, tangents):
        t = jax.pure_callback(lambda *a: _tangent(backend, fn, a[:k], a[k:]), out, *primals, *tangents)
        return f(*primals), t

    np.random.seed(0)
    try:
        check_grads(f, tuple(jnp.asarray(np.array(x, np.float64, order="C")) for x in inputs), order=1, modes=["fwd"])
    except AssertionError:
        return True
    return False


def autograd_forward_check(fn, inputs, backend) -> bool:
    """True if ``autograd.test_util.check_grads(modes=["fwd"], order=1, argnum=<all arguments>)`` flags the JVP: an
    ``autograd.extend.primitive`` whose JVP for argument i (``defjvp_argnum``) is the backend's JVP along the tangent
    of argument i alone, zeros elsewhere (autograd sums them), and whose VJP (``defvjp_argnums``) is the backend's."""
    from autograd.extend import defjvp_argnum, defvjp_argnums, primitive
    from autograd.test_util import check_grads

    @primitive
    def f(*xs):
        return _forward(fn, xs)

    def jvp_maker(argnum, g, ans, args, kwargs):
        return _tangent(backend, fn, args, [g if i == argnum else None for i in range(len(args))])

    def vjp_maker(argnums, ans, args, kwargs):
        return lambda g: tuple(_grads(backend, fn, args, g)[i] for i in argnums)

    defjvp_argnum(f, jvp_maker)
    defvjp_argnums(f, vjp_maker)
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_grads(f, argnum=tuple(range(len(inputs))), modes=["fwd"], order=1)(
                *[np.array(x, np.float64, order="C") for x in inputs])
    except AssertionError:
        return True
    return False


def advalidate_jvp(fn, inputs, cotangents, tangents, backend, oracle):
    """advalidate's forward-mode outcome on this example, and the example's result."""
    from advalidate.check import check_example

    result = check_example(fn, inputs, cotangents, [backend], oracle, tangents=list(tangents), modes=("jvp",))
    return result.outcomes[0], result


def advalidate_check(fn, inputs, cotangents, backend, oracle) -> str | None:
    """The kind of advalidate's finding on this example (None: passes or skipped)."""
    from advalidate.check import check_example

    result = check_example(fn, inputs, cotangents, [backend], oracle)
    o = result.outcomes[0]
    return o.kind if o.status == "finding" else None


def flags(checker: str, example, backend, oracle) -> bool | str | None:
    """Run one checker on one example; a truthy result is a detection."""
    fn, inputs = example.function, example.inputs
    if checker == "advalidate":
        return advalidate_check(fn, inputs, example.cotangents, backend, oracle)
    if checker == "advalidate jvp":
        o, _ = advalidate_jvp(fn, inputs, example.cotangents, example.tangents, backend, oracle)
        return o.kind if o.status == "finding" else None
    if checker == "advalidate hvp":
        o, _ = advalidate_hvp(fn, inputs, example.cotangents, example.tangents, backend, oracle)
        return o.kind if o.status == "finding" else None
    try:
        if checker == "gradcheck":
            return torch_check(fn, inputs, backend, fast=False)
        if checker == "gradcheck fast":
            return torch_check(fn, inputs, backend, fast=True)
        if checker == "jax check_grads":
            return jax_check(fn, inputs, backend)
        if checker == "autograd check_grads":
            return autograd_check(fn, inputs, backend)
        if checker == "gradcheck fwd":
            return torch_forward_check(fn, inputs, backend)
        if checker == "jax check_grads fwd":
            return jax_forward_check(fn, inputs, backend)
        if checker == "autograd check_grads fwd":
            return autograd_forward_check(fn, inputs, backend)
        if checker == "gradgradcheck":
            return torch_second_check(fn, inputs, backend)
        if checker == "jax check_grads order 2":
            return jax_second_check(fn, inputs, backend)
        if checker == "autograd check_grads order 2":
            return autograd_second_check(fn, inputs, backend)
    except Exception as e:  # the anchor itself failing on the function (e.g. a NaN forward) counts as a flag
        return f"error: {type(e).__name__}"
    raise ValueError(f"unknown checker {checker!r}")


def checkable(stream, oracle) -> list:
    """The stream without examples whose point is outside the domain (advalidate skips those too)."""
    from advalidate.errors import DomainError

    keep = []
    for ex in stream:
        try:
            oracle.check_point(ex.function, ex.inputs, allow_kinks=True)
        except DomainError:
            continue
        keep.append(ex)
    return keep


# ---------------------------------------------------------------- 1. planted bugs


def planted(stream, campaign_examples: int, seed: int):
    from advalidate.campaign import Campaign, Settings
    from advalidate.oracle import Oracle
    from tests.mutants import MUTANTS

    rows = []
    for name, (factory, kind) in MUTANTS.items():
        row = {"mutant": name, "kind": kind}
        for checker in CHECKERS:
            row[checker] = first_detection(checker, stream, factory, kind)
        res = Campaign([factory()], Settings(max_examples=campaign_examples, seed=seed)).run()
        shrunk = [f for f in res["findings"] if f["kind"] == kind]
        if shrunk:
            from advalidate.ir import Function

            row["shrunk"] = min((size(Function.from_dict(f["function"])) for f in shrunk), key=_size_key)
        else:
            row["shrunk"] = None
        rows.append(row)
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return rows


def first_detection(checker: str, stream, factory, kind: str):
    """``(example number, seconds, size, verdict)`` of the first example ``checker`` flags, or None.

    advalidate's verdict (in either mode) must be the mutant's expected kind; an anchor's flag is any failure."""
    from advalidate.oracle import Oracle

    backend, oracle = factory(), Oracle()
    t0 = time.perf_counter()
    for i, ex in enumerate(stream, 1):
        got = flags(checker, ex, backend, oracle)
        if got and (not checker.startswith("advalidate") or got == kind):
            return i, time.perf_counter() - t0, size(ex.function), got
    return None


def _size_key(s: str):
    n, i, e = s.split("/")
    return int(n[:-1]), int(e[:-1])


def print_planted(rows, n_stream, campaign_examples):
    print(f"\n## Planted bugs ({n_stream} shared examples; cells: examples/seconds to the first detection, "
          "size n nodes/i inputs/e input elements)\n")
    print("| mutant (expected kind) | " + " | ".join(CHECKERS) + " |")
    print("|---|" + "---|" * len(CHECKERS))
    for r in rows:
        cells = []
        for c in CHECKERS:
            hit = r[c]
            if hit is None:
                cells.append("no")
            else:
                extra = f" shrunk to {r['shrunk']}" if c == "advalidate" and r["shrunk"] else f" {hit[2]}"
                crash = " (checker crashed)" if isinstance(hit[3], str) and hit[3].startswith("error:") else ""
                cells.append(f"yes{crash}: #{hit[0]}, {hit[1]:.2f} s;{extra}")
        print(f"| {r['mutant']} ({r['kind']}) | " + " | ".join(cells) + " |")
    caught = {c: sum(r[c] is not None for r in rows) for c in CHECKERS}
    print("| **caught** | " + " | ".join(f"**{caught[c]}/{len(rows)}**" for c in CHECKERS) + " |")
    print(f"\nadvalidate's shrunk size: the smallest finding of the expected kind in a {campaign_examples}-example "
          "campaign on the mutant (seed as given); the anchors' size is that of the first failing example.")


# ---------------------------------------------------------------- 2. sensitivity


class Scaled(NumpyReference):
    """The reference VJP times (1 + delta): a uniformly small relative error."""

    def __init__(self, delta: float):
        self.delta = delta
        self.name = f"scaled-{delta:g}"

    def vjp(self, fn, inputs, cotangents):
        r = super().vjp(fn, inputs, cotangents)
        return VJP(r.outputs, [np.asarray(g * (1 + self.delta), dtype=g.dtype) for g in r.grads])


def well_conditioned():
    """(label, function, point generator) for a few smooth functions without cancellation."""
    from advalidate import Builder

    def sin_exp():
        b = Builder()
        x, c = b.input(16), b.input(())
        return b.build(b.mul(b.sin(x), b.exp(b.div(x, c))))

    def tanh_matvec():
        b = Builder()
        a, x = b.input(4, 4), b.input(4)
        return b.build(b.tanh(b.matmul(a, x)))

    def softplus_sigmoid():
        b = Builder()
        x = b.input(16)
        return b.build(b.sum(b.mul(b.softplus(x), b.sigmoid(x))))

    def sin_exp_point(rng):
        return [rng.uniform(0.3, 1.3, 16), np.array(3.0)]

    def matvec_point(rng):
        return [rng.uniform(0.2, 0.6, (4, 4)), rng.uniform(0.2, 1.0, 4)]

    def softplus_point(rng):
        return [rng.uniform(-1.5, 1.5, 16)]

    return [("sin(x)·exp(x/c), x∈R^16, c=3", sin_exp(), sin_exp_point),
            ("tanh(A x), A 4×4", tanh_matvec(), matvec_point),
            ("Σ softplus(x)·sigmoid(x), x∈R^16", softplus_sigmoid(), softplus_point)]


class _Example:
    def __init__(self, fn, inputs, cotangents, tangents=None):
        self.function, self.inputs, self.cotangents, self.tangents = fn, inputs, cotangents, tangents


def sensitivity(points: int, seed: int):
    from advalidate.oracle import Oracle

    rows = []
    for label, fn, draw in well_conditioned():
        rng = np.random.default_rng(seed)
        exs = []
        for _ in range(points):
            xs = draw(rng)
            cts = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.output_shapes]
            exs.append(_Example(fn, xs, [np.asarray(v, dtype=np.float64) for v in cts]))
        row = {"function": label}
        for checker in CHECKERS:
            oracle = Oracle()
            if any(flags(checker, ex, Scaled(0.0), oracle) for ex in exs):
                row[checker] = "false alarm"  # flags the correct VJP: a sensitivity would mean nothing
                continue
            smallest = None
            for delta in DELTAS:  # largest first: the smallest δ before the first miss
                if all(flags(checker, ex, Scaled(delta), oracle) for ex in exs):
                    smallest = delta
                else:
                    break
            row[checker] = smallest
        rows.append(row)
        print(f"  {label}: done", file=sys.stderr, flush=True)
    return rows


def print_sensitivity(rows, points):
    print(f"\n## Sensitivity (smallest relative VJP error δ flagged at all {points} points; "
          "δ swept 1e-2 … 1e-14, float64)\n")
    print("| function | " + " | ".join(CHECKERS) + " |")
    print("|---|" + "---|" * len(CHECKERS))
    for r in rows:
        print(f"| {r['function']} | " + " | ".join(_delta(r[c]) for c in CHECKERS) + " |")
    print("\nEach checker also passes the correct VJP (δ = 0) at every point, else its cell says false alarm.")


def _delta(d) -> str:
    if isinstance(d, str):
        return d
    return "none ≥ 1e-2" if d is None else f"{d:.0e}"


# ---------------------------------------------------------------- 3. false alarms


def false_alarms(stream, anchor_examples: int):
    """Findings on the correct reference VJP: advalidate over the whole stream, anchors over its first part."""
    from advalidate.oracle import Oracle

    backend, oracle = NumpyReference(), Oracle()
    rows = {}
    for checker in CHECKERS:
        n = len(stream) if checker == "advalidate" else min(anchor_examples, len(stream))
        t0 = time.perf_counter()
        hits, crashes, first = 0, 0, None
        for ex in stream[:n]:
            got = flags(checker, ex, backend, oracle)
            if got:
                hits += 1
                crashes += isinstance(got, str) and got.startswith("error:")
                first = first or (got, ex)
        rows[checker] = (hits, n, time.perf_counter() - t0, first, crashes)
        print(f"  false alarms {checker}: {hits}/{n}", file=sys.stderr, flush=True)
    return rows


def print_false_alarms(rows):
    print("\n## False alarms on correct VJPs (the NumPy reference tape), per 10,000 examples\n")
    print("| checker | examples | flagged | of which the checker crashed | per 10,000 | seconds | first flagged example |")
    print("|---|---|---|---|---|---|---|")
    for c in CHECKERS:
        hits, n, secs, first, crashes = rows[c]
        rate = 1e4 * hits / n if n else float("nan")
        what = "" if first is None else f"{first[0]} on {'+'.join(first[1].function.primitives_used)}"
        print(f"| {c} | {n} | {hits} | {crashes} | {rate:.1f} | {secs:.0f} | {what} |")


# ---------------------------------------------------------------- 4. first detection across seeds


def across_seeds(seeds: int, n: int) -> dict:
    """Per mutant, per seed 0 … seeds-1: every checker's first detection in that seed's stream of ``n``."""
    from advalidate.oracle import Oracle
    from tests.mutants import MUTANTS

    firsts = {name: [] for name in MUTANTS}
    for s in range(seeds):
        stream = checkable(draw_examples(n, s), Oracle())
        for name, (factory, kind) in MUTANTS.items():
            firsts[name].append({c: first_detection(c, stream, factory, kind) for c in CHECKERS})
        print(f"  seed {s}: done", file=sys.stderr, flush=True)
    return firsts


def print_across_seeds(firsts: dict, seeds: int, n: int):
    anchors = [c for c in CHECKERS if c != "advalidate"]
    print(f"\n## First detection across seeds 0–{seeds - 1} ({n} examples each): advalidate against the earliest "
          f"of {', '.join(anchors)}\n")
    print("| mutant | advalidate later | same example | advalidate earlier | advalidate only | anchors only "
          "| neither |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in firsts.items():
        count = dict.fromkeys(["later", "same", "earlier", "advalidate only", "anchors only", "neither"], 0)
        for run in runs:
            a = run["advalidate"][0] if run.get("advalidate") else None
            hits = [run[c][0] for c in anchors if run[c]]
            b = min(hits) if hits else None
            if a and b:
                count["later" if a > b else "same" if a == b else "earlier"] += 1
            else:
                count["advalidate only" if a else "anchors only" if b else "neither"] += 1
        print(f"| {name} | " + " | ".join(str(v) for v in count.values()) + " |")


# ---------------------------------------------------------------- 5. forward mode (JVP)


FORWARD_CHECKERS = ["advalidate jvp", "gradcheck fwd", "jax check_grads fwd", "autograd check_grads fwd"]


def forward_planted(stream, campaign_examples: int, seed: int):
    """The planted forward-mode bugs (``tests/jvp_mutants.py``) against every forward column, on ``stream`` (drawn
    with tangents); advalidate's shrunk size from a forward-mode campaign (``modes=("jvp",)``) on the mutant."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.ir import Function
    from tests.jvp_mutants import JVP_MUTANTS

    rows = []
    for name, (factory, kind) in JVP_MUTANTS.items():
        row = {"mutant": name, "kind": kind}
        for checker in FORWARD_CHECKERS:
            row[checker] = first_detection(checker, stream, factory, kind)
        res = Campaign([factory()], Settings(max_examples=campaign_examples, seed=seed, modes=("jvp",))).run()
        shrunk = [f for f in res["findings"] if f["kind"] == kind and f.get("mode", "vjp") == "jvp"]
        row["shrunk"] = min((size(Function.from_dict(f["function"])) for f in shrunk), key=_size_key) \
            if shrunk else None
        rows.append(row)
        print(f"  forward {name}: done", file=sys.stderr, flush=True)
    return rows


def print_forward_planted(rows, n_stream, campaign_examples):
    print(f"\n## Planted forward-mode bugs ({n_stream} shared examples with tangents; cells: examples/seconds to the "
          "first detection, size n nodes/i inputs/e input elements)\n")
    print("| mutant (expected kind) | " + " | ".join(FORWARD_CHECKERS) + " | advalidate campaign |")
    print("|---|" + "---|" * (len(FORWARD_CHECKERS) + 1))
    for r in rows:
        cells = []
        for c in FORWARD_CHECKERS:
            hit = r[c]
            if hit is None:
                cells.append("no")
            else:
                extra = f" {hit[2]}"
                crash = " (checker crashed)" if isinstance(hit[3], str) and hit[3].startswith("error:") else ""
                cells.append(f"yes{crash}: #{hit[0]}, {hit[1]:.2f} s;{extra}")
        campaign = f"yes: shrunk to {r['shrunk']}" if r["shrunk"] else "no"
        print(f"| {r['mutant']} ({r['kind']}) | " + " | ".join(cells) + f" | {campaign} |")
    caught = {c: sum(r[c] is not None for r in rows) for c in FORWARD_CHECKERS}
    print("| **caught** | " + " | ".join(f"**{caught[c]}/{len(rows)}**" for c in FORWARD_CHECKERS)
          + f" | **{sum(bool(r['shrunk']) for r in rows)}/{len(rows)}** |")
    print("\nEach value mutant replaces one JVP rule of the reference tape and keeps every VJP rule right; the cost "
          "mutant computes the right J·w with one forward pass per input (values only: out of the anchors' reach). "
          "The stream columns: the first example of the shared stream each checker flags, and its size. The campaign "
          f"column: what `advalidate run --mode jvp` finds on the mutant ({campaign_examples} examples after the probes "
          "of every primitive, seed as given), the smallest finding of the expected kind as shrunk.")


class ScaledJVP(NumpyReference):
    """The reference JVP times (1 + delta): a uniformly small relative error in forward mode."""

    def __init__(self, delta: float):
        self.delta = delta
        self.name = f"scaled-jvp-{delta:g}"

    def jvp(self, fn, inputs, tangents):
        r = super().jvp(fn, inputs, tangents)
        return JVP(r.outputs, [np.asarray(t * (1 + self.delta), dtype=t.dtype) for t in r.tangents])


def forward_sensitivity(points: int, seed: int):
    """The smallest relative JVP error δ each forward column flags at every point of the well-conditioned functions
    (tangents drawn like the sensitivity section's cotangents)."""
    from advalidate.oracle import Oracle

    rows = []
    for label, fn, draw in well_conditioned():
        rng = np.random.default_rng(seed)
        exs = []
        for _ in range(points):
            xs = draw(rng)
            cts = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.output_shapes]
            ws = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.inputs]
            exs.append(_Example(fn, xs, [np.asarray(v, dtype=np.float64) for v in cts],
                                [np.asarray(w, dtype=np.float64) for w in ws]))
        row = {"function": label}
        for checker in FORWARD_CHECKERS:
            oracle = Oracle()
            if any(flags(checker, ex, ScaledJVP(0.0), oracle) for ex in exs):
                row[checker] = "false alarm"
                continue
            smallest = None
            for delta in DELTAS:
                if all(flags(checker, ex, ScaledJVP(delta), oracle) for ex in exs):
                    smallest = delta
                else:
                    break
            row[checker] = smallest
        rows.append(row)
        print(f"  forward {label}: done", file=sys.stderr, flush=True)
    return rows


def print_forward_sensitivity(rows, points):
    print(f"\n## Sensitivity in forward mode (smallest relative JVP error δ flagged at all {points} points; "
          "δ swept 1e-2 … 1e-14, float64)\n")
    print("| function | " + " | ".join(FORWARD_CHECKERS) + " |")
    print("|---|" + "---|" * len(FORWARD_CHECKERS))
    for r in rows:
        print(f"| {r['function']} | " + " | ".join(_delta(r[c]) for c in FORWARD_CHECKERS) + " |")
    print("\nBackend: the reference JVP × (1 + δ). Each checker also passes the correct JVP (δ = 0) at every point, "
          "else its cell says false alarm.")


def forward_false_alarms(stream, anchor_examples: int):
    """Findings on the correct reference JVP: advalidate (mode jvp) over the whole stream, the anchors' forward
    columns over its first part. A finding of advalidate that is a known behaviour of numpy-ref in mode jvp
    (``advalidate/known/numpy-ref.txt``) is counted apart, not as a false alarm."""
    from advalidate.check import finding_signature
    from advalidate.findings import region
    from advalidate.known import KnownBehaviours
    from advalidate.oracle import Oracle

    backend, oracle = NumpyReference(), Oracle()
    known = KnownBehaviours.load([backend.name])
    rows = {}
    for checker in FORWARD_CHECKERS:
        n = len(stream) if checker == "advalidate jvp" else min(anchor_examples, len(stream))
        t0 = time.perf_counter()
        hits, expected, crashes, first = 0, 0, 0, None
        for ex in stream[:n]:
            if checker == "advalidate jvp":
                o, result = advalidate_jvp(ex.function, ex.inputs, ex.cotangents, ex.tangents, backend, oracle)
                if o.status != "finding":
                    continue
                signature = finding_signature(o, result.function or ex.function.pruned())
                if known.match(backend.name, o.kind, signature, region(ex.function.pruned(), ex.inputs), mode="jvp"):
                    expected += 1
                    continue
                got = o.kind
            else:
                got = flags(checker, ex, backend, oracle)
                if not got:
                    continue
            hits += 1
            crashes += isinstance(got, str) and got.startswith("error:")
            first = first or (got, ex)
        rows[checker] = (hits, n, time.perf_counter() - t0, first, crashes, expected)
        print(f"  forward false alarms {checker}: {hits}/{n} (+{expected} known)", file=sys.stderr, flush=True)
    return rows


def second_order_false_alarms(stream):
    """Findings of advalidate in mode hvp on the correct reference tape's H_v·u, over the whole stream; a known
    behaviour of numpy-ref in mode hvp is counted apart. (The anchors' second-order columns run the same tape in the
    planted table's control row.)"""
    from advalidate.check import check_example, finding_signature
    from advalidate.findings import region
    from advalidate.known import KnownBehaviours
    from advalidate.oracle import Oracle

    backend, oracle = NumpyReference(), Oracle()
    known = KnownBehaviours.load([backend.name])
    t0 = time.perf_counter()
    hits, expected, judged, first = 0, 0, 0, None
    for ex in stream:
        result = check_example(ex.function, ex.inputs, ex.cotangents, [backend], oracle, tangents=list(ex.tangents),
                               modes=("hvp",))
        (o,) = result.outcomes
        judged += o.status in ("pass", "finding")
        if o.status != "finding":
            continue
        signature = finding_signature(o, result.function or ex.function.pruned())
        if known.match(backend.name, o.kind, signature, region(ex.function.pruned(), ex.inputs), mode="hvp"):
            expected += 1
            continue
        hits += 1
        first = first or (o.kind, ex)
    print(f"  second-order false alarms: {hits}/{len(stream)} (+{expected} known)", file=sys.stderr, flush=True)
    return hits, len(stream), judged, expected, time.perf_counter() - t0, first


def print_second_false_alarms(row):
    hits, n, judged, expected, secs, first = row
    print("\n## False alarms in second order on correct HVPs (the NumPy reference tape's forward-over-reverse)\n")
    print("| checker | examples | judged (the rest: a primitive without second order on the tape, a kink) | flagged "
          "| known behaviours (not counted) | seconds | first flagged example |")
    print("|---|---|---|---|---|---|---|")
    what = "" if first is None else f"{first[0]} on {'+'.join(first[1].function.primitives_used)}"
    print(f"| advalidate hvp | {n} | {judged} | {hits} | {expected} | {secs:.0f} | {what} |")


def print_forward_false_alarms(rows):
    print("\n## False alarms in forward mode on correct JVPs (the NumPy reference tape), per 10,000 examples\n")
    print("| checker | examples | flagged | known behaviours (not counted) | of which the checker crashed | per 10,000 "
          "| seconds | first unexpected flagged example |")
    print("|---|---|---|---|---|---|---|---|")
    for c in FORWARD_CHECKERS:
        hits, n, secs, first, crashes, expected = rows[c]
        rate = 1e4 * hits / n if n else float("nan")
        what = "" if first is None else f"{first[0]} on {'+'.join(first[1].function.primitives_used)}"
        known = str(expected) if c == "advalidate jvp" else "–"
        print(f"| {c} | {n} | {hits} | {known} | {crashes} | {rate:.1f} | {secs:.0f} | {what} |")
    print("\nknown behaviours: advalidate's forward-mode findings that match an entry of "
          "advalidate/known/numpy-ref.txt with mode jvp (backend, kind, primitive signature, region); the anchors "
          "have no such list.")


# ---------------------------------------------------------------- 8. second order (Hessian-vector products)


SECOND_CHECKERS = ["advalidate hvp", "gradgradcheck", "jax check_grads order 2", "autograd check_grads order 2"]


def _hvp(backend, fn, xs, v, us) -> list:
    """The backend's ``H_v·u`` at ``xs`` for the flat cotangent ``v`` (outputs concatenated) along ``us`` (one per
    input; None: zero), per input as float64 arrays of the inputs' shapes (its first ``hvp_methods``)."""
    from advalidate.backends.contract import hvp_methods_of

    us = [np.zeros(s) if u is None else u for u, s in zip(us, fn.inputs)]
    result = backend.hvp(fn, [np.array(x, dtype=fn.dtype) for x in xs], _split(np.asarray(v), fn),
                         [np.array(np.broadcast_to(np.asarray(u), s), dtype=fn.dtype) for u, s in zip(us, fn.inputs)],
                         hvp_methods_of(backend)[0])
    return [np.asarray(h, dtype=np.float64).reshape(s) for h, s in zip(result.hvps, fn.inputs)]


def _only(fn, i, w) -> list:
    """``w`` as input i's direction, zeros (None) for the others."""
    return [w if j == i else None for j in range(len(fn.inputs))]


def torch_second_check(fn, inputs, backend) -> bool:
    """True if ``torch.autograd.gradgradcheck`` flags the backend's second derivatives: a ``torch.autograd.Function``
    whose forward is f and whose backward is a second Function ``G(g, x) = Jᵀ(x)·g`` (the backend's VJP), itself
    differentiable: its backward takes the cotangents w of G's outputs (one per input of f) to ``J·w`` (the backend's
    JVP) for g and ``H_g·w`` (the backend's hvp, v = g, u = w) for x. gradgradcheck differentiates G by finite
    differences of its forward (the backend's VJP) and compares with G's backward."""
    import torch

    class G(torch.autograd.Function):
        @staticmethod
        def forward(ctx, g, *xs):
            ctx.arrays = [x.detach().numpy().copy() for x in xs]
            ctx.g = g.detach().numpy().copy()
            return tuple(torch.from_numpy(gr) for gr in _grads(backend, fn, ctx.arrays, ctx.g))

        @staticmethod
        def backward(ctx, *ws):
            ws = [w.detach().numpy() for w in ws]
            dg = torch.from_numpy(_tangent(backend, fn, ctx.arrays, ws))
            return (dg, *(torch.from_numpy(h) for h in _hvp(backend, fn, ctx.arrays, ctx.g, ws)))

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *xs):
            ctx.save_for_backward(*xs)
            return torch.from_numpy(_forward(fn, [x.detach().numpy() for x in xs]))

        @staticmethod
        def backward(ctx, g):
            return G.apply(g, *ctx.saved_tensors)

    torch.manual_seed(0)
    xs = tuple(torch.tensor(np.array(x, dtype=np.float64, order="C"), requires_grad=True) for x in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not torch.autograd.gradgradcheck(F.apply, xs, raise_exception=False)


def _jacobian(backend, fn, xs) -> np.ndarray:
    """The backend's Jacobian (outputs × inputs, each flattened and concatenated), row k its VJP with v = e_k."""
    m = sum(int(np.prod(s)) for s in fn.output_shapes)
    rows = []
    for k in range(m):
        e = np.zeros(m)
        e[k] = 1
        rows.append(np.concatenate([g.ravel() for g in _grads(backend, fn, xs, e)] + [np.zeros(0)]))
    n = sum(int(np.prod(s)) for s in fn.inputs)
    return np.array(rows, dtype=np.float64).reshape(m, n)


def _second_derivatives(backend, fn, xs) -> np.ndarray:
    """The backend's second derivatives ``T[k, i, j] = ∂²f_k/∂x_i∂x_j = (H_{e_k}·e_j)_i`` (its hvp with v = e_k,
    u = e_j)."""
    m = sum(int(np.prod(s)) for s in fn.output_shapes)
    n = sum(int(np.prod(s)) for s in fn.inputs)
    t = np.zeros((m, n, n))
    for k in range(m):
        v = np.zeros(m)
        v[k] = 1
        j = 0
        for i, s in enumerate(fn.inputs):
            for idx in np.ndindex(*s):
                u = np.zeros(s)
                u[idx] = 1
                t[k, :, j] = np.concatenate([h.ravel() for h in _hvp(backend, fn, xs, v, _only(fn, i, u))])
                j += 1
    return t


# The jax column's callbacks read the function and backend under check from here: one callable each for the whole
# run, because jax caches a callback's compiled call by its callable (a new closure per check, or per call, would be
# compiled anew every time). Checks run one at a time, each setting it first.
_JAX_SECOND: dict = {}


def _jax_cached(what, compute, a):
    a = [np.asarray(x, dtype=np.float64) for x in a]
    key = (what, b"".join(x.tobytes() for x in a))
    cache = _JAX_SECOND["cache"]
    if key not in cache:
        cache[key] = compute(_JAX_SECOND["backend"], _JAX_SECOND["fn"], a)
    return cache[key]


def _jax_forward_cb(*a):
    return _forward(_JAX_SECOND["fn"], a)


def _jax_jacobian_cb(*a):
    return _jax_cached("J", _jacobian, a)


def _jax_second_cb(*a):
    return _jax_cached("T", _second_derivatives, a)


def jax_second_check(fn, inputs, backend) -> bool:
    """True if ``jax.test_util.check_grads(order=2, modes=["fwd", "rev"])`` flags the backend's second derivatives.

    That check differentiates f's JVP and VJP again in both modes, so every tangent f and its derivatives give jax must
    be linear in jax's own operations: jax cannot transpose a ``pure_callback`` (forward mode alone would allow a
    callback of the JVP, as the forward column does). So f is a ``jax.custom_jvp`` whose tangent is ``J(x) @ t``,
    ``J`` the backend's Jacobian (``jac``: a ``pure_callback`` of its VJP rows), and ``jac`` is a ``jax.custom_jvp``
    of its own whose tangent along s is ``T(x) @ s``, T the backend's second derivatives: per output k the matrix
    ``H_{e_k}`` (its hvp with v = e_k along every u = e_j), so ``⟨e_k, f″[t, s]⟩ = sᵀ·H_{e_k}·t``. T is evaluated
    at the primal point only (a third derivative is never asked for at order 2), once per point (cached)."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    m = sum(int(np.prod(s)) for s in fn.output_shapes)
    n = sum(int(np.prod(s)) for s in fn.inputs)
    out = jax.ShapeDtypeStruct((m,), jnp.float64)
    _JAX_SECOND.update(fn=fn, backend=backend, cache={})

    def flat(ts):
        return jnp.concatenate([jnp.ravel(t) for t in ts] + [jnp.zeros(0)])

    @jax.custom_jvp
    def jac(*xs):
        return jax.pure_callback(_jax_jacobian_cb, jax.ShapeDtypeStruct((m, n), jnp.float64), *xs)

    @jac.defjvp
    def jac_jvp(primals, tangents):
        t = jax.pure_callback(_jax_second_cb, jax.ShapeDtypeStruct((m, n, n), jnp.float64), *primals)
        return jac(*primals), t @ flat(tangents)

    @jax.custom_jvp
    def f(*xs):
        return jax.pure_callback(_jax_forward_cb, out, *xs)

    @f.defjvp
    def f_jvp(primals, tangents):
        return f(*primals), jac(*primals) @ flat(tangents)

    np.random.seed(0)
    try:
        check_grads(f, tuple(jnp.asarray(np.array(x, np.float64, order="C")) for x in inputs), order=2,
                    modes=["fwd", "rev"])
    except AssertionError:
        return True
    return False


def autograd_second_check(fn, inputs, backend) -> bool:
    """True if ``autograd.test_util.check_grads(modes=["fwd", "rev"], order=2, argnum=<all arguments>)`` flags the
    backend's second derivatives. f is an ``autograd.extend.primitive`` whose VJP for input i is a primitive
    ``G_i(x, g) = (Jᵀg)_i`` and whose JVP along input i's tangent t a primitive ``Jt_i(x, t) = J·t`` (the backend's
    VJP and JVP); each of those has its own ``defvjp_argnum`` and ``defjvp_argnum`` from the backend's second order:
    for x_j, ``H_g·w`` (hvp, v = g) and, for the JVP of Jt_i along s, ``⟨e_k, f″[t, s]⟩ = sᵀH_{e_k}t`` per output k
    (hvp, v = e_k); for g or t, the backend's JVP and VJP (they are linear there)."""
    from autograd.extend import defjvp_argnum, defvjp_argnum, defvjp_argnums, primitive
    from autograd.test_util import check_grads

    k_in = len(fn.inputs)
    m = sum(int(np.prod(s)) for s in fn.output_shapes)

    @primitive
    def f(*xs):
        return _forward(fn, xs)

    def make_g(i):
        @primitive
        def g_i(*a):  # a = xs + (g,)
            return _grads(backend, fn, a[:k_in], a[k_in])[i]

        def vjp(argnum, ans, a, kwargs):
            xs, g = a[:k_in], a[k_in]
            if argnum == k_in:
                return lambda w: _tangent(backend, fn, xs, _only(fn, i, w))
            return lambda w: _hvp(backend, fn, xs, g, _only(fn, i, w))[argnum]

        def jvp(argnum, d, ans, a, kwargs):
            xs, g = a[:k_in], a[k_in]
            if argnum == k_in:
                return _grads(backend, fn, xs, d)[i]
            return _hvp(backend, fn, xs, g, _only(fn, argnum, d))[i]

        defvjp_argnum(g_i, vjp)
        defjvp_argnum(g_i, jvp)
        return g_i

    def make_jt(i):
        @primitive
        def jt_i(*a):  # a = xs + (t,)
            return _tangent(backend, fn, a[:k_in], _only(fn, i, a[k_in]))

        def vjp(argnum, ans, a, kwargs):
            xs, t = a[:k_in], a[k_in]
            if argnum == k_in:
                return lambda w: _grads(backend, fn, xs, w)[i]
            return lambda w: _hvp(backend, fn, xs, w, _only(fn, i, t))[argnum]

        def jvp(argnum, d, ans, a, kwargs):
            xs, t = a[:k_in], a[k_in]
            if argnum == k_in:
                return _tangent(backend, fn, xs, _only(fn, i, d))
            out = np.zeros(m)
            for k in range(m):
                e = np.zeros(m)
                e[k] = 1
                out[k] = np.sum(_hvp(backend, fn, xs, e, _only(fn, i, t))[argnum] * d)
            return out

        defvjp_argnum(jt_i, vjp)
        defjvp_argnum(jt_i, jvp)
        return jt_i

    gs = [make_g(i) for i in range(k_in)]
    jts = [make_jt(i) for i in range(k_in)]
    defvjp_argnums(f, lambda argnums, ans, args, kwargs: lambda g: tuple(gs[i](*args, g) for i in argnums))
    defjvp_argnum(f, lambda argnum, t, ans, args, kwargs: jts[argnum](*args, t))
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_grads(f, argnum=tuple(range(k_in)), modes=["fwd", "rev"], order=2)(
                *[np.array(x, np.float64, order="C") for x in inputs])
    except AssertionError:
        return True
    return False


def advalidate_hvp(fn, inputs, cotangents, tangents, backend, oracle):
    """advalidate's second-order outcome on this example (``H_v·u``, u = the example's tangents) and its result."""
    from advalidate.check import check_example

    result = check_example(fn, inputs, cotangents, [backend], oracle, tangents=list(tangents), modes=("hvp",))
    return result.outcomes[0], result


def second_order_stream(stream) -> list:
    """The examples whose every primitive the reference tape runs in second order (``hvp_primitives``): elsewhere
    the mutants' hvp (the tape's) raises, and an anchor would count the crash as a detection."""
    from advalidate.backends.contract import supports_mode

    ref = NumpyReference()
    return [ex for ex in stream if not supports_mode(ref, ex.function, "hvp")]


def second_planted(stream, campaign_examples: int, seed: int):
    """The planted second-order bugs (``tests/hvp_mutants.py``) against every second-order column on ``stream``, and
    the correct reference tape as a control row (every flag there is a false alarm); advalidate's shrunk size from
    a second-order campaign (``modes=("hvp",)``) on the mutant."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.ir import Function
    from tests.hvp_mutants import HVP_MUTANTS

    rows = []
    for name, (factory, kind) in [*HVP_MUTANTS.items(), ("numpy-ref (control: correct)", (NumpyReference, None))]:
        row = {"mutant": name, "kind": kind}
        for checker in SECOND_CHECKERS:
            row[checker] = first_detection(checker, stream, factory, kind) if kind else \
                count_flags(checker, stream, factory)
        row["shrunk"] = None
        if kind and campaign_examples:
            res = Campaign([factory()], Settings(max_examples=campaign_examples, seed=seed, modes=("hvp",))).run()
            shrunk = [f for f in res["findings"] if f["kind"] == kind and f.get("mode", "vjp") == "hvp"]
            row["shrunk"] = min((size(Function.from_dict(f["function"])) for f in shrunk), key=_size_key) \
                if shrunk else None
        rows.append(row)
        print(f"  second order {name}: done", file=sys.stderr, flush=True)
    return rows


def count_flags(checker: str, stream, factory):
    """``(flagged, of which crashes, seconds)`` of ``checker`` over the whole stream (the control row)."""
    from advalidate.oracle import Oracle

    backend, oracle = factory(), Oracle()
    t0, hits, crashes = time.perf_counter(), 0, 0
    for ex in stream:
        got = flags(checker, ex, backend, oracle)
        hits += bool(got)
        crashes += isinstance(got, str) and got.startswith("error:")
    return hits, crashes, time.perf_counter() - t0


def print_second_planted(rows, n_stream, campaign_examples):
    print(f"\n## Planted second-order bugs ({n_stream} shared examples with tangents whose primitives the tape runs in "
          "second order; cells: examples/seconds to the first detection, size n nodes/i inputs/e input elements)\n")
    print("| mutant (expected kind) | " + " | ".join(SECOND_CHECKERS) + " | advalidate campaign |")
    print("|---|" + "---|" * (len(SECOND_CHECKERS) + 1))
    mutants = [r for r in rows if r["kind"]]
    for r in rows:
        cells = []
        for c in SECOND_CHECKERS:
            hit = r[c]
            if not r["kind"]:
                hits, crashes, secs = hit
                cells.append(f"{hits}/{n_stream} flagged" + (f" ({crashes} crashes)" if crashes else "")
                             + f", {secs:.0f} s")
            elif hit is None:
                cells.append("no")
            else:
                crash = " (checker crashed)" if isinstance(hit[3], str) and hit[3].startswith("error:") else ""
                cells.append(f"yes{crash}: #{hit[0]}, {hit[1]:.2f} s; {hit[2]}")
        campaign = "–" if not r["kind"] else f"yes: shrunk to {r['shrunk']}" if r["shrunk"] else "no"
        print(f"| {r['mutant']}" + (f" ({r['kind']})" if r["kind"] else "") + " | " + " | ".join(cells)
              + f" | {campaign} |")
    caught = {c: sum(r[c] is not None for r in mutants) for c in SECOND_CHECKERS}
    print("| **caught** | " + " | ".join(f"**{caught[c]}/{len(mutants)}**" for c in SECOND_CHECKERS)
          + f" | **{sum(bool(r['shrunk']) for r in mutants)}/{len(mutants)}** |")
    print("\nEach value mutant replaces one VJP rule of the reference tape by one that treats an operand as a constant "
          "(advalidate.dual.primal): right on floats (its VJP and JVP are the reference's), it drops a term of the "
          "second derivative when the tape runs it on dual numbers (forward-over-reverse). The cost mutant computes "
          "the right H_v·u the Hessian's way, one forward, tangent and reverse pass per input entry (values only: out "
          "of the anchors' reach). The anchors check the mutant's own second derivatives written natively: "
          "gradgradcheck a torch.autograd.Function whose backward is a differentiable Function (its backward: the "
          "mutant's hvp and JVP); jax a custom_jvp whose tangent J·t has a custom_jvp Jacobian with the mutant's "
          "H_{e_k} as its derivative; autograd a primitive whose VJP and JVP are primitives with their own rules "
          "from the mutant's hvp. The control row runs every column over the whole stream on the correct tape: each "
          "flag there is a false alarm. The campaign column: what `advalidate run --mode hvp` finds on the mutant "
          f"({campaign_examples} examples after the probes of every primitive, seed as given), the smallest finding of "
          "the expected kind as shrunk.")


class ScaledHVP(NumpyReference):
    """The reference H_v·u times (1 + delta): a uniformly small relative error in second order."""

    def __init__(self, delta: float):
        self.delta = delta
        self.name = f"scaled-hvp-{delta:g}"

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        from advalidate.backends.contract import HVP

        r = super().hvp(fn, inputs, cotangents, directions, method)
        return HVP(r.outputs, [np.asarray(h * (1 + self.delta), dtype=h.dtype) for h in r.hvps])


def second_sensitivity(points: int, seed: int):
    """The smallest relative error δ of H_v·u each second-order column flags at every point of the well-conditioned
    functions (cotangents and directions drawn as the forward sensitivity's)."""
    from advalidate.oracle import Oracle

    rows = []
    for label, fn, draw in well_conditioned():
        rng = np.random.default_rng(seed)
        exs = []
        for _ in range(points):
            xs = draw(rng)
            cts = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.output_shapes]
            ws = [rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s) for s in fn.inputs]
            exs.append(_Example(fn, xs, [np.asarray(v, dtype=np.float64) for v in cts],
                                [np.asarray(w, dtype=np.float64) for w in ws]))
        row = {"function": label}
        for checker in SECOND_CHECKERS:
            oracle = Oracle()
            t0 = time.perf_counter()
            if any(flags(checker, ex, ScaledHVP(0.0), oracle) for ex in exs):
                row[checker] = "false alarm"
                continue
            smallest = None
            for delta in DELTAS:
                if all(flags(checker, ex, ScaledHVP(delta), oracle) for ex in exs):
                    smallest = delta
                else:
                    break
            row[checker] = smallest
            print(f"    second order {label} {checker}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
        rows.append(row)
        print(f"  second order {label}: done", file=sys.stderr, flush=True)
    return rows


def print_second_sensitivity(rows, points):
    print(f"\n## Sensitivity in second order (smallest relative error δ of H_v·u flagged at all {points} points; "
          "δ swept 1e-2 … 1e-14, float64)\n")
    print("| function | " + " | ".join(SECOND_CHECKERS) + " |")
    print("|---|" + "---|" * len(SECOND_CHECKERS))
    for r in rows:
        print(f"| {r['function']} | " + " | ".join(_delta(r[c]) for c in SECOND_CHECKERS) + " |")
    print("\nBackend: the reference H_v·u × (1 + δ) (the anchors see it through every second derivative they ask "
          "for). Each checker also passes the correct tape (δ = 0) at every point, else its cell says false alarm.")


# ---------------------------------------------------------------- main


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small budgets (a few minutes)")
    p.add_argument("--examples", type=int, default=None,
                   help="shared examples the mutants are run over (default 120, quick 40)")
    p.add_argument("--false-alarm-examples", type=int, default=None,
                   help="examples of the false-alarm run for advalidate (default 10,000, quick 300)")
    p.add_argument("--anchor-false-alarm-examples", type=int, default=None,
                   help="examples of the false-alarm run for the anchors (default: as many as for advalidate)")
    p.add_argument("--points", type=int, default=None, help="points per function in the sensitivity sweep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkers", nargs="*", default=CHECKERS, choices=CHECKERS, metavar="CHECKER",
                   help=f"the columns to run (default: all of {', '.join(CHECKERS)})")
    p.add_argument("--forward-checkers", nargs="*", default=FORWARD_CHECKERS, choices=FORWARD_CHECKERS,
                   metavar="CHECKER", help=f"the forward-mode columns to run (default: all of "
                                           f"{', '.join(FORWARD_CHECKERS)})")
    p.add_argument("--second-order-checkers", nargs="*", default=SECOND_CHECKERS, choices=SECOND_CHECKERS,
                   metavar="CHECKER", help=f"the second-order columns to run (default: all of "
                                           f"{', '.join(SECOND_CHECKERS)})")
    p.add_argument("--second-order-campaign-examples", type=int, default=None, metavar="N",
                   help="examples of advalidate's second-order campaign per planted bug, after its probes "
                        "(default 40; 0: no campaign column)")
    p.add_argument("--skip", nargs="*", default=[], choices=["planted", "sensitivity", "false-alarms", "forward",
                                                             "forward-planted", "forward-sensitivity",
                                                             "forward-false-alarms", "second-order",
                                                             "second-order-planted", "second-order-sensitivity",
                                                             "second-order-false-alarms"],
                   help="sections not to run; 'forward' skips the three forward-mode ones, 'second-order' the three "
                        "second-order ones")
    p.add_argument("--across-seeds", type=int, default=0, metavar="K",
                   help="also compare first detections over the streams of seeds 0 … K-1 (run it with "
                        "--checkers advalidate and the quick anchors: jax costs ~0.3 s an example)")
    args = p.parse_args(argv)
    CHECKERS[:] = [c for c in CHECKERS if c in args.checkers]
    FORWARD_CHECKERS[:] = [c for c in FORWARD_CHECKERS if c in args.forward_checkers]
    SECOND_CHECKERS[:] = [c for c in SECOND_CHECKERS if c in args.second_order_checkers]
    skip = set(args.skip)
    if "forward" in skip:
        skip |= {"forward-planted", "forward-sensitivity", "forward-false-alarms"}
    if "second-order" in skip:
        skip |= {"second-order-planted", "second-order-sensitivity", "second-order-false-alarms"}
    n = args.examples or (40 if args.quick else 120)
    nfa = args.false_alarm_examples or (300 if args.quick else 10_000)
    nfa_anchor = args.anchor_false_alarm_examples or nfa
    points = args.points or (3 if args.quick else 5)

    import jax

    jax.config.update("jax_enable_x64", True)
    from advalidate.oracle import Oracle

    t0 = time.time()
    print("# advalidate detection benchmark", flush=True)
    print(f"seed {args.seed}; float64; anchors on their default tolerances", flush=True)
    if "planted" not in args.skip:
        stream = checkable(draw_examples(n, args.seed), Oracle())
        rows = planted(stream, n, args.seed)
        print_planted(rows, len(stream), n)
        sys.stdout.flush()
    if "sensitivity" not in args.skip:
        print_sensitivity(sensitivity(points, args.seed), points)
        sys.stdout.flush()
    if "false-alarms" not in args.skip:
        stream = checkable(draw_examples(nfa, args.seed + 1), Oracle())
        print_false_alarms(false_alarms(stream, nfa_anchor))
        sys.stdout.flush()
    if "forward-planted" not in skip:
        stream = checkable(draw_examples(n, args.seed, tangents=True), Oracle())
        print_forward_planted(forward_planted(stream, n, args.seed), len(stream), n)
        sys.stdout.flush()
    if "forward-sensitivity" not in skip:
        print_forward_sensitivity(forward_sensitivity(points, args.seed), points)
        sys.stdout.flush()
    if "forward-false-alarms" not in skip:
        stream = checkable(draw_examples(nfa, args.seed + 1, tangents=True), Oracle())
        print_forward_false_alarms(forward_false_alarms(stream, nfa_anchor))
        sys.stdout.flush()
    if "second-order-planted" not in skip:
        stream = second_order_stream(checkable(draw_examples(n, args.seed, tangents=True), Oracle()))
        campaign = 40 if args.second_order_campaign_examples is None else args.second_order_campaign_examples
        print_second_planted(second_planted(stream, campaign, args.seed), len(stream), campaign)
        sys.stdout.flush()
    if "second-order-sensitivity" not in skip:
        print_second_sensitivity(second_sensitivity(points, args.seed), points)
        sys.stdout.flush()
    if "second-order-false-alarms" not in skip:
        stream = checkable(draw_examples(nfa, args.seed + 1, tangents=True), Oracle())
        print_second_false_alarms(second_order_false_alarms(stream))
        sys.stdout.flush()
    if args.across_seeds:
        print_across_seeds(across_seeds(args.across_seeds, n), args.across_seeds, n)
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
