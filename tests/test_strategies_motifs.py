"""Motifs (issue 16): attention, layer norm, a Gaussian log-likelihood through a Cholesky factor, a least-squares
solve. Each is drawn and shrinks to its recipe alone, its programs match the oracle on the reference and on the
libraries (no false alarm), and a planted wrong VJP inside it is caught and shrinks to the motif's smallest form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.backends.registry import load_backends
from advalidate.check import check_example
from advalidate.oracle import Oracle
from advalidate.primitives import linalg, statistics
from advalidate.strategies import examples, functions
from advalidate.strategies._functions import _MOTIF_NEEDS, MOTIFS, _validate
from tests.mutants import Mutant

FIND = settings(database=None, derandomize=True, max_examples=2000, deadline=None,
                suppress_health_check=list(HealthCheck))


def _uses(fn, *prims):
    return set(prims) <= set(fn.primitives_used)


# what only the motif builds from each allowed set (with its optional parts' primitives)
MOTIF = {
    "attention": (["matmul", "transpose", "softmax", "div"],
                  lambda fn: _uses(fn, "transpose", "softmax") and [n.prim for n in fn.nodes].count("matmul") >= 2,
                  ["transpose", "matmul", "softmax", "matmul"]),
    "layer_norm": (["mean", "sub", "var", "add", "sqrt", "div", "reshape", "mul"],
                   lambda fn: _uses(fn, "mean", "var", "sqrt"),
                   ["mean", "sub", "var", "add", "sqrt", "div"]),
    "gaussian_loglik": (["cholesky", "triangular_solve", "matmul", "add", "sub", "diagonal", "log", "sum",
                         "slogdet"],
                        lambda fn: _uses(fn, "cholesky", "triangular_solve"),
                        ["cholesky", "triangular_solve", "matmul", "slogdet", "add", "add"]),
    "least_squares": (["transpose", "matmul", "solve", "cholesky", "triangular_solve"],
                      lambda fn: _uses(fn, "transpose", "solve") or _uses(fn, "transpose", "cholesky"),
                      ["transpose", "matmul", "matmul", "solve"]),
}


def test_every_new_motif_is_known_and_needs_its_primitives():
    assert {"attention", "layer_norm", "gaussian_loglik", "least_squares"} <= set(MOTIFS)
    for name, (prims, _, _) in MOTIF.items():
        assert _MOTIF_NEEDS[name] <= set(prims)
        assert name in _validate(prims, 8, 4, 2, 4, True, "float64", False, True).motifs
        short = sorted(set(prims) - {sorted(_MOTIF_NEEDS[name])[0]})
        assert name not in _validate(short, 8, 4, 2, 4, True, "float64", False, True).motifs
    # a motif of matrices needs rank 2
    assert "attention" not in _validate(MOTIF["attention"][0], 8, 4, 1, 4, True, "float64", False, True).motifs


@pytest.mark.parametrize("name", list(MOTIF))
def test_the_motif_is_drawn_and_shrinks_to_its_recipe_alone(name):
    """From every primitive (the default set, default knobs): the shrinker reaches the motif's smallest form."""
    _, uses, recipe = MOTIF[name]
    fn = find(functions(), uses, settings=FIND)
    # the live program, as the campaign reports a minimal example (Campaign._minimal prunes dead nodes): Hypothesis
    # cannot always delete a dead node drawn first (least_squares keeps a dead neg(x0) in today's stream)
    live = fn.pruned()
    assert [n.prim for n in live.nodes] == recipe, fn
    assert len(fn.nodes) - len(live.nodes) <= 1, fn
    assert live.outputs == (f"v{len(live.nodes) - 1}",), fn
    assert all(math.prod(s) <= 2 for s in fn.inputs), fn


def _motif_examples(name, n, exclude=()):
    prims, uses, _ = MOTIF[name]
    out = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(examples(primitives=[p for p in prims if p not in exclude], max_ops=9))
    def collect(ex):
        if uses(ex.function):
            out.append(ex)

    collect()
    return out


# autograd lacks the gradient of np.diagonal (a known behaviour, advalidate_autograd/known/autograd.txt): the Gaussian
# log-likelihood takes its slogdet form there
_EXCLUDE = {"autograd": ("diagonal",)}


