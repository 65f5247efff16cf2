"""Check one example (function, point, cotangents) on several backends against one oracle result.

The oracle runs once per example; every backend's VJP is compared with it under the error model, its work
is checked against the cost bound, and the backends are compared with each other. At a kink or tie the
oracle's one-sided derivatives decide which convention a backend took.
"""

from __future__ import annotations

import math
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .backends.contract import Work
from .cost import OMEGA, check_bound, io_size
from .errormodel import Comparison, compare_full, compare_projected, unit_roundoff
from .errors import DomainError, KinkError
from .ir import Function
from .isolation import BackendRaised
from .oracle import Oracle, OracleVJP

__all__ = ["Outcome", "ExampleResult", "check_example", "FULL_MODE_LIMIT", "OMEGA", "primitive_signature"]

FULL_MODE_LIMIT = 48  # input elements up to which the oracle computes every component; projections beyond


def primitive_signature(fn: Function) -> str:
    return "+".join(fn.primitives_used) or "identity"


@dataclass
class Outcome:
    """What happened to one backend on one example."""

    backend: str
    status: str  # pass, finding, unsupported, skipped
    kind: str | None = None  # wrong-value, precision-loss, nan-inf, convention, cost-bound, error
    message: str = ""
    grads: list | None = None
    comparison: Comparison | None = None
    work: Work | None = None
    convention: str | None = None  # at kinks: left, right, between, other
    agrees_with: list = field(default_factory=list)  # backends whose VJP matches this one's

    @property
    def ratio(self) -> float:
        return self.comparison.ratio if self.comparison else math.nan


@dataclass
class ExampleResult:
    oracle: OracleVJP | None
    point: str  # regular, kink, domain
    outcomes: list
    kink: str = ""  # the node and primitive at a kink
    seconds: Counter = field(default_factory=Counter)  # oracle, error model, and per backend: vjp, work


def _validate(fn: Function, result, n_inputs: int) -> str | None:
    """A message naming what is wrong with a backend's returned VJP, or None."""
    grads = getattr(result, "grads", None)
    if grads is None or len(grads) != n_inputs:
        return f"returned {0 if grads is None else len(grads)} gradients for {n_inputs} inputs"
    for i, (g, shape) in enumerate(zip(grads, fn.inputs)):
        g = np.asarray(g)
        if g.shape != shape:
            return f"gradient {i} has shape {g.shape}, input x{i} has shape {shape}"
        if g.dtype != np.dtype(fn.dtype):
            return f"gradient {i} has dtype {g.dtype}, the function's dtype is {fn.dtype}"
    return None


def run_vjp(backend, fn: Function, inputs, cotangents) -> tuple[list | None, str | None]:
    """Call the backend defensively: (grads, None) or (None, a message naming the failure)."""
    given = [np.array(x, copy=True) for x in inputs]  # the backend's own copies: our example stays intact
    try:
        result = backend.vjp(fn, given, [np.array(v, copy=True) for v in cotangents])
    except Exception as e:  # a backend bug, reported as an `error` finding
        if isinstance(e, BackendRaised):  # from a worker process: its message carries the traceback
            return None, str(e)
        return None, f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-3:])
    problem = _validate(fn, result, len(inputs))
    if problem:
        return None, problem
    if any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(given, inputs)):
        return None, "the backend mutated its inputs"
    return [np.asarray(g) for g in result.grads], None


def _convention(fn, inputs, cotangents, grads, oracle: Oracle) -> tuple[str, float]:
    """At a kink: which one-sided derivative each component of ``grads`` matches (left, right, between, other)."""
    labels, worst = set(), 0.0
    u = unit_roundoff(fn.dtype)
    for i, (x, shape) in enumerate(zip(inputs, fn.inputs)):
        g = np.asarray(grads[i], dtype=np.float64)
        for idx in np.ndindex(*shape):
            direction = [np.zeros(s) for s in fn.inputs]
            direction[i][idx] = 1.0
            right = float(oracle.directional(fn, inputs, cotangents, direction, side=+1).value)
            left = float(oracle.directional(fn, inputs, cotangents, direction, side=-1).value)
            tol = 1e3 * (len(fn.nodes) + 1) * u * max(abs(left), abs(right), 1.0)
            val = g[idx]
            if not np.isfinite(val):
                labels.add("other")
            elif abs(val - left) <= tol and abs(val - right) <= tol:
                continue
            elif abs(val - right) <= tol:
                labels.add("right")
            elif abs(val - left) <= tol:
                labels.add("left")
            elif min(left, right) - tol <= val <= max(left, right) + tol:
                labels.add("between")
            else:
                labels.add("other")
                worst = max(worst, min(abs(val - left), abs(val - right)) / tol)
    if "other" in labels:
        return "other", worst
    return ("+".join(sorted(labels)) or "smooth"), 0.0


