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
