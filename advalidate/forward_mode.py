"""Forward mode: a backend's JVP ``J·w`` judged against the oracle's, under the error model of reverse mode.

For each output component k the tolerance is the VJP's (:mod:`advalidate.errormodel`), read forward:

    tol_k = oracle_error_k + max(K·(n + 1)·u·scale_k + S·min(sens_k, sqrt(u)·scale_k), floor_k)

- ``scale_k``: what was summed to make (J·w)_k, in absolute values: ``(|J_L| ... |J_1| |w|)_k``, the tangent
  pushed forward through the absolute value of every local Jacobian (:func:`forward_scale`), never less than
  the oracle's |(J·w)_k|. A node's ``|J_j|·|t_j|`` comes from its registration's magnitude rules (the rules of
  ``|J|^T |v|`` the VJP's scale uses), row by row: an elementwise or broadcasting node's local Jacobian is
  diagonal and one call of the rule gives it; any other node's is read one output entry at a time.
- ``sens_k``: how far the reference tape's float JVP moves when every forward value is rounded differently (the
  perturbation of :func:`advalidate.errormodel.sensitivity`, twice).
- ``floor_k``: ``tiny`` plus ``tiny`` in every intermediate tangent whose exact size is below ``tiny`` (a forward
  pass holds each node's tangent as a float: below the normal range it is lost), carried to the outputs through
  the absolute local Jacobians, as :func:`advalidate.errormodel.underflow_floor` does backward.

A miss is classified as for the VJP: ``nan-inf`` (NaN or inf where the oracle is finite), ``precision-loss`` (the
reference JVP rules miss too in the dtype and agree with the oracle at high precision: right formulas, lost
digits), ``wrong-value`` otherwise. The point's verdict (domain, overflow, ill-conditioned) is the example's,
decided once for every mode (:func:`advalidate.check.check_example`); where the forward pass rounds so differently
that the reference JVP moves by more than ``sqrt(u)·scale`` while an output moves by more than sqrt(u) of itself,
no JVP is judged either (``ill-conditioned``, said in the outcome).

The cost bound is reverse mode's: ``work(f + JVP) <= ω·work(f) + slack``, with the forward run once (a forward
mode that re-runs f per input, as a finite-difference Jacobian would, fails it).
"""

from __future__ import annotations


import mpmath
import numpy as np

from . import primitives
from .backends import numpy_ref
from .backends.contract import NotCounted
from .errormodel import (AGREEMENT_BITS, FLOAT_FAILURES, MAGNITUDE_RULES, S, Comparison, _float_values, _perturber,
                         component_errors, exact_precision, rounding_bound, unit_roundoff)
from .evaluate import to_mp
from .ir import Function

__all__ = ["JVPReference", "forward_scale", "tangent_magnitudes", "compare_jvp", "compare_components", "lost_digits",
           "unrepresentable", "run_jvp", "DIAGONAL_FAMILIES"]

DIAGONAL_FAMILIES = ("elementwise", "binary")  # each result entry reads one entry of each (broadcast) operand


def _parts(prim, g, ans, args, params):
    rules = MAGNITUDE_RULES[prim.name]
    if callable(rules):
        return list(rules(g, ans, *args, **params))
    return [None if r is None else r(g, ans, *args, **params) for r in rules]


def _local(prim, params, ans, args, sizes) -> np.ndarray:
    """``Σ_j |J_j|·sizes_j`` for one node, per entry of its result (float64): ``sizes`` are nonnegative arrays of
    the operands' shapes, ``|J_j|`` the absolute local Jacobian of operand j (its magnitude rules)."""
    shape = np.shape(ans)
    out = np.zeros(shape)
    live = [j for j, t in enumerate(sizes) if np.any(t != 0)]
    if not live:
        return out
    if prim.family in DIAGONAL_FAMILIES:
        parts = _parts(prim, np.ones(shape), ans, args, params)
        for j in live:
            if parts[j] is not None:
                out = out + np.broadcast_to(np.asarray(parts[j], np.float64), shape) * np.broadcast_to(sizes[j], shape)
        return out
    flat = out.reshape(-1)
    for e in range(flat.size):
        g = np.zeros(shape)
        g.reshape(-1)[e] = 1.0
        parts = _parts(prim, g, ans, args, params)
        flat[e] = sum(float(np.sum(numpy_ref.unbroadcast(np.asarray(parts[j], np.float64), np.shape(args[j]))
                                   * sizes[j])) for j in live if parts[j] is not None)
    return flat.reshape(shape)


