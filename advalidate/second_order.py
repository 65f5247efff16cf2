"""Second order: a backend's Hessian-vector products ``H_v·u`` judged against the oracle's.

``H_v·u`` is the derivative along u of the VJP ``Jᵀv`` (the Hessian of ``vᵀf`` times u). The oracle computes it by
mixed second differences at high precision (:meth:`advalidate.oracle.Oracle.hvp`); the reference tape computes it
forward-over-reverse by running its own VJP rules on dual numbers (:mod:`advalidate.dual`,
:func:`advalidate.backends.numpy_ref.dual_backward`). A backend may compute it in several ways
(``hvp_methods``: forward-over-reverse, reverse-over-reverse); each is judged, and the outcome names the one that
fails.

The error model, component i of input j:

    tol = oracle_error + max(K·(n + 1)·u·scale + S·min(sens, sqrt(u)·scale), floor)

- ``scale``: the magnitude of the computation of ``(H_v·u)_i`` (running error analysis, Higham ch. 3): the
  reference tape's forward-over-reverse pass run on the exact forward values with every term added in absolute
  value, the rounding of each intermediate carried through its derivative (a dual's ``B``: the rules in
  :mod:`advalidate.dual`); the tangents of the forward values enter with their own magnitude ``|J|·|u|``
  (:func:`advalidate.forward_mode.tangent_magnitudes`), the cotangents exact. It plays the part of ``|J|ᵀ|v|``
  in reverse mode, and like it is never less than ``|H_v·u|``. For a straight-line program of sums and products a
  float evaluation is within ``γ_k·scale`` of the exact value of the same formulas (k the depth), the bound the
  rounding term takes with reverse mode's constant K and the program's node count.
- ``sens``: how far the tape's float HVP moves when every forward value is rounded differently (twice), as for
  the VJP and the JVP.
- ``floor``: ``K·(n + 1)·tiny``: what the result may lose below the dtype's normal range, absolutely; an intermediate
  below it adds ``tiny`` to its own magnitude, carried by the later operations (:func:`advalidate.dual.underflow`).

Classification as in the other modes: ``nan-inf``, ``precision-loss`` (the reference tape's float HVP misses too,
and the same rules at high precision, :func:`advalidate.backends.numpy_ref.mp_hvp`, agree with the oracle),
``wrong-value``. The point's verdict is the example's; at a kink no HVP is judged (the second derivative is not
defined there), and where the forward pass rounds so differently that the reference moves by more than
``sqrt(u)·scale`` while an output moves by more than sqrt(u) of itself, neither (``ill-conditioned``).

Cost. Forward-over-reverse is forward mode applied to the VJP's program, and both first-order modes are held to the
same bound, ``work ≤ ω·work(program) + s`` (reverse mode for f; forward mode for any program, the VJP's included:
Griewank and Walther, *Evaluating Derivatives*, 2nd ed., ch. 3-4, bound tangents and adjoints alike by small
constants). Composed: ``work(f + HVP) ≤ ω·(ω·work(f) + s) + s = ω²·work(f) + (ω + 1)·s``: ω₂ = ω² (25 for the default
ω = 5) and slack (ω + 1)·s, with the forward run once. Reverse-over-reverse, the VJP of the VJP's program along u, is
held to the same bound. The bound is flat in the number of inputs: a Hessian built column by column (a pass per
input entry) grows with it and fails, and its extra forward passes fail it at once.
"""

from __future__ import annotations


import mpmath
import numpy as np

from . import dual
from .backends import numpy_ref
from .backends.contract import NotCounted
from .errormodel import FLOAT_FAILURES, K, S, _float_values, _perturber, exact_precision, rounding_bound, unit_roundoff
from .forward_mode import compare_components, unrepresentable
from .evaluate import to_mp
from .ir import Function

__all__ = ["HVPReference", "compare_hvp", "run_hvp", "judge", "hvp_job", "hvp_omega", "hvp_slack"]


def hvp_omega(omega: float) -> float:
    """The second-order cost bound's ω₂ = ω² for a program whose first-order modes are held to ``omega`` (module
    docstring)."""
    return omega * omega


def hvp_slack(omega: float, slack: float | None = None) -> float:
    """The second-order slack, ``(ω + 1)·s`` for the first-order slack s (:data:`advalidate.cost.SLACK`)."""
    from .cost import SLACK

    return (omega + 1) * (SLACK if slack is None else slack)


