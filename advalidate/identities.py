"""The cross-mode identity ``<v, J·w> = <Jᵀv, w>``: a backend's own JVP against its own VJP, without the oracle.

Where the oracle is too slow (larger shapes: ``advalidate run --max-side N`` past the default 4), each backend's
VJP (for the cotangents v) and JVP (for the tangents w) are computed on the same example and the two sides of the
identity compared. It needs no exact value, so it scales to shapes the oracle cannot afford; it sees a JVP rule that
disagrees with the VJP rule (torch writes its forward formulas apart from its backward ones, autograd keeps two
tables), not a bug both modes share. Where the oracle runs, the identity adds nothing: a JVP and a VJP that both meet
their tolerances against the oracle satisfy it within the sum of the two.

The tolerance is both sides' error model, projected: ``Σ_k |v_k|·tolJ_k + Σ_i |w_i|·tolV_i`` with ``tolV`` the VJP's
tolerance per component (:func:`advalidate.errormodel.tolerance`, without the oracle's terms) and ``tolJ`` the
JVP's (:class:`advalidate.forward_mode.JVPReference`, the reference tape's J·w standing for the oracle's), plus the
rounding of the two dot products. A finding is ``wrong-value`` (``nan-inf`` where one side is NaN or inf and the other
is not) on the ``jvp`` row, its message naming the identity; the ``vjp`` row passes with it, and is ``skipped`` where
it fails (the finding is the jvp row's: one discrepancy, not two).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from types import SimpleNamespace

import mpmath
import numpy as np

from .backends.contract import supports_mode
from .errormodel import Comparison, ill_conditioned, tolerance, unit_roundoff
from .errors import DomainError, KinkError
from .evaluate import to_mp, trace
from .ir import Function

__all__ = ["check_identities", "IDENTITY", "SYMMETRY", "second_direction"]

IDENTITY = "<v, J·w> = <Jᵀv, w>"
SYMMETRY = "<w, H_v·u> = <u, H_v·w>"


def second_direction(fn: Function) -> list[np.ndarray]:
    """The second direction w of the symmetry identity, one array per input: standard normal draws from a fixed seed
    (the same for every example of the same shapes, so a replay computes the same identity)."""
    rng = np.random.default_rng(20261203)
    return [rng.standard_normal(s).astype(fn.dtype) for s in fn.inputs]


def check_identities(fn: Function, inputs, cotangents, tangents, backends, oracle, modes=("vjp", "jvp")) -> "ExampleResult":
    """Every backend's VJP and JVP on one example, judged by the identity alone (module docstring). ``oracle``
    (:class:`advalidate.oracle.Oracle`) decides the point only: its domain and kinks (one high-precision evaluation).
    With ``"hvp"`` in ``modes``, each backend's Hessian-vector products along u (the tangents) and along a second
    direction w (:func:`second_direction`) are held to the symmetry of H_v, ``<w, H_v·u> = <u, H_v·w>``, within both
    products' error model (:mod:`advalidate.second_order`, the tape's HVP standing for the oracle's), on the hvp row."""
    from .check import ExampleResult, Outcome, run_vjp
    from .forward_mode import JVPReference, _tape_jvp, run_jvp

    live = fn.pruned()
    seconds: Counter = Counter()
    start = time.perf_counter()

    def all_skipped(point, why):
        return ExampleResult(None, point, [Outcome(b.name, "skipped", message=why, mode=m)
                                           for m in modes for b in backends], function=live)

    try:
        oracle.check_point(live, inputs)
    except KinkError as e:
        return all_skipped("kink", f"at a kink of {e.node} ({e.prim}): the identity is judged at regular points only")
    except DomainError as e:
        return all_skipped("domain", str(e))
    unstable = ill_conditioned(live, inputs, cotangents)
    if unstable:
        return all_skipped("ill-conditioned", unstable)
    with mpmath.workprec(oracle.prec):
        exact = trace(live, [to_mp(x) for x in inputs], "mp")
    tape_j = _tape_jvp(live, inputs, tangents)[1]
    stand_in = SimpleNamespace(tangents=tape_j, errors=[np.zeros(np.shape(t)) for t in tape_j], tangents_mp=None,
                               errors_mp=None)
    tol_j = JVPReference(live, inputs, tangents, stand_in, exact).tolerances
    zeros = [np.zeros(s) for s in live.inputs]
    tol_v = tolerance(live, inputs, cotangents, zeros, zeros)
    vs = [np.broadcast_to(np.asarray(v, np.float64), s) for v, s in zip(cotangents, live.output_shapes)]
    ws = [np.asarray(w, np.float64) for w in tangents]
    allowed = sum(float(np.sum(np.abs(v) * t)) for v, t in zip(vs, tol_j)) + \
        sum(float(np.sum(np.abs(w) * t)) for w, t in zip(ws, tol_v))
    seconds["error model"] += time.perf_counter() - start
    outcomes = []
    note = f"identity mode: the oracle is skipped; this VJP is checked through {IDENTITY} (the jvp row)"
    for backend in backends:
        why = supports_mode(backend, fn, "jvp")
        if why:
            outcomes += [Outcome(backend.name, "unsupported", message=why, mode=m) for m in ("vjp", "jvp")]
            continue
        clock = time.perf_counter()
        caught: list = []
        grads, problem = run_vjp(backend, fn, inputs, cotangents, caught)
        if problem:
            outcomes += [Outcome(backend.name, "finding", "error", problem, warnings=caught),
                         Outcome(backend.name, "skipped", message="its VJP failed", mode="jvp")]
            continue
        reverse = Outcome(backend.name, "skipped", message=note, grads=grads, warnings=caught)
        outcomes.append(reverse)
        ts, problem = run_jvp(backend, fn, inputs, tangents, caught)
        seconds[f"identity {backend.name}"] += time.perf_counter() - clock
        if problem:
            outcomes.append(Outcome(backend.name, "finding", "error", problem, warnings=caught, mode="jvp"))
            continue
        forward = _verdict(backend.name, live, grads, ts, vs, ws, allowed, caught)
        if forward.status == "pass":  # both modes hold together: the VJP passes the identity too (coverage counts it)
            reverse.status = "pass"
        outcomes.append(forward)
    if "hvp" in modes:
        clock = time.perf_counter()
        outcomes += _symmetry(fn, live, inputs, cotangents, tangents, backends, exact, seconds)
        seconds["identity hvp"] += time.perf_counter() - clock
    return ExampleResult(None, "regular", outcomes, seconds=seconds, function=live)