def forward_scale(fn: Function, values: dict, tangents) -> tuple[list, list]:
    """``(scale, floor)`` per output: ``|J_L| ... |J_1| |w|`` and the underflow floor (module docstring), from float64
    ``values`` of every node. The tangent sizes are also pushed forward scaled by 2^600 (the pass is linear in
    them), so that a tangent below ``tiny`` is told from an exact 0 far below float64's range. The scale is float64's:
    where it overflows (a tangent past 1e308 on the way) it is inf, and so is that component's tolerance (the VJP's
    scale falls back on an exact run there: :func:`advalidate.errormodel.magnitude`; forward mode's does not yet)."""
    tiny = float(np.finfo(fn.dtype).tiny)
    lift = 2.0 ** 600
    mags = {n: np.abs(np.asarray(w, np.float64)) for n, w in zip(fn.input_names, tangents)}
    lifted = {n: m * lift for n, m in mags.items()}
    floors = {n: np.zeros(s) for n, s in zip(fn.input_names, fn.inputs)}
    with np.errstate(all="ignore"):
        for name, node in fn.named_nodes():
            prim = primitives.get(node.prim)
            params = prim.check_params(node.kwargs)
            ans, args = values[name], [values[a] for a in node.args]
            mags[name] = _local(prim, params, ans, args, [mags[a] for a in node.args])
            lifted[name] = _local(prim, params, ans, args, [lifted[a] for a in node.args])
            small = (lifted[name] > 0) & (lifted[name] < tiny * lift)  # a tangent no float holds
            carried = _local(prim, params, ans, args, [floors[a] for a in node.args])
            floors[name] = np.where(np.isfinite(carried), carried, 0.0) + np.where(small, tiny, 0.0)
    return [mags[o] for o in fn.outputs], [tiny + floors[o] for o in fn.outputs]


def tangent_magnitudes(fn: Function, values: dict, tangents) -> dict:
    """``|J_j| ... |J_1| |w|`` for every value of ``fn`` by name (inputs included): the magnitude of each node's tangent
    (:func:`forward_scale`'s scale, at every node), from float64 ``values``. Second order's error model starts from
    it (:mod:`advalidate.second_order`)."""
    mags = {n: np.abs(np.asarray(w, np.float64)) for n, w in zip(fn.input_names, tangents)}
    with np.errstate(all="ignore"):
        for name, node in fn.named_nodes():
            prim = primitives.get(node.prim)
            mags[name] = _local(prim, prim.check_params(node.kwargs), values[name], [values[a] for a in node.args],
                                [mags[a] for a in node.args])
    return mags


def _tape_jvp(fn: Function, inputs, tangents, perturb=None):
    """The reference tape's float JVP (outputs, tangents), its forward values moved by ``perturb`` when given; NaN
    where the float tape fails (:data:`advalidate.errormodel.FLOAT_FAILURES`)."""
    try:
        with np.errstate(all="ignore"):
            values = numpy_ref.forward(fn, inputs, perturb)
            ts = numpy_ref.tangents(fn, values, tangents)
        return ([np.asarray(numpy_ref.counting.unwrap(values[o]), np.float64) for o in fn.outputs],
                [np.asarray(numpy_ref.counting.unwrap(ts[o]), np.float64) for o in fn.outputs])
    except FLOAT_FAILURES:
        return ([np.full(s, np.nan) for s in fn.output_shapes], [np.full(s, np.nan) for s in fn.output_shapes])