def check_example(fn: Function, inputs, cotangents, backends, oracle: Oracle | None = None,
                  measure_work: bool = True, omega: float = OMEGA) -> ExampleResult:
    """Check every backend on one example. Never raises for a backend's misbehaviour."""
    oracle = oracle or Oracle(dtype=fn.dtype)
    size = sum(int(np.prod(s)) for s in fn.inputs)
    mode = "full" if size <= FULL_MODE_LIMIT else "projected"
    point, kink, ref = "regular", "", None
    seconds = Counter()
    clock = time.perf_counter()

    def lap(key):
        nonlocal clock
        now = time.perf_counter()
        seconds[key] += now - clock
        clock = now

    try:
        ref = oracle.vjp(fn, inputs, cotangents, mode=mode)
    except KinkError as e:
        point, kink = "kink", f"{e.node} ({e.prim})"
    except DomainError as e:
        return ExampleResult(None, "domain", [Outcome(b.name, "skipped", message=str(e)) for b in backends])
    lap("oracle")

    outcomes = []
    for backend in backends:
        missing = [p for p in fn.primitives_used if p not in backend.primitives]
        if missing or fn.dtype not in backend.dtypes:
            why = f"unsupported primitives: {', '.join(missing)}" if missing else f"dtype {fn.dtype} not supported"
            outcomes.append(Outcome(backend.name, "unsupported", message=why))
            continue
        lap("other")
        grads, problem = run_vjp(backend, fn, inputs, cotangents)
        lap(f"vjp {backend.name}")
        if problem:
            outcomes.append(Outcome(backend.name, "finding", "error", problem))
            continue
        outcome = Outcome(backend.name, "pass", grads=grads)
        if point == "kink":
            label, worst = _convention(fn, inputs, cotangents, grads, oracle)
            outcome.convention = label
            if label == "other":
                outcome.status, outcome.kind = "finding", "convention"
                outcome.message = (f"at a kink of {kink} the VJP matches neither one-sided derivative nor "
                                   f"lies between them (off by {worst:.3g}× the tolerance)")
        else:
            compare = compare_full if mode == "full" else compare_projected
            outcome.comparison = compare(fn, inputs, cotangents, ref, grads)
            if not outcome.comparison.ok:
                outcome.status, outcome.kind = "finding", outcome.comparison.kind
                outcome.message = f"error {outcome.comparison.ratio:.3g}× the tolerance"
        lap("oracle (one-sided)" if point == "kink" else "error model")
        if measure_work and outcome.status == "pass" and hasattr(backend, "work"):
            try:
                outcome.work = backend.work(fn, inputs, cotangents)
                lap(f"work {backend.name}")
            except Exception as e:
                outcome.status, outcome.kind = "finding", "error"
                outcome.message = f"work counting failed: {type(e).__name__}: {e}"
            else:
                # a forward that is pure data movement costs 0, while its VJP must still read v and write g
                io = io_size(inputs, cotangents) if outcome.work.forward == 0 else 0
                verdict = check_bound(outcome.work, omega, io=io)
                if not verdict.ok:
                    outcome.status, outcome.kind, outcome.message = "finding", "cost-bound", verdict.message
        outcomes.append(outcome)
    _cross_check(fn, outcomes)
    lap("other")
    return ExampleResult(ref, point, outcomes, kink, seconds)


def _cross_check(fn: Function, outcomes):
    """Record which backends agree with each other (to a tolerance of the dtype's roundoff)."""
    done = [o for o in outcomes if o.grads is not None]
    u = unit_roundoff(fn.dtype)
    for a in done:
        for b in done:
            if a is b:
                continue
            close = all(np.allclose(np.asarray(x, np.float64), np.asarray(y, np.float64),
                                    rtol=1e3 * (len(fn.nodes) + 1) * u, atol=0, equal_nan=True)
                        for x, y in zip(a.grads, b.grads))
            if close:
                a.agrees_with.append(b.backend)
