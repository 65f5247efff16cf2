"""Users' own ops with hand-written VJPs: advalidate beside the anchors on the planted custom-VJP mistakes.

Usage: python benchmarks/custom_ops.py [--examples N] [--seed S] [--campaign-examples N] [--entries NAME ...]

The ops are those of ``tests/custom_mutants.py``: softplus, log1mexp and logaddexp, each right and with the
mistakes people make in a hand-written VJP, as a ``jax.custom_vjp`` and as a ``torch.autograd.Function``. Each
entry is registered with advalidate through ``advalidate.extend.defop`` (its mpmath form and domain, and the two
implementations), as a user would.

Every checker sees the SAME points: a stream of examples of the op alone (a one-node program: operand shapes,
broadcasting for logaddexp, points and a cotangent), drawn once per op from ``strategies.examples()`` with a fixed
seed, in float64. On each example:

- advalidate: ``check_example`` (the mpmath oracle, the error model and the work count) on the jax and on the
  torch implementation, with the example's cotangent;
- ``torch.autograd.gradcheck`` (default, and ``fast_mode=True``) on the torch op at the example's point;
- ``jax.test_util.check_grads(order=1, modes=["rev"])`` on the jax op at the example's point.

The anchors run at their own default tolerances and with their own directions (they do not take a cotangent). A
checker that raises on an example (jax refusing a bwd rule's cotangent of the wrong shape) counts as a detection,
shown as such. Cells: the example number and seconds of the first detection, and its size (n nodes/i inputs/e input
elements). advalidate's size is that of its shrunk counterexample: the smallest finding of the expected kind in
``advalidate.extend.check_op`` on the op (probes of the op alone, then programs built around it), which is what a
user's test prints; the anchors do not shrink, so theirs is the first failing example.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

ANCHORS = ["gradcheck", "gradcheck fast", "jax check_grads"]
ANCHOR_LIBRARY = {"gradcheck": "torch", "gradcheck fast": "torch", "jax check_grads": "jax"}


def size(fn) -> str:
    elements = sum(int(np.prod(s)) for s in fn.inputs)
    return f"{len(fn.nodes)}n/{len(fn.inputs)}i/{elements}e"


# ---------------------------------------------------------------- the anchors, on the user's op itself


def gradcheck(op, inputs, fast: bool):
    """True if ``torch.autograd.gradcheck`` flags the ``torch.autograd.Function`` ``op`` at ``inputs``; the
    name of the exception if it raises."""
    import torch

    torch.manual_seed(0)
    xs = tuple(torch.tensor(np.array(x, dtype=np.float64, order="C"), requires_grad=True) for x in inputs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return not torch.autograd.gradcheck(op.apply, xs, fast_mode=fast, raise_exception=False)
    except Exception as e:
        return f"error: {type(e).__name__}"


def check_grads(op, inputs):
    """True if ``jax.test_util.check_grads(order=1, modes=["rev"])`` flags the ``jax.custom_vjp`` ``op``; the
    name of the exception if it raises something else than its AssertionError."""
    import jax.numpy as jnp
    from jax.test_util import check_grads as jax_check_grads

    np.random.seed(0)
    try:
        jax_check_grads(op, tuple(jnp.asarray(np.array(x, np.float64, order="C")) for x in inputs), order=1,
                        modes=["rev"])
    except AssertionError:
        return True
    except Exception as e:
        return f"error: {type(e).__name__}"
    return False


def anchor_flags(checker: str, entry, inputs):
    if checker == "gradcheck":
        return gradcheck(entry.torch_op, inputs, fast=False)
    if checker == "gradcheck fast":
        return gradcheck(entry.torch_op, inputs, fast=True)
    if checker == "jax check_grads":
        return check_grads(entry.jax_op, inputs)
    raise ValueError(f"unknown checker {checker!r}")


# ---------------------------------------------------------------- the shared stream: the op alone, drawn by advalidate


def draw_stream(op_name: str, n: int, seed: int) -> list:
    """``n`` examples of the op alone (one-node programs: shapes, point, cotangent), reproducibly from ``seed``."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings

    from advalidate.strategies import examples

    out = []

    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate], verbosity=hypothesis.Verbosity.quiet)
    @hypothesis.seed(seed)
    @given(examples(primitives=[op_name], max_ops=1))
    def collect(example):
        if len(example.function.nodes) == 1:
            out.append(example)

    collect()
    return out[:n]


def operands(example) -> list:
    """The op's operands at the example's point, in its call order (one input may be passed twice)."""
    fn = example.function
    (node,) = fn.nodes
    at = dict(zip(fn.input_names, example.inputs))
    return [np.asarray(at[a], dtype=np.float64) for a in node.args]


def advalidate_flags(example, backend, oracle):
    """The kind of advalidate's finding on the example (None: passes)."""
    from advalidate.check import check_example

    o = check_example(example.function, example.inputs, example.cotangents, [backend], oracle).outcomes[0]
    return o.kind if o.status == "finding" else None


