"""Detection power of advalidate beside the anchors: planted bugs, sensitivity and false alarms, in one run.

Usage: python benchmarks/detection.py [--quick] [--examples N] [--false-alarm-examples N] [--seed S]
       [--across-seeds K] [--skip SECTION ...] [--checkers CHECKER ...] [--forward-checkers CHECKER ...]

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
    p.add_argument("--skip", nargs="*", default=[], choices=["planted", "sensitivity", "false-alarms", "forward",
                                                             "forward-planted", "forward-sensitivity",
                                                             "forward-false-alarms"],
                   help="sections not to run; 'forward' skips the three forward-mode ones")
    p.add_argument("--across-seeds", type=int, default=0, metavar="K",
                   help="also compare first detections over the streams of seeds 0 … K-1 (run it with "
                        "--checkers advalidate and the quick anchors: jax costs ~0.3 s an example)")
    args = p.parse_args(argv)
    CHECKERS[:] = [c for c in CHECKERS if c in args.checkers]
    FORWARD_CHECKERS[:] = [c for c in FORWARD_CHECKERS if c in args.forward_checkers]
    skip = set(args.skip)
    if "forward" in skip:
        skip |= {"forward-planted", "forward-sensitivity", "forward-false-alarms"}
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
    if args.across_seeds:
        print_across_seeds(across_seeds(args.across_seeds, n), args.across_seeds, n)
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