class JVPReference:
    """What every backend's JVP on one example is judged against, computed once and shared: the tolerances, the
    reference tape's float JVP and, for a miss, its high-precision run. ``oracle``: the example's
    :class:`~advalidate.oracle.OracleJVP`; ``exact``: the oracle's high-precision trace of f (by name)."""

    def __init__(self, fn: Function, inputs, tangents, oracle, exact: dict):
        self.fn, self.inputs, self.tangents, self.oracle, self.exact_trace = fn, inputs, tangents, oracle, exact
        self._exact_run = False
        self.tape_outputs, self.tape = _tape_jvp(fn, inputs, tangents)
        self._build()

    def _build(self):
        fn, o = self.fn, self.oracle
        u = unit_roundoff(fn.dtype)
        scale, floors = forward_scale(fn, _float_values(self.exact_trace), self.tangents)
        rng = np.random.default_rng(0)
        base_out = self.tape_outputs
        sens = [np.zeros(s) for s in fn.output_shapes]
        moved = False
        for _ in range(2):
            outs, ts = _tape_jvp(fn, self.inputs, self.tangents, _perturber(rng))
            with np.errstate(all="ignore"):
                sens = [np.maximum(se, np.abs(t - b)) for se, t, b in zip(sens, ts, self.tape)]
                for a, b in zip(outs, base_out):
                    rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(fn.dtype).tiny)
                    moved = moved or bool(np.any(np.isfinite(rel) & (rel > np.sqrt(u))))
        sens = [np.where(np.isfinite(se), se, np.inf) for se in sens]
        self.scale = [np.maximum(s, np.abs(t)) for s, t in zip(scale, o.tangents)]
        n = len(fn.nodes)
        self.tolerances = [e + np.maximum(rounding_bound(n, fn.dtype, s) + S * np.minimum(se, np.sqrt(u) * s), fl)
                           for e, s, se, fl in zip(o.errors, self.scale, sens, floors)]
        jumpy = any(np.any((se > np.sqrt(u) * s) | (np.isinf(se) & np.isinf(s))) for se, s in zip(sens, self.scale))
        self.unjudgeable = ("an output moves by more than sqrt(u) of itself when the forward pass rounds differently, "
                            f"and the reference JVP with it: f is ill-conditioned here in {fn.dtype}"
                            if moved and jumpy else "") or self._unrepresentable()

    def _unrepresentable(self) -> str:
        """:func:`unrepresentable` for the tape's J·w."""
        return unrepresentable(self.tape, self.oracle.tangents, self.fn.dtype,
                               lambda prec: numpy_ref.mp_jvp(self.fn, self.inputs, self.tangents, prec)[1], "JVP")

    @property
    def exact(self):
        """The reference JVP rules at :func:`advalidate.errormodel.exact_precision` (tangent per output, object
        arrays), or None where a formula divides by an exact zero."""
        if self._exact_run is False:
            try:
                self._exact_run = numpy_ref.mp_jvp(self.fn, self.inputs, self.tangents, exact_precision(self.fn.dtype))[1]
            except ZeroDivisionError:
                self._exact_run = None
        return self._exact_run


def compare_components(reference, values, exact, exact_mp) -> Comparison:
    """A backend's arrays (``values``: J·w per output, or H_v·u per input) against the oracle's (``exact``, float64,
    and ``exact_mp``), under ``reference.tolerances``, component by component; a miss is ``nan-inf``,
    ``precision-loss`` (:func:`lost_digits`) or ``wrong-value``. Forward mode and second order share it."""
    errors, bads, ratio, worst, nonfinite = component_errors(values, exact, reference.tolerances, reference.fn.dtype)
    kind = None
    if nonfinite:
        kind = "nan-inf"
    elif any(np.any(b) for b in bads):
        kind = "precision-loss" if lost_digits(reference, bads, exact, exact_mp) else "wrong-value"
    return Comparison(kind is None, kind, ratio, worst, errors, reference.tolerances)