def _tape_hvp(fn: Function, inputs, cotangents, directions, perturb=None, magnitudes=None):
    """The reference tape's float HVP: (outputs, H_v·u per input, their magnitudes B per input), its forward values
    moved by ``perturb`` when given; NaN where the float tape fails."""
    try:
        with np.errstate(all="ignore"):
            values = numpy_ref.forward(fn, inputs, perturb)
            ts = numpy_ref.tangents(fn, values, directions)
            out = numpy_ref.dual_backward(fn, values, ts, cotangents, magnitudes=magnitudes)
        return ([np.asarray(numpy_ref.counting.unwrap(values[o]), np.float64) for o in fn.outputs],
                [np.asarray(dual.tangents_of(g, np.float64)) for g in out],
                [np.asarray(dual.magnitudes_of(g, np.float64)) for g in out])
    except FLOAT_FAILURES:
        nan = [np.full(s, np.nan) for s in fn.inputs]
        return [np.full(s, np.nan) for s in fn.output_shapes], nan, [n.copy() for n in nan]


def _scale(fn: Function, exact_values: dict, cotangents, directions) -> list:
    """The magnitude B of each component of H_v·u (module docstring), in float64, from the exact forward values."""
    from .forward_mode import tangent_magnitudes

    values = {n: np.asarray(v, np.float64) for n, v in exact_values.items()}
    with np.errstate(all="ignore"), dual.underflow(float(np.finfo(fn.dtype).tiny)):
        ts = numpy_ref.tangents(fn, values, [np.asarray(u, np.float64) for u in directions], dtype=np.float64)
        mags = tangent_magnitudes(fn, values, directions)
        out = numpy_ref.dual_backward(fn, values, ts, [np.asarray(v, np.float64) for v in cotangents],
                                      number=np.float64, magnitudes=mags)
    return [np.where(np.isnan(b := np.asarray(dual.magnitudes_of(g, np.float64))), np.inf, b) for g in out]


class HVPReference:
    """What every backend's HVP on one example is judged against (shared, as :class:`advalidate.forward_mode.
    JVPReference`): the tolerances, the tape's float HVP and, for a miss, its high-precision run."""

    def __init__(self, fn: Function, inputs, cotangents, directions, oracle, exact: dict):
        self.fn, self.inputs, self.cotangents, self.directions = fn, inputs, cotangents, directions
        self.oracle, self.exact_trace = oracle, exact
        self._exact_run = False
        self.tape_outputs, self.tape, _ = _tape_hvp(fn, inputs, cotangents, directions)
        self._build()

    def _build(self):
        fn, o = self.fn, self.oracle
        u = unit_roundoff(fn.dtype)
        try:
            scale = _scale(fn, _float_values(self.exact_trace), self.cotangents, self.directions)
        except FLOAT_FAILURES:
            scale = [np.full(s, np.inf) for s in fn.inputs]
        rng = np.random.default_rng(0)
        sens = [np.zeros(s) for s in fn.inputs]
        moved = False
        for _ in range(2):
            outs, hs, _ = _tape_hvp(fn, self.inputs, self.cotangents, self.directions, _perturber(rng))
            with np.errstate(all="ignore"):
                sens = [np.maximum(se, np.abs(h - b)) for se, h, b in zip(sens, hs, self.tape)]
                for a, b in zip(outs, self.tape_outputs):
                    rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(fn.dtype).tiny)
                    moved = moved or bool(np.any(np.isfinite(rel) & (rel > np.sqrt(u))))
        sens = [np.where(np.isfinite(se), se, np.inf) for se in sens]
        self.scale = [np.maximum(s, np.abs(h)) for s, h in zip(scale, o.hvps)]
        n = len(fn.nodes)
        floor = K * (n + 1) * float(np.finfo(fn.dtype).tiny)
        self.tolerances = [e + np.maximum(rounding_bound(n, fn.dtype, s) + S * np.minimum(se, np.sqrt(u) * s), floor)
                           for e, s, se in zip(o.errors, self.scale, sens)]
        jumpy = any(np.any((se > np.sqrt(u) * s) | (np.isinf(se) & np.isinf(s))) for se, s in zip(sens, self.scale))
        self.unjudgeable = ("an output moves by more than sqrt(u) of itself when the forward pass rounds differently, "
                            f"and the reference HVP with it: f is ill-conditioned here in {fn.dtype}"
                            if moved and jumpy else "") or self._unrepresentable()

    def _unrepresentable(self) -> str:
        """:func:`advalidate.forward_mode.unrepresentable` for the tape's H_v·u."""
        return unrepresentable(self.tape, self.oracle.hvps, self.fn.dtype, lambda prec: numpy_ref.mp_hvp(
            self.fn, self.inputs, self.cotangents, self.directions, prec), "HVP")

    @property
    def exact(self):
        """The tape's forward-over-reverse at :func:`advalidate.errormodel.exact_precision`, or None where a formula
        divides by an exact zero."""
        if self._exact_run is False:
            try:
                self._exact_run = numpy_ref.mp_hvp(self.fn, self.inputs, self.cotangents, self.directions,
                                                   exact_precision(self.fn.dtype))
            except (ZeroDivisionError, TypeError, ValueError):
                self._exact_run = None
        return self._exact_run