def _symmetry(fn: Function, live: Function, inputs, cotangents, us, backends, exact, seconds) -> list:
    """Each backend's H_v·u and H_v·w (every method it has) against the symmetry of H_v (:func:`check_identities`)."""
    from .backends.contract import hvp_methods_of
    from .check import Outcome
    from .second_order import HVPReference, _tape_hvp, run_hvp

    ws = second_direction(live)
    tols = []
    for d in (us, ws):
        tape = _tape_hvp(live, inputs, cotangents, d)[1]
        stand_in = SimpleNamespace(hvps=tape, errors=[np.zeros(np.shape(h)) for h in tape], hvps_mp=None,
                                   errors_mp=None)
        tols.append(HVPReference(live, inputs, cotangents, d, stand_in, exact).tolerances)
    uf, wf = ([np.asarray(x, np.float64) for x in d] for d in (us, ws))
    allowed = sum(float(np.sum(np.abs(w) * t)) for w, t in zip(wf, tols[0])) + \
        sum(float(np.sum(np.abs(u) * t)) for u, t in zip(uf, tols[1]))
    outcomes = []
    for backend in backends:
        why = supports_mode(backend, fn, "hvp")
        if why:
            outcomes.append(Outcome(backend.name, "unsupported", message=why, mode="hvp"))
            continue
        caught: list = []
        verdict = None
        for method in hvp_methods_of(backend):
            along_u, problem = run_hvp(backend, fn, inputs, cotangents, us, method, caught)
            along_w, problem_w = (None, None) if problem else run_hvp(backend, fn, inputs, cotangents, ws, method,
                                                                     caught)
            if problem or problem_w:
                verdict = Outcome(backend.name, "finding", "error", f"{method}: {problem or problem_w}",
                                  warnings=caught, mode="hvp")
                break
            verdict = _symmetric(backend.name, method, along_u, along_w, uf, wf, allowed, caught)
            if verdict.status == "finding":
                break
        outcomes.append(verdict)
    return outcomes