def compare_jvp(reference: JVPReference, tangents) -> Comparison:
    """Compare a backend's output tangents with the oracle's, component by component."""
    return compare_components(reference, tangents, reference.oracle.tangents, reference.oracle.tangents_mp)


def lost_digits(reference, bads, exact, exact_mp) -> bool:
    """On every component the backend misses, the reference tape misses too in the dtype (``reference.tape``) and its
    rules at high precision (``reference.exact``) agree with the oracle (to its bound, ``reference.oracle.errors_mp``,
    plus 2^-100 of the scale): right formulas, lost digits."""
    tols = reference.tolerances
    for r, ot, t, bad in zip(reference.tape, exact, tols, bads):
        with np.errstate(all="ignore"):
            if not np.all(np.abs(np.asarray(r, np.float64) - ot)[bad] > t[bad]):
                return False
    high = reference.exact
    if high is None:
        return False
    margin = mpmath.ldexp(1, -AGREEMENT_BITS)
    with mpmath.workprec(exact_precision(reference.fn.dtype)):
        for g, om, em, sc, bad in zip(high, exact_mp, reference.oracle.errors_mp, reference.scale, bads):
            for miss, gi, oi, ei, si in zip(np.reshape(bad, -1), np.reshape(g, -1), np.reshape(om, -1),
                                            np.reshape(em, -1), np.reshape(sc, -1)):
                if miss and not abs(gi - oi) <= ei + margin * max(mpmath.mpf(float(si)), abs(oi)):
                    return False
    return True


def unrepresentable(tape, exact, dtype: str, ranged, what: str) -> str:
    """Why no float pass can return this derivative (``what``: "JVP", "HVP"), or "": the tape's float result is NaN
    or inf on a component whose exact value (``exact``) is finite in the dtype, while the same rules at the dtype's
    precision with an unbounded exponent (``ranged(prec)``, mpmath) are finite there: only the range failed, on a
    term inside a rule (qr_q of a 1×1 subnormal matrix: Q = 1, J·w = 0, but the rule's w/R is 1.5e315 in float64 and
    inf·0 is NaN). The VJP's counterpart is :func:`advalidate.errormodel.unrepresentable`."""
    big = float(np.finfo(dtype).max)
    bad = [~np.isfinite(t) & (np.abs(o) <= big) for t, o in zip(tape, exact)]
    if not any(np.any(b) for b in bad):
        return ""
    try:
        high = ranged(int(np.finfo(dtype).nmant) + 1)
    except (ZeroDivisionError, ValueError, TypeError):
        return ""
    for b, r in zip(bad, high):
        values = np.asarray(r, dtype=object).reshape(-1)
        if not all(mpmath.isfinite(v) for v, on in zip(values, np.reshape(b, -1)) if on):
            return ""
    return (f"the reference {what} is NaN or inf in {dtype} where it is finite exactly, and its rules are finite at "
            f"{dtype}'s precision without its exponent range: a term of the pass overflows the dtype, so no float "
            f"pass can return this {what}")


def _validate(fn: Function, result) -> str | None:
    """A message naming what is wrong with a backend's returned JVP (one tangent per output), or None."""
    from .check import check_arrays

    return check_arrays(getattr(result, "tangents", None), fn.output_shapes, fn.dtype, "output tangent",
                        lambda k: "outputs" if k is None else f"output {fn.outputs[k]}")


def run_jvp(backend, fn: Function, inputs, tangents, caught: list | None = None):
    """``backend.jvp`` called defensively (:func:`advalidate.check.call_backend`, as ``vjp`` is): (output tangents,
    None) or (None, a message naming the failure); warnings go to ``caught``."""
    from .check import call_backend

    result, problem = call_backend(backend.jvp, fn, inputs, tangents, _validate, caught)
    return (None, problem) if problem else ([np.asarray(t) for t in result.tangents], None)


