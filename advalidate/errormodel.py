"""The error model: is a backend's VJP right, up to the rounding its dtype allows?

For each component i of the VJP ``g = J^T v`` the tolerance is

    tol_i = oracle_error_i + max(K·(n + 1)·u·scale_i + S·min(sens_i, sqrt(u)·scale_i), floor_i)

Its rounding term ``K·(n + 1)·u·scale`` is :func:`rounding_bound`, the one formula every tolerance of advalidate
is built on: this comparison, the one-sided derivatives at kinks (``advalidate.check.kink_reference``), the
cross-check between backends (twice it: each may be that far from the truth), the flush-to-zero test, whether
the rounding can cross a kink, and the conformance checks' forward values (``advalidate.conformance.checks``).

- ``oracle_error_i``: the oracle's own error bound (~1e-38 relative at the defaults: negligible).
- ``u``: the unit roundoff of the backend's dtype (2^-53 for float64, 2^-24 for float32); ``n`` the number of
  nodes, bounding the depth of the program; K = 32.
- ``scale_i``: what was summed to make g_i, in absolute values, so that rounding noise around a result that
  cancelled (``a - a``) is judged against the size of what cancelled: ``(|v|^T |J_L| ... |J_1|)_i``, the VJP
  through the absolute values of every local Jacobian (``magnitude`` below, from the NumPy reference rules),
  and never less than |g_i| itself (a floor that holds where float64 underflows the product of factors).
- ``sens_i``: how far g_i moves when every value of the forward pass is rounded differently (the float
  reference tape rerun twice with every node value moved up or down at random by one ulp, or for sums and
  products of matrices by u times the sum of the magnitudes of their terms): the conditioning of
  evaluating f and its derivative formulas in floating point. It excuses at most half the digits:
  ``min(sens_i, sqrt(u)·scale_i)``. A derivative that loses more than that (``1 - tanh²`` deep in a
  saturation tail, ``y (1 - y)`` with y rounded to 1) is a finding, not noise. S = 4.
- ``tiny``: the dtype's smallest normal number (``np.finfo(dtype).tiny``: 2.2e-308 in float64, 1.2e-38 in
  float32), an absolute floor of the rounding error. A result below it carries no relative precision
  guarantee: gradual underflow keeps only the bits above the smallest subnormal, and an implementation that
  flushes subnormals to zero (XLA does, by design) returns 0 for it — the exact VJP of ``square`` can be
  3.1e-39 in float32, which such a backend rightly returns as 0. The floor acts only where the rounding
  terms are below it, i.e. where ``scale_i`` is below ``tiny / (K·(n + 1)·u)`` (3e-33 for one float32 node,
  1e-294 in float64): results larger than that, such as a float32 softmax tail of 1.3e-28 (a normal number),
  are judged relatively as before.
- ``floor_i``: ``tiny`` plus the same floor on every intermediate cotangent, carried to the inputs through the
  absolute local Jacobians (:func:`underflow_floor`): a reverse pass holds each cotangent as a float, so a
  cotangent below the normal range is lost wherever it is, not only at the end (a log_softmax tail of 1e-443
  times log2's 1/(x·ln 2) = 6.5e307 at x = 2.2e-308 is an exact 2.8e-137 that no float64 reverse pass returns).

A component that misses its tolerance is classified:
- ``nan-inf``: the backend returned NaN or inf where the oracle's value is finite;
- ``precision-loss``: right formulas, lost digits (saturation tails, thresholds). The NumPy reference rules
  decide it, run twice: in the backend's dtype (the float tape) they miss the oracle on every component the
  backend misses — the textbook formula loses those digits in this dtype —, and at high precision (the
  forward pass in the catalogue's mpmath forms, the backward pass with the same rules on object arrays of
  mpf, :func:`advalidate.backends.numpy_ref.mp_vjp`) they agree with the oracle there, to its error bound
  plus 2^-100 of the magnitude scale (itself computed at high precision) — it is the right formula. A rule
  that is simply wrong, in a library or shared with the reference tape, fails the second test;
- ``wrong-value``: otherwise (including a formula that divides by an exact zero at high precision, where it
  cannot be confirmed right).

The high-precision run is made only for a miss the float tape shares, never on a passing comparison. Its
working precision (:func:`exact_precision`) must resolve the cancellation that lost the digits in floating
point, however far out: ``y (1 - y)`` for sigmoid at 700 is 0 below ~1010 bits, so a fixed 256 bits would call
that right formula wrong. A finding's true value is at least the dtype's smallest normal number (below it the
floor above excuses any error) and the terms of a float program are at most its largest finite number, so
``maxexp - minexp`` bits (2045 in float64, 253 in float32) resolve any difference between them; 256 more keep
the run's own rounding far below the 2^-100 of agreement asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import numpy as np

from .backends import numpy_ref
from .evaluate import trace, to_mp
from .ir import Function

__all__ = ["K", "S", "Comparison", "Reference", "magnitude", "sensitivity", "unit_roundoff", "rounding_bound",
           "compare_full", "compare_projected", "exact_precision", "underflow_floor"]

K = 32
S = 4


def unit_roundoff(dtype: str) -> float:
    return float(np.finfo(dtype).eps) / 2


def rounding_bound(n_nodes: int, dtype: str, scale, factor: float = 1.0):
    """``factor·K·(n + 1)·u·scale``: the rounding error a float program of ``n_nodes`` nodes in ``dtype`` may leave
    in a result whose terms, in absolute value, sum to ``scale`` (a float or an array). It is the rounding term
    of the error model's tolerance (module docstring) and of every other tolerance in advalidate; ``factor`` 2
    where two float results are compared with each other (each may be that far from the truth)."""
    return factor * K * (n_nodes + 1) * unit_roundoff(dtype) * scale


def exact_precision(dtype: str) -> int:
    """The working precision of the high-precision run of the reference formulas (:func:`numpy_ref.mp_vjp`):
    wide enough to resolve a difference as small as the dtype's smallest normal number between terms as large
    as its largest finite number, plus 256 bits."""
    info = np.finfo(dtype)
    return int(info.maxexp - info.minexp) + 256


# ---- |J|^T |v|: the NumPy reference rules applied to absolute values


def _abs_rule(rule):
    """For a rule linear in g with an elementwise factor, |rule(|g|)| is the rule of |J|."""
    if rule is None:
        return None
    return lambda g, ans, *args, **kw: np.abs(rule(g, ans, *args, **kw))


def _abs_variadic(rule):
    return lambda g, ans, *args, **kw: tuple(np.abs(p) for p in rule(g, ans, *args, **kw))


class _MagnitudeRules(Mapping):
    """The rules of ``|J|^T |v|`` by primitive name: a registration's ``magnitude`` where it has one (sums of mixed
    signs inside its VJP rule), else the absolute value of its reference VJP rule (as the tape runs it)."""

    def __getitem__(self, name):
        from .primitives import CATALOGUE

        prim = CATALOGUE.get(name)
        if prim is not None and prim.magnitude is not None:
            return prim.magnitude
        rules = numpy_ref.VJPS[name]
        return _abs_variadic(rules) if callable(rules) else tuple(_abs_rule(r) for r in rules)

    def __iter__(self):
        return iter(numpy_ref.VJPS)

    def __len__(self):
        return len(numpy_ref.VJPS)


MAGNITUDE_RULES = _MagnitudeRules()


MAGNITUDE_PREC = 113  # bits of the exact fallback: a sum of nonnegative terms cancels nothing; its range is what counts


def magnitude(fn: Function, values: dict, cotangents, exact: dict | None = None) -> list[np.ndarray]:
    """``|v|^T |J_L| ... |J_1|`` per input, in float64, from float64 ``values`` of every node.

    ``exact``: the same values in mpmath (the oracle's trace). Where the float64 run leaves an entry inf or NaN
    while every exact term is in range, the float64 run has over- or underflowed on the way, not the scale: a
    cotangent ``v/x`` of ``div(x·x, x)`` at x = 9.5e-317 is 1e316, past float64, while the scale ``|v|·|x|/|x|``
    it is multiplied back into is 1 (and ``x·x`` itself underflows to 0 in ``values``). The whole scale is then the
    same rules run on the exact values in mpmath, whose exponent does not overflow, rounded to float64 at the end
    (inf only where the scale itself is past float64). An infinite scale made the tolerance infinite and hid the
    point from the ill-conditioning test (``sens > sqrt(u)·inf`` never holds)."""
    f64 = fn.with_dtype("float64")
    wrapped = {k: numpy_ref.counting.wrap(np.asarray(v, dtype=np.float64)) for k, v in values.items()}
    with np.errstate(all="ignore"):
        result = numpy_ref.backward(f64, wrapped, [np.abs(np.asarray(v, np.float64)) for v in cotangents],
                                    MAGNITUDE_RULES)
    if exact is None or all(np.all(np.isfinite(np.asarray(m, np.float64))) for m in result):
        return result
    try:
        with mpmath.workprec(MAGNITUDE_PREC):
            scale = numpy_ref.backward(fn, exact, [np.abs(to_mp(np.broadcast_to(np.asarray(v, np.float64), s)))
                                                   for v, s in zip(cotangents, fn.output_shapes)],
                                       MAGNITUDE_RULES, dtype=object)
    except (ZeroDivisionError, ValueError, TypeError):  # a rule that needs float arrays: keep the float64 run
        return result
    out = []
    for m, e in zip(result, scale):
        e = np.array([float(abs(x)) if not mpmath.isnan(x) else np.nan for x in np.asarray(e, dtype=object).reshape(-1)],
                     dtype=np.float64).reshape(np.shape(m))
        m = np.asarray(m, np.float64)
        out.append(np.where(np.isnan(e), m, e))
    return out


def underflow_floor(fn: Function, values: dict, cotangents) -> list[np.ndarray]:
    """The absolute error that underflow may leave in the VJP, per input: ``tiny`` in each component, plus ``tiny``
    in every intermediate cotangent a rule computes whose exact size is below ``tiny`` (a float reverse pass holds
    each node's cotangent as a float, which cannot keep a value below the dtype's normal range: gradual underflow
    keeps only the bits above the smallest subnormal, a backend flushing subnormals keeps none; a cotangent of
    normal size loses nothing to underflow), carried to the inputs through the absolute local Jacobians as
    :func:`magnitude` carries the cotangents. The exact cotangent of a log_softmax tail at log2(2.2e-308) = -1022
    is 1e-443, 0 in every float, and 1/(x·ln 2) = 6.5e307 makes it 2.8e-137 at the input: no reverse pass in
    float64 returns it. The size of each cotangent is bounded by its magnitude ``|v|^T |J_L| ... |J_k|``, computed
    with the cotangents scaled by 2^600 (the pass is linear in them) so that sizes down to 2^-1674 are told from
    ``tiny``; an underflow inside one rule (norm's g/|x| before x) is the rule's, and not excused."""
    tiny = float(np.finfo(fn.dtype).tiny)
    lift = 2.0 ** 600
    f64 = fn.with_dtype("float64")
    computed = {a for node in fn.nodes for a in node.args}  # cotangents a rule produces (an output's own is given)
    wrapped = {k: numpy_ref.counting.wrap(np.asarray(v, dtype=np.float64)) for k, v in values.items()}
    sizes: dict = {}

    def record(name, g):
        sizes[name] = np.asarray(g, np.float64)
        return g

    def inject(name, g):
        if name not in computed:
            return g
        small = sizes.get(name, np.zeros(np.shape(g))) < tiny * lift  # NaN (0·inf) is not known to be small
        return np.asarray(g, np.float64) + np.where(small, tiny, 0.0)

    with np.errstate(all="ignore"):
        numpy_ref.backward(f64, wrapped, [np.abs(np.asarray(v, np.float64)) * lift for v in cotangents],
                           MAGNITUDE_RULES, inject=record)
        props = numpy_ref.backward(f64, wrapped, [np.zeros(s) for s in fn.output_shapes], MAGNITUDE_RULES,
                                   inject=inject)
    # an input's cotangent is a float too; a rule that overflows or makes 0·inf adds no floor (never an inf or
    # NaN tolerance)
    return [tiny + np.where(np.isfinite(p), np.abs(np.asarray(p, np.float64)), 0.0) for p in props]


def rounding(node, value, args):
    """The size of the rounding error a float implementation may leave in ``value``: one ulp of the value, or what
    the primitive's registration says it may leave beyond (``Primitive.rounding``): for a sum of terms (add, sub,
    sum, mean, matmul) the unit roundoff times the sum of their magnitudes, which any summation order is entitled
    to (the dot product's error bound is n·u·|a|·|b|; this is one term of it); for an exponentiated shift
    x - max(x) (softmax, log_softmax, logsumexp) u·|x - max| relative."""
    from .primitives import get

    ulp = np.spacing(np.abs(value)).astype(np.float64)
    prim = get(node.prim)
    if prim.rounding is None:
        return ulp
    return np.maximum(ulp, prim.rounding(value, args, prim.check_params(node.kwargs)))


def _perturber(rng):
    """A forward-pass hook moving each node's value up or down at random by its :func:`rounding`."""
    def perturb(node, value, args):
        value = np.asarray(value)
        signs = np.where(rng.random(size=value.shape) < 0.5, 1.0, -1.0)
        return (value.astype(np.float64) + signs * rounding(node, value, args)).astype(value.dtype)

    return perturb


# What the float reference tape may raise where rounding alone decides: LAPACK's "Singular matrix" at a pivot that
# rounds to an exact 0 (the matrix is regular at high precision), a Python scalar's division by an exact 0.
FLOAT_FAILURES = (np.linalg.LinAlgError, ArithmeticError)


def _tape_vjp(fn: Function, inputs, cotangents, perturb=None) -> list[np.ndarray]:
    """The reference tape's VJP in ``fn.dtype`` (its forward values moved by ``perturb`` when given), NaN where
    the float tape fails (:data:`FLOAT_FAILURES`): the error model then reads the failure as an infinitely sensitive
    VJP (its conditioning term is capped at sqrt(u)·scale) and the classification as a tape that misses, never as an
    exception that ends a campaign."""
    try:
        if perturb is None:
            return list(numpy_ref.NumpyReference().vjp(fn, inputs, cotangents).grads)
        return list(numpy_ref.backward(fn, numpy_ref.forward(fn, inputs, perturb), cotangents))
    except FLOAT_FAILURES:
        return [np.full(s, np.nan) for s in fn.inputs]


def sensitivity(fn: Function, inputs, cotangents, seed: int = 0, base=None) -> list[np.ndarray]:
    """How much the reference VJP in ``fn.dtype`` moves when every value of the forward pass is rounded
    differently: each node's value moves up or down at random by its :func:`rounding`, twice; the largest
    move is kept (inf where a run fails or gives NaN: :func:`_tape_vjp`). ``base``: the unperturbed run's VJP,
    when already at hand."""
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        base = _tape_vjp(fn, inputs, cotangents) if base is None else base
        worst = [np.zeros(s) for s in fn.inputs]
        for _ in range(2):
            grads = _tape_vjp(fn, inputs, cotangents, _perturber(rng))
            worst = [np.maximum(w, np.abs(np.asarray(g, np.float64) - np.asarray(b, np.float64)))
                     for w, g, b in zip(worst, grads, base)]
    return [np.where(np.isfinite(w), w, np.inf) for w in worst]


def ill_conditioned(fn: Function, inputs, cotangents, seed: int = 0) -> str:
    """Why f itself cannot be evaluated in ``fn.dtype`` at this point, or "": an output (with a nonzero
    cotangent) that moves by more than sqrt(u) of itself when the forward pass rounds differently, while the
    reference VJP moves by more than the sqrt(u)·scale the tolerance can excuse. Then no implementation's VJP
    can be judged: sin(0.25·0.25 + 0.25·4.4e154) takes the sine of a sum already off by 1e138. Not this: a
    derivative formula that loses digits on a well-conditioned forward (1 - tanh² at tanh = 1: the forward moves
    by an ulp), nor an output that cancels exactly (y - y moves off 0 by an ulp of y, its VJP does not move)."""
    rng = np.random.default_rng(seed)
    u = unit_roundoff(fn.dtype)
    memo: dict = {}  # the exact trace and the VJP-movement verdict, each computed once, only where needed

    def exact():
        if "exact" not in memo:
            memo["exact"] = trace(fn.with_dtype("float64"), [to_mp(x) for x in inputs], "mp")
        return memo["exact"]

    def unjudgeable():
        if "vjp" not in memo:
            memo["vjp"] = _vjp_unjudgeable(fn, inputs, cotangents, u, exact())
        return memo["vjp"]

    with np.errstate(all="ignore"):
        try:
            base = numpy_ref.forward(fn, inputs)
        except FLOAT_FAILURES as e:
            return f"the float forward pass fails here in {fn.dtype} ({type(e).__name__}: {e}): f is ill-conditioned"
        for _ in range(2):
            try:
                moved = numpy_ref.forward(fn, inputs, _perturber(rng))
            except FLOAT_FAILURES as e:  # rounding alone decides whether f can be evaluated
                if unjudgeable():
                    return (f"the float forward pass fails when it rounds differently ({type(e).__name__}: {e}), "
                            f"and the VJP moves with it: f is ill-conditioned here in {fn.dtype}")
                continue
            for o, v in zip(fn.outputs, cotangents):
                b, m = (np.asarray(numpy_ref.counting.unwrap(x[o]), np.float64) for x in (base, moved))
                relevant = (np.broadcast_to(np.asarray(v), b.shape) != 0) & np.isfinite(b) & np.isfinite(m)
                rel = np.abs(m - b) / np.maximum(np.abs(b), np.finfo(fn.dtype).tiny)
                if not np.any(relevant & (rel > np.sqrt(u))):
                    continue
                if unjudgeable():
                    return (f"output {o} moves by {float(np.max(rel[relevant])):.2g} of itself when the forward pass "
                            f"rounds differently, and the VJP with it: f is ill-conditioned here in {fn.dtype}")
                off = _off_exact(exact()[o], b, relevant, u)
                if off:
                    return (f"output {o} moves by {float(np.max(rel[relevant])):.2g} of itself when the forward pass "
                            f"rounds differently, and {off}: f is ill-conditioned here in {fn.dtype}")
    return ""


def _off_exact(exact, value, relevant, u: float) -> str:
    """Where the float forward's ``value`` of an output misses its ``exact`` value by more than sqrt(u) of it: the float
    pass does not evaluate f, and the magnitude scale, taken from the exact values rounded to the dtype, need not
    bound the VJP's movement either. solve(x1ᵀx1, b) with x1's first row subnormal: the exact Gram matrix's smallest
    eigenvalue is ~1e-632 (1e632 condition), so float64 solves another matrix (an output 0.668 for 0.743), its inverse
    from the rounded values is 1e32 where the exact one is past the range, and the VJP-movement test against
    sqrt(u)·1e32 said judgeable (the reference tape's triage over the catalogue, seed 44)."""
    e = np.asarray(exact, dtype=object).reshape(-1)
    for bi, ei, on in zip(np.reshape(value, -1), e, np.reshape(relevant, -1)):
        if not on or mpmath.isnan(ei) or mpmath.isinf(ei) or ei == 0:
            continue
        miss = abs((mpmath.mpf(float(bi)) - ei) / ei)
        if miss > np.sqrt(u):
            return f"its float value {float(bi):.4g} misses the exact {mpmath.nstr(ei, 4)} by {mpmath.nstr(miss, 2)} of it"
    return ""


def _vjp_unjudgeable(fn, inputs, cotangents, u, exact) -> bool:
    """The reference VJP moves by more than sqrt(u)·scale when the forward rounds differently, or by an infinite
    amount where the scale itself is past the dtype's range (sin(1/x) at x = 3.3e-308: 1/x = 3e307 is rounded by
    4e291, which decides the sign of cos(1/x), and the VJP, ±1e615, is ±inf: inf > sqrt(u)·inf is never true).
    ``exact``: f's trace in mpmath."""
    scale = magnitude(fn, _float_values(exact), cotangents, exact)
    return any(np.any((se > np.sqrt(u) * s) | (np.isinf(se) & np.isinf(s)))
               for se, s in zip(sensitivity(fn, inputs, cotangents), scale))


@dataclass
class Comparison:
    """The verdict on one backend's VJP against the oracle."""

    ok: bool
    kind: str | None  # None when ok; else wrong-value, precision-loss, nan-inf
    ratio: float  # the largest error / tolerance over all components (<= 1 passes)
    worst: tuple | None  # (input index, component index) of that largest ratio
    errors: list  # per input: |g - oracle|
    tolerances: list  # per input: tol


def _float_values(oracle_trace: dict) -> dict:
    return {k: np.array([float(x) for x in np.asarray(v).reshape(-1)], dtype=np.float64).reshape(np.shape(v))
            for k, v in oracle_trace.items()}


def tolerance(fn: Function, inputs, cotangents, oracle_grads, oracle_errors, tape=None) -> list[np.ndarray]:
    """``tol_i`` for every component of every input's VJP (see the module docstring). ``tape``: the reference
    tape's VJP in the dtype, when already at hand."""
    u = unit_roundoff(fn.dtype)
    exact = trace(fn.with_dtype("float64"), [to_mp(x) for x in inputs], "mp")
    values64 = _float_values(exact)
    scale = magnitude(fn, values64, cotangents, exact)
    sens = sensitivity(fn, inputs, cotangents, base=tape)
    floors = underflow_floor(fn, values64, cotangents)
    n = len(fn.nodes)
    tols = []
    for err, s, ref, se, fl in zip(oracle_errors, scale, oracle_grads, sens, floors):
        s = np.maximum(s, np.abs(ref))
        tols.append(err + np.maximum(rounding_bound(n, fn.dtype, s) + S * np.minimum(se, np.sqrt(u) * s), fl))
    return tols


class Reference:
    """What every backend's VJP on one example is judged against, computed once and shared by the backends:
    the tolerances (the oracle's error bounds, the magnitude scale from a high-precision trace, the sensitivity
    from three float tape runs), the reference tape's VJP in the dtype, and its high-precision run (the last two
    only when a backend misses the tolerance: they classify the miss). Each is computed on first use and kept.
    ``oracle`` is the example's :class:`~advalidate.oracle.OracleVJP` (full or projected)."""

    def __init__(self, fn: Function, inputs, cotangents, oracle):
        self.fn, self.inputs, self.cotangents, self.oracle = fn, inputs, cotangents, oracle
        self._cache: dict = {}

    def _get(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def tolerances(self) -> list[np.ndarray]:
        """Per input, ``tol_i`` of every component (full mode); in projected mode the tolerance of the VJP's
        components around 0, which the projections weight by their directions."""
        fn, o = self.fn, self.oracle
        if o.mode == "full":
            return self._get("tol", lambda: tolerance(fn, self.inputs, self.cotangents, o.grads, o.errors,
                                                      self.tape_grads))
        zeros = [np.zeros(s) for s in fn.inputs]
        return self._get("tol", lambda: tolerance(fn, self.inputs, self.cotangents, zeros, zeros, self.tape_grads))

    @property
    def tape_grads(self) -> list:
        """The NumPy reference tape's VJP in the function's dtype."""
        return self._get("tape", lambda: _tape_vjp(self.fn, self.inputs, self.cotangents))

    @property
    def unrepresentable(self) -> str:
        """:func:`unrepresentable`: why no float reverse pass can return this VJP, or ""."""
        return self._get("unrepresentable", lambda: unrepresentable(self.fn, self.inputs, self.cotangents,
                                                                     self.tape_grads))

    @property
    def exact(self):
        """:func:`_exact_run`: the reference formulas at high precision (or None)."""
        return self._get("exact", lambda: _exact_run(self.fn, self.inputs, self.cotangents))


def compare_full(fn: Function, inputs, cotangents, oracle, grads, reference: Reference | None = None) -> Comparison:
    """Compare a backend's ``grads`` with a full-mode :class:`~advalidate.oracle.OracleVJP`. ``reference``: the
    example's shared :class:`Reference` (one is made when None)."""
    reference = reference or Reference(fn, inputs, cotangents, oracle)
    tols = reference.tolerances
    errors, bads, ratio, worst, nonfinite = component_errors(grads, oracle.grads, tols, fn.dtype)
    kind = None
    if nonfinite:
        kind = "nan-inf"
    elif any(np.any(b) for b in bads):
        kind = "precision-loss" if _lost_digits_full(reference, tols, bads) else "wrong-value"
    return Comparison(kind is None, kind, ratio, worst, errors, tols)


def component_errors(values, exact, tols, dtype: str) -> tuple:
    """Each array of ``values`` (a backend's, float) against ``exact`` (the oracle's, float64) under ``tols``:
    ``(errors, bads, worst ratio, (array index, component index) of it, whether a miss is NaN or inf)``. Where the
    exact value overflows the dtype its correctly rounded value is that infinity (no error); NaN or inf where the
    exact value is finite in the dtype is a miss whatever the tolerance (the oracle's bound can be vast where the
    program's values are: sinh(1e155) next to a zero cotangent). The VJP's per input, the JVP's per output."""
    errors, bads, ratio, worst, nonfinite = [], [], 0.0, None, False
    for i, (g, r, t) in enumerate(zip(values, exact, tols)):
        g = np.asarray(g, dtype=np.float64)
        finite = np.isfinite(g)
        with np.errstate(all="ignore"):
            rounded = np.asarray(r, np.float64).astype(dtype).astype(np.float64)
            same_inf = np.isinf(g) & (g == rounded)
            err = np.where(finite, np.abs(g - r), np.where(same_inf, 0.0, np.inf))
        bad = (err > t) | (~finite & ~same_inf)
        ratios = np.where(bad & ~finite, np.inf, _ratios(err, t))
        errors.append(err)
        if ratios.size and np.max(ratios) > ratio:
            ratio = float(np.max(ratios))
            worst = (i, tuple(int(j) for j in np.unravel_index(int(np.argmax(ratios)), ratios.shape)))
        bads.append(bad)
        nonfinite = nonfinite or bool(np.any(bad & ~finite))
    return errors, bads, ratio, worst, nonfinite


def _ratios(err, tol):
    """err / tol, with 0/0 = 0 and x/0 = inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(err == 0, 0.0, np.where(tol > 0, err / np.where(tol > 0, tol, 1), np.inf))


@np.errstate(all="ignore")  # a backend's inf or NaN projects to inf or NaN, which the comparison expects
def compare_projected(fn: Function, inputs, cotangents, oracle, grads, reference: Reference | None = None) -> Comparison:
    """Compare a backend's ``grads`` with a projected-mode oracle: <g, w_j> against <J^T v, w_j> for each j.
    ``reference``: the example's shared :class:`Reference` (one is made when None)."""
    reference = reference or Reference(fn, inputs, cotangents, oracle)
    tols = reference.tolerances
    u64 = unit_roundoff("float64")
    n = len(fn.nodes)
    gs = [np.asarray(g, dtype=np.float64) for g in grads]
    errors, tolerances = [], []
    for ws, d in zip(oracle.directions, oracle.projections):
        value = float(d.value)
        dot = sum(float(np.sum(g * w)) for g, w in zip(gs, ws))
        size = sum(float(np.sum(np.abs(g * w))) for g, w in zip(gs, ws))
        exact_inf = np.isinf(dot) and abs(d.value) > np.finfo(fn.dtype).max and (dot > 0) == (d.value > 0)
        errors.append(abs(dot - value) if np.isfinite(dot) else 0.0 if exact_inf else np.inf)
        tolerances.append(float(d.error) + sum(float(np.sum(t * np.abs(w))) for t, w in zip(tols, ws))
                          + rounding_bound(n, fn.dtype, abs(value))
                          + 2 * sum(g.size for g in gs) * u64 * size)
    err, tol = np.array(errors), np.array(tolerances)
    ratios = _ratios(err, tol)
    ok = bool(np.all(err <= tol))
    kind = None
    if not ok:
        if not all(np.all(np.isfinite(g)) for g in gs):
            kind = "nan-inf"
        else:
            kind = "precision-loss" if _lost_digits_projected(reference, tol, err > tol) else "wrong-value"
    j = int(np.argmax(ratios)) if ratios.size else 0
    return Comparison(ok, kind, float(ratios.max()) if ratios.size else 0.0, (None, (j,)), [err], [tol])


# ---- classification: right formulas that lost digits, or a wrong value


AGREEMENT_BITS = 100  # the high-precision run agrees with the oracle to 2^-100 of the magnitude scale


def _exact_run(fn: Function, inputs, cotangents):
    """The reference formulas at :func:`exact_precision`: (VJP, magnitude scale) per input, object arrays of mpf,
    or None where a formula divides by an exact zero (it cannot be confirmed right there)."""
    prec = exact_precision(fn.dtype)
    try:
        values, grads = numpy_ref.mp_vjp(fn, inputs, cotangents, prec)
        with mpmath.workprec(prec):
            scale = numpy_ref.backward(fn, values, [np.abs(to_mp(np.broadcast_to(np.asarray(v, np.float64), s)))
                                                    for v, s in zip(cotangents, fn.output_shapes)],
                                       MAGNITUDE_RULES, dtype=object)
    except ZeroDivisionError:
        return None
    return grads, scale


def unrepresentable(fn: Function, inputs, cotangents, tape_grads) -> str:
    """Why no float reverse pass can return this VJP, or "": the float tape's VJP is NaN or inf on a component whose
    exact value is finite in the dtype, and the exact reverse pass (the reference rules at
    :func:`exact_precision`) holds a term beyond the dtype's largest finite number there: a cotangent term one
    rule adds (``g·∂node/∂arg``, the primitive's own VJP, whatever its formula) or a node's accumulated cotangent.
    A reverse pass holds each as a float, so it is inf, and the terms that cancel to the finite result make
    inf - inf = NaN: -log(x) + logit(x) at x = 8.3e-317 has the VJP 1/(1 - x) = 1 from the terms -1.2e316 and
    1.2e316. Like an output that overflows, such a point is outside the dtype's range (the float tape's VJP is
    only the trigger: the terms are exact). Where the exact run fails, "" (no verdict)."""
    if all(np.all(np.isfinite(np.asarray(g, np.float64))) for g in tape_grads):
        return ""
    big = mpmath.mpf(float(np.finfo(fn.dtype).max))
    worst: list = []

    def note(where, value):
        for v in _flat(value):
            try:
                if not abs(v) > big:
                    continue
            except TypeError:
                continue
            if not worst or abs(v) > abs(worst[0]):
                worst[:] = [v, where]

    def part(name, arg, value):
        node = fn.nodes[int(name[1:])]
        note(f"the term {node.prim} ({name}) adds to the cotangent of {arg}", value)

    def accumulated(name, g):
        note(f"the cotangent of {name}", g)
        return g

    try:
        _, grads = numpy_ref.mp_vjp(fn, inputs, cotangents, exact_precision(fn.dtype), inject=accumulated,
                                    on_part=part)
    except (ZeroDivisionError, ValueError, TypeError, ArithmeticError):
        return ""
    if not worst:
        return ""
    for i, (t, g) in enumerate(zip(tape_grads, grads)):
        t = np.asarray(t, np.float64).reshape(-1)
        for j, exact in enumerate(_flat(g)):
            if not np.isfinite(t[j]) and abs(exact) <= big:
                return (f"no float reverse pass holds this VJP in {fn.dtype}: {worst[1]} is exactly "
                        f"{mpmath.nstr(worst[0], 5)}, beyond the dtype's range, while the VJP of "
                        f"{fn.input_names[i]} is {mpmath.nstr(exact, 5)}")
    return ""


def _flat(a) -> list:
    """The entries of an array (of mpf, 0-d included: NumPy returns a bare mpf for a 0-d object result)."""
    return list(np.asarray(a, dtype=object).reshape(-1))


def _lost_digits_full(reference: Reference, tols, bads) -> bool:
    """True when, on every component the backend misses, the reference formulas miss too in the dtype (the
    float tape) and agree with the oracle at high precision: right formulas, lost digits."""
    fn, oracle, ref = reference.fn, reference.oracle, reference.tape_grads
    for r, o, t, bad in zip(ref, oracle.grads, tols, bads):
        if not np.all(np.abs(np.asarray(r, np.float64) - o)[bad] > t[bad]):
            return False  # the float formulas meet the tolerance where the backend does not
    exact = reference.exact
    if exact is None:
        return False
    oracle_mp = getattr(oracle, "grads_mp", None)
    margin = mpmath.ldexp(1, -AGREEMENT_BITS)
    with mpmath.workprec(exact_precision(fn.dtype)):
        for i, bad in enumerate(bads):
            o, err = _oracle_component(oracle, oracle_mp, i)
            for miss, g, scale, oi, ei in zip(np.reshape(bad, -1), _flat(exact[0][i]), _flat(exact[1][i]),
                                              _flat(o), _flat(err)):
                if miss and not abs(g - oi) <= ei + margin * max(abs(scale), abs(oi)):  # NaN: not agreed
                    return False
    return True


def _oracle_component(oracle, oracle_mp, i):
    """The oracle's VJP for input ``i`` as mpf and its error bound (with the float64 representation's error
    when only the float64 values are at hand)."""
    err = to_mp(oracle.errors[i])
    if oracle_mp is not None:
        return np.asarray(oracle_mp[i], dtype=object), err
    o = to_mp(oracle.grads[i])
    return o, err + np.abs(o) * mpmath.ldexp(1, -52)


def _lost_digits_projected(reference: Reference, tol, bad) -> bool:
    """:func:`_lost_digits_full` for projections <J^T v, w_j>: on every direction the backend misses."""
    fn, oracle = reference.fn, reference.oracle
    ref = [np.asarray(r, np.float64) for r in reference.tape_grads]
    ref_err = np.array([abs(sum(float(np.sum(r * w)) for r, w in zip(ref, ws)) - float(d.value))
                        for ws, d in zip(oracle.directions, oracle.projections)])
    if not np.all(ref_err[bad] > tol[bad]):
        return False
    exact = reference.exact
    if exact is None:
        return False
    grads, scale = exact
    margin = mpmath.ldexp(1, -AGREEMENT_BITS)
    with mpmath.workprec(exact_precision(fn.dtype)):
        for j in np.flatnonzero(bad):
            ws, d = [_flat(to_mp(w)) for w in oracle.directions[j]], oracle.projections[j]
            dot = mpmath.fsum(a * b for g, w in zip(grads, ws) for a, b in zip(_flat(g), w))
            size = mpmath.fsum(abs(a * b) for sc, w in zip(scale, ws) for a, b in zip(_flat(sc), w))
            if not abs(dot - d.value) <= d.error + margin * max(size, abs(d.value)):  # NaN: not agreed
                return False
    return True