def _two_sides(left_terms, right_terms, allowed: float):
    """The two sides of an identity from their terms, compared within ``allowed`` plus the rounding of the two sums:
    ``(left, right, |difference|, tolerance, ratio, kind)``, kind None (they agree), ``wrong-value`` or ``nan-inf``
    (one side NaN or inf and the other not)."""
    with np.errstate(all="ignore"):
        left = math.fsum(float(x) for a in left_terms for x in np.reshape(a, -1))
        right = math.fsum(float(x) for a in right_terms for x in np.reshape(a, -1))
        size = sum(float(np.sum(np.abs(a))) for a in left_terms + right_terms)
    n = sum(np.size(a) for a in left_terms + right_terms)
    tol = allowed + 2 * n * unit_roundoff("float64") * size
    if math.isfinite(left) and math.isfinite(right):
        err = abs(left - right)
        ratio = 0.0 if err == 0 else (err / tol if tol > 0 else math.inf)
        kind = None if err <= tol else "wrong-value"
    elif left == right:  # the same infinity on both sides: nothing to tell them apart by
        err, ratio, kind = 0.0, 0.0, None
    else:
        err, ratio, kind = math.inf, math.inf, "nan-inf"
    return left, right, err, tol, ratio, kind


def _outcome(name, mode, values, caught, sides, message):
    """The identity's outcome on the ``mode`` row (``message(left, right, err, tol, ratio)`` where it fails)."""
    from .check import Outcome

    left, right, err, tol, ratio, kind = sides
    outcome = Outcome(name, "pass", grads=[np.asarray(t) for t in values], warnings=caught, mode=mode)
    outcome.comparison = Comparison(kind is None, kind, ratio, None, [np.array([err])], [np.array([tol])])
    if kind is not None:
        outcome.status, outcome.kind = "finding", kind
        outcome.message = message(left, right, err, tol, ratio)
    return outcome


def _verdict(name, fn: Function, grads, ts, vs, ws, allowed: float, caught):
    with np.errstate(all="ignore"):
        left_terms = [np.asarray(v) * np.asarray(t, np.float64) for v, t in zip(vs, ts)]
        right_terms = [np.asarray(g, np.float64) * w for g, w in zip(grads, ws)]
    sides = _two_sides(left_terms, right_terms, allowed)
    return _outcome(name, "jvp", ts, caught, sides, lambda left, right, err, tol, ratio: (
        f"the identity {IDENTITY} fails between {name}'s own JVP and VJP: <v, J·w> = {left!r}, <Jᵀv, w> = {right!r}, "
        f"|difference| {err:.3g} > tolerance {tol:.3g} ({ratio:.3g}× it; no oracle: identity mode)"))


def _symmetric(name, method, hu, hw, us, ws, allowed, caught):
    with np.errstate(all="ignore"):
        left_terms = [np.asarray(h, np.float64) * w for h, w in zip(hu, ws)]
        right_terms = [np.asarray(h, np.float64) * u for h, u in zip(hw, us)]
    sides = _two_sides(left_terms, right_terms, allowed)
    return _outcome(name, "hvp", hu, caught, sides, lambda left, right, err, tol, ratio: (
        f"the symmetry {SYMMETRY} of the Hessian fails in {name}'s {method} products: <w, H_v·u> = {left!r}, "
        f"<u, H_v·w> = {right!r}, |difference| {err:.3g} > tolerance {tol:.3g} ({ratio:.3g}× it; no oracle: "
        "identity mode)"))