def jvp_job(backend, fn: Function, inputs, tangents, measure_work: bool, after=None):
    """A backend's JVP (and its work, when asked) in a thread of its own (:class:`advalidate.check._Job`), started
    with the VJP's jobs before the oracle runs, after the same backend's VJP job (``after``); the verdict is made later,
    in :func:`judge`, from the same JVP and work the backend would have returned in the calling thread."""
    from .check import _Job

    count = (lambda caught: backend.jvp_work(fn, inputs, tangents)) \
        if measure_work and callable(getattr(backend, "jvp_work", None)) else None
    return _Job(backend, lambda caught: run_jvp(backend, fn, inputs, tangents, caught), count, label="jvp",
                work_label="work jvp", after=after)


def judge(fn: Function, live: Function, inputs, tangents, backends, oracle, measure_work: bool, omega: float, point: str,
          kink: str, why_not: dict, seconds, lap, jobs: dict | None = None) -> tuple:
    """Every backend's JVP on one example: ``(the oracle's OracleJVP or None, outcomes with mode "jvp")``. Called by
    :func:`advalidate.check.check_example` once the point is known to be regular or a kink (the verdicts on the point
    are shared with reverse mode). ``why_not``: each backend's reason it cannot run ``fn`` (None: it can); ``jobs``:
    the job (:func:`jvp_job`) of each backend started in a thread of its own (the others run here)."""
    from .backends.contract import supports_mode
    from .check import Outcome, counted_elsewhere, program_omega
    from .cost import check_bound
    from .errors import DomainError, KinkError
    from .evaluate import trace

    jobs = jobs or {}

    def outcome(backend, status, message="", **kw):
        return Outcome(backend.name, status, message=message, mode="jvp", **kw)

    why_not = {b.name: why_not[b.name] or supports_mode(b, fn, "jvp") for b in backends}
    able = [b for b in backends if not why_not[b.name]]
    skip = ""
    if point == "kink":
        skip = (f"at a kink of {kink}: forward mode is judged at regular points only (the one-sided J·w are not "
                "computed)")
    ref = jvp_oracle = None
    if not skip and able:
        try:
            jvp_oracle = oracle.jvp(live, inputs, tangents)
            with mpmath.workprec(oracle.prec):
                exact = trace(live, [to_mp(x) for x in inputs], "mp")
            ref = JVPReference(live, inputs, tangents, jvp_oracle, exact)
            skip = ref.unjudgeable
        except (DomainError, KinkError) as e:  # a step of the oracle left the domain
            skip = str(e)
        lap("oracle jvp")
    outcomes = []
    for backend in backends:
        if why_not[backend.name]:
            outcomes.append(outcome(backend, "unsupported", why_not[backend.name]))
            continue
        if skip:
            outcomes.append(outcome(backend, "skipped", skip))
            continue
        job = jobs.get(backend.name)
        if job is not None:
            job.result()
            lap("waiting")
            seconds.update(job.seconds)
            tangents_out, problem, caught = job.values, job.problem, job.warnings
        else:
            caught: list = []
            tangents_out, problem = run_jvp(backend, fn, inputs, tangents, caught)
            lap(f"jvp {backend.name}")
        if problem:
            outcomes.append(outcome(backend, "finding", problem, kind="error", warnings=caught))
            continue
        result = outcome(backend, "pass", grads=tangents_out, warnings=caught)
        result.comparison = compare_jvp(ref, tangents_out)
        lap("error model jvp")
        if not result.comparison.ok:
            result.status, result.kind = "finding", result.comparison.kind
            result.message = f"J·w: error {result.comparison.ratio:.3g}× the tolerance"
            flushed = _flushed_inputs(backend, fn, inputs, tangents, tangents_out)
            if flushed:
                from .check import FLUSH_TO_ZERO

                result.tag, result.message = FLUSH_TO_ZERO, f"{flushed}: {result.message}"
        elif measure_work and callable(getattr(backend, "jvp_work", None)):
            failure = work = None
            if job is not None:
                work, failure = job.work, job.work_error
            else:
                try:
                    work = backend.jvp_work(fn, inputs, tangents)
                except Exception as e:  # noqa: BLE001  a backend's failure is a finding
                    failure = e
            if isinstance(failure, NotCounted):
                result.not_counted = str(failure) or "not counted"
            elif failure is not None or work is None:
                result.status, result.kind = "finding", "error"
                result.message = f"JVP work counting failed: {type(failure).__name__}: {failure}"
            elif counted_elsewhere(work, tangents_out):
                result.status, result.kind, result.message = "finding", "error", counted_elsewhere(work, tangents_out)
            else:
                result.work = work
                # a forward that is pure data movement costs 0 while its JVP still reads w and writes J·w; otherwise
                # a view or a gather moves the tangent as it moves the value, at no cost either
                io = 0 if work.forward else sum(np.size(w) for w in tangents) + sum(
                    int(np.prod(s)) for s in fn.output_shapes)
                verdict = check_bound(work, program_omega(fn, omega), io=io)
                if not verdict.ok:
                    result.status, result.kind = "finding", "cost-bound"
                    result.message = "forward mode: " + verdict.message.replace("VJP", "JVP").replace(
                        "reverse mode runs it once", "forward mode runs it once")
            lap(f"work jvp {backend.name}")
        outcomes.append(result)
    for job in jobs.values():  # none is left running into the next example (a skipped point's included)
        job.result()
    if ref is not None:
        _cross_check(live, ref, outcomes)
    return jvp_oracle, outcomes