def compare_hvp(reference: HVPReference, hvps):
    """Compare a backend's H_v·u with the oracle's, component by component
    (:func:`advalidate.forward_mode.compare_components`)."""
    return compare_components(reference, hvps, reference.oracle.hvps, reference.oracle.hvps_mp)


def _validate(fn: Function, result) -> str | None:
    from .check import check_arrays

    return check_arrays(getattr(result, "hvps", None), fn.inputs, fn.dtype, "Hessian-vector product",
                        lambda i: "inputs" if i is None else f"input x{i}")


def run_hvp(backend, fn: Function, inputs, cotangents, directions, method: str, caught: list | None = None):
    """``backend.hvp(..., method)`` called defensively (:func:`advalidate.check.call_backend`): (H_v·u per input,
    None) or (None, a message naming the failure)."""
    from .check import call_backend

    nv = len(cotangents)
    result, problem = call_backend(lambda f, xs, vecs: backend.hvp(f, xs, vecs[:nv], vecs[nv:], method), fn, inputs,
                                   [*cotangents, *directions], _validate, caught)
    return (None, problem) if problem else ([np.asarray(h) for h in result.hvps], None)


def _run_all(backend, fn, inputs, cotangents, directions, caught):
    from .backends.contract import hvp_methods_of

    return {m: run_hvp(backend, fn, inputs, cotangents, directions, m, caught) for m in hvp_methods_of(backend)}, None


def _work_all(backend, fn, inputs, cotangents, directions):
    from .backends.contract import hvp_methods_of

    out = {}
    for m in hvp_methods_of(backend):
        try:
            out[m] = backend.hvp_work(fn, inputs, cotangents, directions, m)
        except Exception as e:  # noqa: BLE001  a backend's failure is a finding
            out[m] = e
    return out


def hvp_job(backend, fn: Function, inputs, cotangents, directions, measure_work: bool, after=None):
    """A backend's HVPs, every method (and their work, when asked), in a thread of its own
    (:class:`advalidate.check._Job`), after the same backend's previous job (``after``)."""
    from .check import _Job

    count = (lambda caught: _work_all(backend, fn, inputs, cotangents, directions)) \
        if measure_work and callable(getattr(backend, "hvp_work", None)) else None
    return _Job(backend, lambda caught: _run_all(backend, fn, inputs, cotangents, directions, caught), count,
                label="hvp", work_label="work hvp", after=after)


def _no_reference(fn: Function) -> str:
    """Why the error model cannot judge second order on ``fn`` (its scale and classification are the reference tape's
    forward-over-reverse pass), or "": a primitive whose VJP rule does not run on dual numbers."""
    table = numpy_ref.NumpyReference().hvp_primitives
    missing = [p for p in fn.primitives_used if p not in table]
    return (f"the reference tape has no second order for {', '.join(missing)} (its VJP rule calls a float-only routine): "
            "no error model to judge H_v·u by" if missing else "")