# the reference in the fast tier; the libraries (a compilation per program for jax) in the slow one
_BACKENDS = ["numpy-ref"] + [pytest.param(b, marks=pytest.mark.slow) for b in ("jax", "torch", "autograd")]


@pytest.mark.parametrize("backend", _BACKENDS)
@pytest.mark.parametrize("name", list(MOTIF))
def test_motif_programs_match_the_oracle(name, backend):
    (target,), errors = load_backends([backend])
    assert not errors, errors
    exs = _motif_examples(name, 60, _EXCLUDE.get(backend, ()))[:6]
    assert len(exs) >= 4, len(exs)
    oracle = Oracle()
    checked = 0
    for ex in exs:
        result = check_example(ex.function, list(ex.inputs), list(ex.cotangents), [target], oracle,
                               measure_work=False)
        (outcome,) = result.outcomes
        assert outcome.status in ("pass", "skipped"), (outcome.status, outcome.kind, outcome.message, repr(ex))
        checked += outcome.status == "pass"
    assert checked >= 3, checked


# ---- planted bugs inside motifs


def _softmax_uncentred(g, ans, x, axis=-1):
    return g * ans  # bug: forgets - sum(g·s)


def _var_half(g, ans, x, axis=None, ddof=0):
    return statistics.grad_var(g, ans, x, axis, ddof) / 2  # bug: drops the factor 2 of d(x - m)²


def _chol_no_halving(g, l, a):
    # bug: Murray's Φ without halving the diagonal (tril instead of Φ)
    z = linalg.xp.solve_triangular(l.T, np.tril(l.T @ g), lower=False)
    return linalg._sym(linalg.xp.solve_triangular(l.T, z.T, lower=False).T)


def _solve_a_sign(g, x, a, b):
    ga, gb = linalg._solve_vjp(g, x, a, b)
    return -ga, gb  # bug: the matrix's cotangent with the wrong sign


PLANTED = {"attention": ("softmax", (_softmax_uncentred,)), "layer_norm": ("var", (_var_half,)),
           "gaussian_loglik": ("cholesky", (_chol_no_halving,)), "least_squares": ("solve", _solve_a_sign)}


def _differs(mutant, ex) -> bool:
    with np.errstate(all="ignore"):
        want = NumpyReference().vjp(ex.function, list(ex.inputs), list(ex.cotangents)).grads
        got = mutant.vjp(ex.function, list(ex.inputs), list(ex.cotangents)).grads
    return any(not np.allclose(a, b, rtol=1e-6, atol=1e-9) for a, b in zip(got, want))


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n == "gaussian_loglik" else pytest.mark.slow)
                                  for n in MOTIF])  # one fast (6 s), the others 12-45 s each
def test_a_planted_wrong_vjp_inside_the_motif_is_caught_and_shrinks(name):
    prims, uses, recipe = MOTIF[name]
    prim, rule = PLANTED[name]
    mutant = Mutant(f"{prim}-planted", {prim: rule})
    ex = find(examples(primitives=prims, max_ops=9), lambda e: uses(e.function) and _differs(mutant, e),
              settings=FIND)
    # the program the verdict is about (dead nodes pruned, as a campaign records it): the recipe, and at most the
    # motif's optional parts (γ, β, μ, the scale) where the shrinker stopped in a local minimum
    live = [n.prim for n in ex.function.pruned().nodes]
    assert len(live) <= len(recipe) + 2 and set(live) <= set(prims), ex.function
    assert all(live.count(p) >= recipe.count(p) for p in recipe), ex.function
    (outcome,) = check_example(ex.function, list(ex.inputs), list(ex.cotangents), [mutant], Oracle(),
                               measure_work=False).outcomes
    assert (outcome.status, outcome.kind) == ("finding", "wrong-value"), (outcome.status, outcome.message, repr(ex))
    # the unmodified reference passes the same example
    (ref,) = check_example(ex.function, list(ex.inputs), list(ex.cotangents), [NumpyReference()], Oracle(),
                           measure_work=False).outcomes
    assert ref.status == "pass", ref.message