def _flushed_inputs(backend, fn: Function, inputs, tangents, got) -> str | None:
    """Whether the backend's JVP is what flushing its subnormal inputs to zero gives (the sentence saying so, or
    None): its JVP at the inputs with the subnormal ones replaced by signed zeros is its JVP bit for bit, while the
    reference tape (IEEE arithmetic, no flushing) tells the two points apart. Forward mode's counterpart of
    :func:`advalidate.check._flushed_inputs`."""
    from .check import _element_name, _subnormal

    if not any(np.any(_subnormal(x, fn.dtype)) for x in inputs):
        return None
    flushed = [np.where(_subnormal(x, fn.dtype), np.copysign(np.zeros_like(x), x), x).astype(np.asarray(x).dtype)
               for x in inputs]
    again, problem = run_jvp(backend, fn, flushed, tangents)
    if problem or not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(again, got)):
        return None
    at_x, at_zero = _tape_jvp(fn, inputs, tangents)[1], _tape_jvp(fn, flushed, tangents)[1]
    if all(np.array_equal(a, b, equal_nan=True) for a, b in zip(at_x, at_zero)):
        return None  # flushing changes nothing IEEE arithmetic computes: it explains nothing
    where = [(i, idx) for i, x in enumerate(inputs) for idx in np.ndindex(np.shape(x)) if _subnormal(x, fn.dtype)[idx]]
    named = ", ".join(f"{_element_name(i, tuple(int(j) for j in idx))} = {float(np.asarray(inputs[i])[idx]):.3g}"
                      for i, idx in where)
    one = len(where) == 1
    return (f"input{'' if one else 's'} {named} {'is' if one else 'are'} subnormal in {fn.dtype}; {backend.name} "
            f"flushes {'it' if one else 'them'} to zero (its JVP equals the JVP at zero)")


def _cross_check(fn: Function, ref: JVPReference, outcomes) -> None:
    """Record which backends' JVPs agree with each other: component by component within twice the rounding term
    of the tolerance (each may be that far from the truth); identical values (NaN and inf included) agree."""
    done = [o for o in outcomes if o.grads is not None]
    n = len(fn.nodes)
    for a in done:
        for b in done:
            if a is b:
                continue
            close = True
            with np.errstate(all="ignore"):
                for x, y, s in zip(a.grads, b.grads, ref.scale):
                    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
                    same = (x == y) | (np.isnan(x) & np.isnan(y))
                    near = np.abs(x - y) <= rounding_bound(n, fn.dtype, np.fmax(s, np.fmax(np.abs(x), np.abs(y))),
                                                           factor=2)
                    close = close and bool(np.all(same | near))
            if close:
                a.agrees_with.append(b.backend)
