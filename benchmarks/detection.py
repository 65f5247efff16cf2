"""Detection power of advalidate beside the anchors: planted bugs, sensitivity and false alarms, in one run.

Usage: python benchmarks/detection.py [--quick] [--examples N] [--false-alarm-examples N] [--seed S]

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

Three tables:
1. planted bugs: detected within the stream, examples and seconds to the first detection, size of the
   counterexample (advalidate: the shrunk minimal finding of a campaign on the mutant; anchors: the first
   failing example, they do not shrink);
2. sensitivity: the smallest relative VJP error δ (backend = correct VJP × (1 + δ), δ = 1e-2 … 1e-14)
   detected at every one of several points of well-conditioned functions;
3. false alarms per 10,000 examples on correct VJPs (the NumPy reference tape) over the stream.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from advalidate.backends.contract import VJP  # noqa: E402
from advalidate.backends.numpy_ref import NumpyReference  # noqa: E402
from advalidate.evaluate import evaluate  # noqa: E402

CHECKERS = ["advalidate", "gradcheck", "gradcheck fast", "jax check_grads", "autograd check_grads"]
DELTAS = [10.0 ** -k for k in range(2, 15)]


# ---------------------------------------------------------------- the shared stream of examples


def draw_examples(n: int, seed: int, dtype: str = "float64") -> list:
    """``n`` examples from ``strategies.examples()``, reproducibly from ``seed``."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings

    from advalidate.strategies import examples

    out = []

    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate], verbosity=hypothesis.Verbosity.quiet)
    @hypothesis.seed(seed)
    @given(examples(dtype=dtype))
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
    try:
        if checker == "gradcheck":
            return torch_check(fn, inputs, backend, fast=False)
        if checker == "gradcheck fast":
            return torch_check(fn, inputs, backend, fast=True)
        if checker == "jax check_grads":
            return jax_check(fn, inputs, backend)
        if checker == "autograd check_grads":
            return autograd_check(fn, inputs, backend)
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
            backend, oracle = factory(), Oracle()
            t0 = time.perf_counter()
            hit = None
            for i, ex in enumerate(stream, 1):
                got = flags(checker, ex, backend, oracle)
                if got and (checker != "advalidate" or got == kind):
                    hit = (i, time.perf_counter() - t0, size(ex.function), got)
                    break
            row[checker] = hit
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
    def __init__(self, fn, inputs, cotangents):
        self.function, self.inputs, self.cotangents = fn, inputs, cotangents


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
    p.add_argument("--skip", nargs="*", default=[], choices=["planted", "sensitivity", "false-alarms"])
    args = p.parse_args(argv)
    CHECKERS[:] = [c for c in CHECKERS if c in args.checkers]
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
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