def judge(fn: Function, live: Function, inputs, cotangents, directions, backends, oracle, measure_work: bool,
          omega: float, point: str, kink: str, why_not: dict, seconds, lap, jobs: dict | None = None) -> tuple:
    """Every backend's HVPs on one example: ``(the oracle's OracleHVP or None, outcomes with mode "hvp")``, as
    :func:`advalidate.forward_mode.judge` does for forward mode. A backend's outcome is its worst method's; the
    message names the method."""
    from .backends.contract import supports_mode
    from .check import Outcome
    from .errors import DomainError, KinkError
    from .evaluate import trace

    jobs = jobs or {}

    def outcome(backend, status, message="", **kw):
        return Outcome(backend.name, status, message=message, mode="hvp", **kw)

    why_not = {b.name: why_not[b.name] or supports_mode(b, fn, "hvp") for b in backends}
    able = [b for b in backends if not why_not[b.name]]
    skip = ""
    if point == "kink":
        skip = f"at a kink of {kink}: the second derivative is not defined there (second order is judged at regular points)"
    ref = hvp_oracle = None
    if not skip and able:
        skip = _no_reference(live)
    if not skip and able:
        try:
            hvp_oracle = oracle.hvp(live, inputs, cotangents, directions)
            with mpmath.workprec(oracle.prec):
                exact = trace(live, [to_mp(x) for x in inputs], "mp")
            ref = HVPReference(live, inputs, cotangents, directions, hvp_oracle, exact)
            skip = ref.unjudgeable
        except (DomainError, KinkError) as e:
            skip = str(e)
        lap("oracle hvp")
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
            per_method, caught, works = job.values, job.warnings, job.work
        else:
            caught = []
            per_method, _ = _run_all(backend, fn, inputs, cotangents, directions, caught)
            lap(f"hvp {backend.name}")
            works = None
        outcomes.append(_verdict(backend, fn, inputs, cotangents, directions, ref, per_method, caught, works,
                                 measure_work, omega, outcome))
        lap("error model hvp")
    for job in jobs.values():
        job.result()
    return hvp_oracle, outcomes


def _verdict(backend, fn, inputs, cotangents, directions, ref, per_method, caught, works, measure_work, omega,
             outcome):
    """One backend's outcome from its methods' HVPs: the first error, else the first miss, else the cost bound."""
    from .check import counted_elsewhere, program_omega
    from .cost import check_bound

    for method, (values, problem) in per_method.items():
        if problem:
            return outcome(backend, "finding", f"{method}: {problem}", kind="error", warnings=caught)
    passed = {}  # method -> its passing outcome
    for method, (values, _) in per_method.items():
        result = outcome(backend, "pass", grads=values, warnings=caught)
        result.comparison = compare_hvp(ref, values)
        if not result.comparison.ok:
            result.status, result.kind = "finding", result.comparison.kind
            result.message = f"H_v·u ({method}): error {result.comparison.ratio:.3g}× the tolerance"
            return result
        passed[method] = result
    if not passed:
        return outcome(backend, "unsupported", "no hvp method")
    first = next(iter(passed.values()))
    if measure_work and callable(getattr(backend, "hvp_work", None)):
        if works is None:
            works = _work_all(backend, fn, inputs, cotangents, directions)
        for method, work in works.items():
            # a finding on one method records that method's values (the message names it; its script computes it)
            found = passed.get(method, first)
            if isinstance(work, NotCounted):  # this method's cost is not measured for this program
                found.not_counted = str(work) or "not counted"
                continue
            if isinstance(work, Exception) or work is None:
                found.status, found.kind = "finding", "error"
                found.message = f"HVP work counting failed ({method}): {type(work).__name__}: {work}"
                return found
            if method in passed and counted_elsewhere(work, passed[method].grads):
                found.status, found.kind = "finding", "error"
                found.message = f"second order ({method}): {counted_elsewhere(work, passed[method].grads)}"
                return found
            io = 0 if work.forward else sum(np.size(x) for x in (*directions, *cotangents)) + sum(
                int(np.prod(s)) for s in fn.inputs)
            om = program_omega(fn, omega)
            verdict = check_bound(work, hvp_omega(om), slack=hvp_slack(om), io=io)
            first.work = first.work or work
            if not verdict.ok:
                found.status, found.kind = "finding", "cost-bound"
                found.message = f"second order ({method}): " + verdict.message.replace("VJP", "HVP").replace(
                    "reverse mode runs it once", "an HVP runs it once")
                found.work = work
                return found
    return first