def first_detection(checker: str, stream, entry, backends):
    """``(example number, seconds, size, verdict)`` of the first example ``checker`` flags, or None.

    advalidate's verdict counts when it is the kind the entry expects on that library (for a right op: any
    finding, a false alarm); an anchor's counts whatever it is."""
    from advalidate.oracle import Oracle

    oracle = Oracle()
    library = checker.split()[-1] if checker.startswith("advalidate") else ANCHOR_LIBRARY[checker]
    expected = entry.expected[library]
    t0 = time.perf_counter()
    for i, ex in enumerate(stream, 1):
        if checker.startswith("advalidate"):
            got = advalidate_flags(ex, backends[library], oracle)
            hit = got is not None and (expected is None or got == expected)
        else:
            got = anchor_flags(checker, entry, operands(ex))
            hit = bool(got)
        if hit:
            return i, time.perf_counter() - t0, size(ex.function), got
    return None


def shrunk(entry, library: str, campaign_examples: int, seed: int):
    """The size of the smallest finding of the expected kind in ``extend.check_op`` on ``library``, or None."""
    from advalidate import extend
    from advalidate.ir import Function

    try:
        results = extend.check_op(entry.op_name, backends=[library], max_examples=campaign_examples, seed=seed)
    except AssertionError as e:
        results = e.results
    kind = entry.expected[library]
    sizes = [size(Function.from_dict(f["function"])) for f in results["findings"] if f["kind"] == kind]
    return min(sizes, key=_size_key) if sizes else None


def _size_key(s: str):
    n, i, e = s.split("/")
    return int(n[:-1]), int(e[:-1])


# ---------------------------------------------------------------- the table


COLUMNS = ["advalidate jax", "jax check_grads", "advalidate torch", "gradcheck", "gradcheck fast"]


def run(entries, n: int, seed: int, campaign_examples: int) -> list:
    from advalidate import extend
    from advalidate.backends.registry import load_backends
    from tests import custom_mutants

    backends, errors = load_backends(["jax", "torch"], isolate="none")
    if errors:
        raise SystemExit(f"backends did not load: {errors}")
    rows = []
    for name in entries:
        entry = custom_mutants.PLANTED[name]
        custom_mutants.register(name)
        try:
            by_name = {b.name: b for b in backends}
            stream = draw_stream(entry.op_name, n, seed)
            row = {"entry": entry, "stream": len(stream)}
            for c in COLUMNS:
                row[c] = first_detection(c, stream, entry, by_name)
            for library in ("jax", "torch"):
                expected = entry.expected[library]
                row["shrunk " + library] = shrunk(entry, library, campaign_examples, seed) if expected else None
        finally:
            extend.remove(entry.op_name)
        rows.append(row)
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return rows


def _cell(row, column) -> str:
    hit = row[column]
    entry = row["entry"]
    library = column.split()[-1] if column.startswith("advalidate") else ANCHOR_LIBRARY[column]
    expected = entry.expected[library]
    if hit is None:
        return "no" if expected is None or not column.startswith("advalidate") else "**missed**"
    how = f" ({hit[3]})" if isinstance(hit[3], str) and (hit[3].startswith("error") or expected is None) else ""
    if column.startswith("advalidate") and row.get("shrunk " + library):
        where = f" shrunk to {row['shrunk ' + library]}"
    else:
        where = f" {hit[2]}"
    what = "false alarm" if expected is None else "yes"
    return f"{what}{how}: #{hit[0]}, {hit[1]:.2f} s;{where}"


def _expected(entry) -> str:
    kinds = entry.expected
    if kinds["jax"] == kinds["torch"]:
        return kinds["jax"] or "right"
    return f"jax: {kinds['jax'] or 'right'}, torch: {kinds['torch'] or 'right'}"


def print_table(rows, n, campaign_examples):
    print(f"\n## Custom ops with hand-written VJPs ({n} examples of the op alone per entry; cells: examples/seconds "
          "to the first detection, size n nodes/i inputs/e input elements)\n")
    print("| entry: op (expected) | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for r in rows:
        e = r["entry"]
        print(f"| {e.name}: {e.op} ({_expected(e)}) | " + " | ".join(_cell(r, c) for c in COLUMNS) + " |")
    planted = [r for r in rows if r["entry"].mistaken]
    caught = {}
    for c in COLUMNS:
        library = c.split()[-1] if c.startswith("advalidate") else ANCHOR_LIBRARY[c]
        wrong = [r for r in planted if r["entry"].expected[library]]
        caught[c] = f"**{sum(r[c] is not None for r in wrong)}/{len(wrong)}**"
    print("| **planted mistakes caught** | " + " | ".join(caught[c] for c in COLUMNS) + " |")
    print(f"\nadvalidate's shrunk size: the smallest finding of the expected kind in extend.check_op on the op "
          f"({campaign_examples} examples after the probes, seed as given); the anchors' size is that of the first "
          "failing example. A right op flagged is a false alarm.")


def main(argv=None):
    from tests.custom_mutants import PLANTED

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=40, help="examples of the op alone in each entry's stream")
    p.add_argument("--campaign-examples", type=int, default=40, help="examples of check_op (its default: 40)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--entries", nargs="*", default=list(PLANTED), choices=list(PLANTED), metavar="ENTRY")
    args = p.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    t0 = time.time()
    print("# advalidate on users' custom ops", flush=True)
    print(f"seed {args.seed}; float64; anchors on their default tolerances", flush=True)
    print_table(run(args.entries, args.examples, args.seed, args.campaign_examples), args.examples,
                args.campaign_examples)
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
