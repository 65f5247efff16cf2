"""Check one example (function, point, cotangents) on several backends against one oracle result.

The oracle runs once per example; every backend's VJP is compared with it under the error model, its work
is checked against the cost bound, and the backends are compared with each other. At a kink or tie the
oracle's one-sided derivatives decide which convention a backend took (:func:`kink_reference`).

Dead nodes (which no output depends on) never matter to the verdict: the oracle, the error model and the kink
test see the live program only (:meth:`Function.pruned`); the backends run the program as given.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .backends.contract import MODES, NotCounted, Work, supports
from .cost import OMEGA, check_bound, io_size
from . import primitives
from .errormodel import (Comparison, Reference, _float_values, compare_full, compare_projected, ill_conditioned,
                         S, _tape_vjp, magnitude, rounding_bound, sensitivity, underflow_floor, unit_roundoff,
                         unrepresentable)
from .errors import DomainError, KinkError
from .evaluate import gaps, kink_tolerance, to_mp, trace
from .ir import Function, Node
from .isolation import BackendRaised
from .oracle import Oracle, OracleVJP
from .warnings_capture import MAX_KEPT, Caught, capture

__all__ = ["Outcome", "ExampleResult", "KinkReference", "check_example", "concurrent", "counted_elsewhere", "run_vjp", "run_work",
           "kink_reference", "FULL_MODE_LIMIT", "OMEGA", "program_omega", "FLUSH_TO_ZERO", "primitive_signature", "finding_signature"]

FULL_MODE_LIMIT = 48  # input elements up to which the oracle computes every component; projections beyond


FLUSH_TO_ZERO = "flush-to-zero"  # the tag of a finding explained by a library flushing subnormal inputs to zero


def primitive_signature(fn: Function) -> str:
    return "+".join(fn.primitives_used) or "identity"


def finding_signature(outcome, fn: Function) -> str:
    """What a finding is deduplicated and matched against known behaviours by: its tag when it has one (a
    library-wide behaviour such as ``flush-to-zero``, reported once per backend and kind whatever primitives
    show it), else the primitive signature of ``fn``."""
    return getattr(outcome, "tag", None) or primitive_signature(fn)


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
    convention: str | None = None  # at kinks: left, right, across, between, other (see kink_reference)
    agrees_with: list = field(default_factory=list)  # backends whose VJP matches this one's
    tag: str | None = None  # flush-to-zero: the finding is explained by the library flushing subnormal inputs
    not_counted: str | None = None  # the backend's NotCounted reason: this example's cost is not measured
    warnings: list = field(default_factory=list)  # Caught: what the backend warned while computing its VJP and work
    mode: str = "vjp"  # the mode of AD judged (advalidate.backends.contract.MODES); for "jvp", grads are J·w per output

    @property
    def ratio(self) -> float:
        return self.comparison.ratio if self.comparison else math.nan


@dataclass
class ExampleResult:
    oracle: OracleVJP | None
    # regular, kink, domain, overflow (an exact output past the dtype), ill-conditioned (f itself), unjudged (advalidate
    # failed: its reason on every outcome)
    point: str
    outcomes: list
    kink: str = ""  # the node and primitive at a kink
    seconds: Counter = field(default_factory=Counter)  # oracle, error model, and per backend: vjp, work
    function: Function | None = None  # the live program the verdict is about (the given one without dead nodes)
    sides: "KinkReference | None" = None  # at a kink: the derivatives a backend may match
    jvp_oracle: object = None  # the oracle's J·w (advalidate.oracle.OracleJVP) where forward mode was judged
    hvp_oracle: object = None  # the oracle's H_v·u (advalidate.oracle.OracleHVP) where second order was judged


def check_arrays(arrays, shapes, dtype: str, what: str, of) -> str | None:
    """A message naming what is wrong with the ``arrays`` a backend returned (one per entry of ``shapes``, each of that
    shape and of ``dtype``), or None. ``what``: how to name one ("gradient"); ``of(i)``: what array i belongs to
    ("input x0")."""
    if arrays is None or len(arrays) != len(shapes):
        return f"returned {0 if arrays is None else len(arrays)} {what}s for {len(shapes)} {of(None)}"
    for i, (a, shape) in enumerate(zip(arrays, shapes)):
        a = np.asarray(a)
        if a.shape != shape:
            return f"{what} {i} has shape {a.shape}, {of(i)} has shape {shape}"
        if a.dtype != np.dtype(dtype):
            return f"{what} {i} has dtype {a.dtype}, the function's dtype is {dtype}"
    return None


def _validate(fn: Function, result) -> str | None:
    """A message naming what is wrong with a backend's returned VJP (one gradient per input), or None."""
    return check_arrays(getattr(result, "grads", None), fn.inputs, fn.dtype, "gradient",
                        lambda i: "inputs" if i is None else f"input x{i}")


def call_backend(method, fn: Function, inputs, vectors, validate, caught: list | None = None) -> tuple:
    """``method(fn, inputs, vectors)`` (a backend's ``vjp`` or ``jvp``) called defensively: (its result, None) or
    (None, a message naming the failure: what it raised, what ``validate(fn, result)`` finds wrong with its result,
    or a mutation of its inputs). The backend gets copies; our example stays intact.

    The warnings the backend raises meanwhile are never printed: they are added to ``caught`` (as
    :class:`~advalidate.warnings_capture.Caught`, merged with what it holds), or dropped when it is None (a probe
    such as the flush-to-zero rerun, whose point is not the example's)."""
    given = [np.array(x, copy=True) for x in inputs]
    raised = []
    try:
        with capture() as raised:
            result = method(fn, given, [np.array(v, copy=True) for v in vectors])
    except Exception as e:  # a backend bug, reported as an `error` finding
        if isinstance(e, BackendRaised):  # from a worker process: its message carries the traceback
            return None, str(e)
        return None, f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-3:])
    finally:
        _keep(caught, raised)
    problem = validate(fn, result)
    if problem:
        return None, problem
    if any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(given, inputs)):
        return None, "the backend mutated its inputs"
    return result, None


def run_vjp(backend, fn: Function, inputs, cotangents, caught: list | None = None) -> tuple[list | None, str | None]:
    """The backend's VJP, defensively (:func:`call_backend`): (grads, None) or (None, a message naming the failure)."""
    result, problem = call_backend(backend.vjp, fn, inputs, cotangents, _validate, caught)
    return (None, problem) if problem else ([np.asarray(g) for g in result.grads], None)


def run_work(backend, fn: Function, inputs, cotangents, caught: list | None = None) -> Work:
    """``backend.work``, its warnings added to ``caught`` as :func:`run_vjp` does (exceptions propagate)."""
    raised = []
    try:
        with capture() as raised:
            return backend.work(fn, inputs, cotangents)
    finally:
        _keep(caught, raised)


def program_omega(fn: Function, omega: float = OMEGA) -> float:
    """The cost bound's ω for ``fn``: ``omega``, or the largest of its primitives' own constants
    (``Primitive.omega``: factorisations whose correct VJP costs more than 5 forwards) where that is larger."""
    return max([omega] + [primitives.get(p).omega for p in fn.primitives_used if primitives.get(p).omega is not None])


def io_allowance(fn: Function, inputs, cotangents, forward_work: int) -> int:
    """The ``io`` term of the cost bound (:func:`advalidate.cost.check_bound`) for one VJP of ``fn``.

    A forward that is pure data movement costs 0, while its VJP must still read v and write g: the whole I/O,
    :func:`io_size`. Otherwise the entries read by the adjoints of the fan-out moves: a ``broadcast_to`` or an
    ``index`` is free in the unit-cost model (a view, a gather), but its adjoint sums or scatter-adds every entry of
    its output's cotangent, which no forward work pays for. Without it the bound is unsatisfiable:
    ``broadcast_to(cosh(x), (4, 4))`` and ``broadcast_to(cosh(x), (2, 2))`` of one x cost 1, and any VJP adds
    its 20 cotangent entries (19 adds, a sinh, a mul: 22 > 5·1 + 16). A broadcasting primitive's implicit
    broadcast counts the same (:func:`_implicit_broadcasts`)."""
    if forward_work == 0:
        return io_size(inputs, cotangents)
    moves = sum(np.prod(fn.shapes[name], dtype=np.int64) for name, n in zip(fn.node_names, fn.nodes)
                if primitives.get(n.prim).free_fan_out)
    return int(moves + _implicit_broadcasts(fn))


def _implicit_broadcasts(fn: Function) -> int:
    """The entries the VJP sums where a broadcasting primitive (its shape rule ``shapes.broadcast``) widens an
    operand: a broadcast_to fused into the op, free in the forward, while the operand's cotangent adds up
    (result − operand) entries. numpy-ref's minimum(x0[4], x1[1]), minimum(x1, ·), minimum(x0, x2[]) costs 12 and
    its VJP 77: 4 per element (a mask and a where per operand) and 9 sums no forward work pays for (5·12 + 16 = 76,
    a false alarm in the 10,000-example run)."""
    from .primitives import shapes

    total = 0
    for name, node in zip(fn.node_names, fn.nodes):
        if primitives.get(node.prim).shape is shapes.broadcast:
            out = int(np.prod(fn.shapes[name], dtype=np.int64))
            total += sum(out - int(np.prod(fn.shapes[a], dtype=np.int64)) for a in node.args
                         if fn.shapes[a] != fn.shapes[name])
    return total


def _keep(caught: list | None, raised) -> None:
    """Merge the records ``raised`` into ``caught`` (same category, message and place: counts add up)."""
    if caught is None:
        return
    merged = {(c.category, c.message, c.where): c for c in caught}
    for c in raised:
        key = (c.category, c.message, c.where)
        merged[key] = Caught(*key, merged[key].count + c.count) if key in merged else c
    caught[:] = list(merged.values())[:MAX_KEPT]


# ---------------------------------------------------------------- kinks

@dataclass
class KinkReference:
    """What a backend's VJP is compared with at a kink or tie: for each component, the derivatives it may match.

    Components are the VJP's entries (``mode == "full"``, input by input, in C order) or, past
    ``FULL_MODE_LIMIT`` input elements, its projections ``<g, w_j>`` on ``directions`` (``"projected"``).
    ``sides`` maps a label to one value per component:

    - ``left`` and ``right``: the oracle's one-sided derivatives at the drawn point x along the component's
      direction (a step far below float resolution: both come from the piece x is on unless x is on the kink).
    - ``across`` (one per kink the forward pass's rounding can cross, ``crossed`` names them): the derivative of
      the piece on the other side of the kink. A float evaluation of x need not land on the side the exact x is
      on: ``relu(logaddexp(x, x))`` at x = -0.6931471805599453 has ``x + ln 2`` = 2.3e-17 exactly, which every
      float64 implementation rounds to 0. Where the kink's gap is within that rounding (``rounding_crosses``), x is
      reflected across the kink, x' = x - 2 s(x) grad s / |grad s|^2 for the kink's signed gap s (from the
      catalogue's gap |s|: grad s^2 by central differences at high precision), and the derivative is taken at x'
      from the side facing away from the kink. It is the other piece's derivative at a point within ~2|s|/|grad s|
      of x, which differs from that piece's derivative at x by the curvature times that distance: far below the
      tolerance at a gap the rounding can cross. (The one-sided derivatives at the kink located exactly would not
      do: along a direction that does not move the kink's operand, such as the branches of ``where(p > 0, a, b)``
      with p computed from other inputs, both still come from one piece; the mirror point is on the other piece
      in every direction.)

    ``tolerance`` per component is the error model's ``K·(n+1)·u·scale`` (:func:`advalidate.errormodel.rounding_bound`)
    with scale the magnitude
    ``|v|^T |J_L| ... |J_1|`` (:func:`advalidate.errormodel.magnitude`) floored by the sides' absolute values, plus
    the oracle's error bounds.
    """

    mode: str
    names: list  # per component: "x0[1]" (full) or "<g, w0>" (projected)
    directions: list | None  # projected mode: per component, one array per input
    sides: dict  # label -> float64 array, one value per component
    tolerance: np.ndarray
    crossed: list = field(default_factory=list)  # nodes (with primitive) whose kink the rounding can cross
    at_kink: list = field(default_factory=list)  # (node, primitive) of every node at a kink (within the tolerance)

    def components(self, grads) -> np.ndarray:
        gs = [np.asarray(g, dtype=np.float64) for g in grads]
        if self.mode == "full":
            return np.concatenate([g.reshape(-1) for g in gs]) if gs else np.zeros(0)
        with np.errstate(all="ignore"):
            return np.array([sum(float(np.sum(g * w)) for g, w in zip(gs, ws)) for ws in self.directions])

    def rounding(self, grads) -> np.ndarray:
        """The float64 rounding of our own projections <g, w> (0 in full mode): N·u64·sum |g·w|."""
        if self.mode == "full":
            return np.zeros(len(self.names))
        gs = [np.asarray(g, dtype=np.float64) for g in grads]
        size = sum(g.size for g in gs)
        with np.errstate(all="ignore"):
            return np.array([size * unit_roundoff("float64") * sum(float(np.sum(np.abs(g * w))) for g, w in zip(gs, ws))
                             for ws in self.directions])

    def record(self) -> dict:
        from .results import encode_array

        return {"mode": self.mode, "names": list(self.names), "crossed": list(self.crossed),
                "sides": {k: encode_array(v) for k, v in self.sides.items()},
                "tolerance": encode_array(self.tolerance)}


def _component_directions(fn: Function, inputs, mode: str, k: int = 4, seed: int = 0):
    """(name, direction, scale) per component: basis directions scaled by max(|x|, 1) (as the oracle's full mode:
    the derivative is the result divided by the scale), or ``k`` random directions (as its projected mode)."""
    out = []
    if mode == "full":
        for i, (x, shape) in enumerate(zip(inputs, fn.inputs)):
            scale = np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)
            for idx in np.ndindex(*shape):
                direction = [np.zeros(s) for s in fn.inputs]
                direction[i][idx] = scale[idx]
                out.append((_element_name(i, idx), direction, float(scale[idx])))
    else:
        rng = np.random.default_rng(seed)
        for j in range(k):
            direction = [rng.standard_normal(s) * np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)
                         for x, s in zip(inputs, fn.inputs)]
            out.append((f"<g, w{j}>", direction, 1.0))
    return out


def _element_name(i: int, idx: tuple) -> str:
    return f"x{i}" + (f"[{', '.join(str(j) for j in idx)}]" if idx else "")


def _shifted(fn: Function) -> Function:
    """``fn(x + d)`` as a program of the inputs x and d (same shapes): the oracle then evaluates at x + d exactly
    in its own precision, where x + d itself may not be a float."""
    n = len(fn.inputs)
    nodes = [Node.make("add", f"x{i}", f"x{n + i}") for i in range(n)]
    rename = {f"x{i}": f"v{i}" for i in range(n)}
    rename.update({f"v{j}": f"v{n + j}" for j in range(len(fn.nodes))})
    nodes += [Node(node.prim, tuple(rename[a] for a in node.args), node.params) for node in fn.nodes]
    return Function(fn.inputs + fn.inputs, tuple(nodes), tuple(rename[o] for o in fn.outputs), fn.dtype)


def rounding_crosses(fn: Function, values: dict, gap) -> bool:
    """Whether the rounding of a float evaluation can put a kink's operand on its other side: the gap is within
    the error model's K·(n+1)·u times the largest magnitude the operand is computed from (the node's upstream
    values: its operands and everything they are built from, inputs included). A gap that only flushing
    subnormals to zero crosses is not: that is reported as ``flush-to-zero``."""
    if _own_rounding_crosses(fn, values, gap):
        return True
    if not any(a not in fn.input_names for a in _gap_operands(fn, values, gap.node)):
        return False  # the gap is made of exact inputs only: no rounding moves it (where(p, …) at p = 2.6e-317)
    return 0 < gap.kink <= _rounding_reach(fn, values, gap)


def _rounding_reach(fn: Function, values: dict, gap) -> float:
    """How far the rounding of a float evaluation can move the kink's operand: K·(n+1)·u times the largest magnitude
    it is computed from (the node's upstream values)."""
    upstream = fn.upstream(gap.node) - {gap.node}
    biggest = max((_max_abs(values[name]) for name in upstream), default=0.0)
    return float(rounding_bound(len(fn.nodes), fn.dtype, biggest))


CROSSED_ELEMENTS = 4
"""At most this many elements of one node whose kinks the rounding can cross are reflected (the nearest first)."""


def _crossed_elements(fn: Function, values: dict, gap) -> list[int]:
    """The flat indices of the node's elements whose own kink gap the rounding can cross, nearest first (a node's
    gap is its nearest element's, but several elements may sit within the rounding: Q = qr_q(A) at a column
    [5.1e-316, 8.3e-317, 0.40, 1.5] has Q[0, 0] = 3.3e-316 and Q[1, 0] = 5.3e-317 within Householder's absolute u·1,
    and the cotangent may reach only the farther one). The primitive's own rounding (eigvalsh's pair) reaches its
    nearest element only."""
    n = fn.nodes[int(gap.node[1:])]
    prim = primitives.get(n.prim)
    with np.errstate(all="ignore"):
        here = [abs(g) for g in np.asarray(prim.kink(*(values[a] for a in n.args), **prim.check_params(n.kwargs)),
                                           dtype=object).reshape(-1)]
    nearest = sorted(range(len(here)), key=lambda e: here[e])
    if not nearest:
        return []
    if _own_rounding_crosses(fn, values, gap):
        return nearest[:1]
    reach = _rounding_reach(fn, values, gap)
    return [e for e in nearest if 0 < here[e] <= reach][:CROSSED_ELEMENTS] or nearest[:1]


def _own_rounding_crosses(fn: Function, values: dict, gap) -> bool:
    """Whether the kink's primitive itself, computing its value in the dtype, may close the gap: a primitive whose
    registration says it leaves more than an ulp (``Primitive.rounding``) and whose kink gap is a difference of its
    own values (eigvalsh's gaps between consecutive eigenvalues). Each computed eigenvalue is an exact one of
    sym(A) + E, ‖E‖ <= n²·u·‖A‖ (Weyl, the registered fact), so two eigenvalues closer than twice that may come out
    equal or in either order, exact operands or not, and their eigenvectors are any basis of the pair's plane: at
    ``[[a, e], [e, a]]`` with e = 5.6e-18 (F051-F054 of the seed-41 special campaign) every library and the reference
    tape return e1·e1ᵀ for the smaller eigenvalue, the exact derivative at a matrix within 1e-17 of the point, where
    the exact point's own is (1, -1)(1, -1)ᵀ/2."""
    node = fn.nodes[int(gap.node[1:])]
    prim = primitives.get(node.prim)
    if prim.rounding is None or not prim.kink_is_value_gap:
        return False
    floats = _float_values({a: values[a] for a in node.args + (gap.node,)})
    args = [np.asarray(floats[a], fn.dtype) for a in node.args]
    with np.errstate(all="ignore"):
        r = np.asarray(prim.rounding(np.asarray(floats[gap.node], fn.dtype), args, prim.check_params(node.kwargs)),
                       np.float64)
    return bool(r.size) and 0 < gap.kink <= 2 * float(np.max(r))


def _gap_operands(fn: Function, values: dict, node: str) -> list[str]:
    """The operands of ``node`` its kink gap depends on (where's gap is its predicate's alone): those whose change
    moves the gap, tried on float64 copies."""
    n = fn.nodes[int(node[1:])]
    prim = primitives.get(n.prim)
    params = prim.check_params(n.kwargs)
    args = [_float_values({a: values[a]})[a] for a in n.args]
    with np.errstate(all="ignore"):
        base = np.asarray(prim.kink(*args, **params), np.float64)
        moved = []
        for i, a in enumerate(n.args):
            other = list(args)
            other[i] = args[i] * 1.5 + 0.5
            if not np.array_equal(np.asarray(prim.kink(*other, **params), np.float64), base, equal_nan=True):
                moved.append(a)
    return moved


def _max_abs(a) -> float:
    a = np.asarray(a).reshape(-1)
    return max((abs(float(v)) for v in a if not mpmath.isnan(v)), default=0.0) if a.size else 0.0


def _reflection(fn: Function, inputs, node: str, oracle: Oracle, element: int | None = None):
    """The shift d (float64 arrays per input) taking x across the kink of ``node``'s ``element`` (flat index; None:
    the nearest) to the mirror point, and the gradient of the squared gap at x (to pick the side facing away from
    the kink); None where no such point is found (a cone such as hypot's or norm's has no other side: the check
    below then fails)."""
    n = fn.nodes[int(node[1:])]
    prim = primitives.get(n.prim)
    params = prim.check_params(n.kwargs)
    xs = [to_mp(x) for x in inputs]
    biggest = max((abs(v) for x in xs for v in x.reshape(-1)), default=mpmath.mpf(0))
    # x ± h exact: as many more bits as the largest input has above 1 (the oracle's rule, advalidate/oracle.py)
    wprec = oracle.prec + oracle.step_bits + 32 + max(0, int(mpmath.mag(biggest)) if biggest else 0)
    with mpmath.workprec(wprec):

        def gap_array(point):
            values = trace(fn, point, "mp")
            return np.asarray(prim.kink(*(values[a] for a in n.args), **params)).reshape(-1)

        here = gap_array(xs)
        if element is None:
            element = int(np.argmin([abs(g) for g in here]))

        def q(point):  # the squared gap of that element: smooth across the kink
            return abs(gap_array(point)[element]) ** 2

        q0 = q(xs)
        if q0 == 0:
            return None
        grad = []
        for i, x in enumerate(xs):
            g = np.empty(x.shape, dtype=object)
            for idx in np.ndindex(*x.shape):
                h = mpmath.ldexp(min(abs(x[idx]), 1) if x[idx] != 0 else 1, -oracle.step_bits)
                up, down = [a.copy() for a in xs], [a.copy() for a in xs]
                up[i][idx] += h
                down[i][idx] -= h
                g[idx] = (q(up) - q(down)) / (2 * h)
            grad.append(g)
        norm2 = mpmath.fsum(v * v for g in grad for v in g.reshape(-1))
        if norm2 == 0:
            return None
        shift = [np.array([float(-4 * q0 * v / norm2) for v in g.reshape(-1)], dtype=np.float64).reshape(g.shape)
                 for g in grad]
        if not all(np.all(np.isfinite(d)) for d in shift):
            return None
        # the mirror point is on the other side at about the same gap: the midpoint is (nearly) on the kink
        mirror = q([x + to_mp(d) for x, d in zip(xs, shift)])
        middle = q([x + to_mp(d) / 2 for x, d in zip(xs, shift)])
        if not (q0 / 4 <= mirror <= 4 * q0 and middle <= q0 / 16):
            return None
        return shift, [np.array([float(v) for v in g.reshape(-1)]).reshape(g.shape) for g in grad]


def kink_reference(fn: Function, inputs, cotangents, oracle: Oracle) -> KinkReference:
    """The one-sided derivatives at a kink point, and the derivatives across every kink the rounding can cross
    (see :class:`KinkReference`). Full mode up to ``FULL_MODE_LIMIT`` input elements, projections beyond."""
    size = sum(int(np.prod(s)) for s in fn.inputs)
    mode = "full" if size <= FULL_MODE_LIMIT else "projected"
    components = _component_directions(fn, inputs, mode)
    with mpmath.workprec(oracle.prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
        found_gaps = gaps(fn, values)  # at the oracle's precision: a kink form may compute in mpmath (eigvalsh's)
    tol = kink_tolerance(fn.dtype)
    crossings, on_kink = [], []
    for gap in found_gaps:
        if gap.kink_rel <= tol and rounding_crosses(fn, values, gap):
            mirrors = []  # (element, shift, grad), one per distinct mirror point (a broadcast predicate's
            for element in _crossed_elements(fn, values, gap):  # elements share theirs)
                found = _reflection(fn, inputs, gap.node, oracle, element)
                if found is not None and not any(all(np.array_equal(a, b) for a, b in zip(found[0], m[1]))
                                                 for m in mirrors):
                    mirrors.append((element, *found))
            for element, shift, grad in mirrors:
                where = np.unravel_index(element, fn.shapes[gap.node])
                name = (f"{gap.node} ({gap.prim})" if len(mirrors) == 1 else
                        f"{gap.node}[{', '.join(str(int(i)) for i in where)}] ({gap.prim})")
                crossings.append((name, shift, grad))
                if _own_rounding_crosses(fn, values, gap):
                    on_kink.append((name, shift))
    sides = {label: np.empty(len(components)) for label in ("left", "right")}
    sides.update({f"across {name}": np.empty(len(components)) for name, _, _ in crossings})
    # a kink whose primitive's own rounding may close it (eigvalsh's pair of eigenvalues): also the one-sided
    # derivatives at the kink itself (the midpoint of x and its mirror), where every basis of the pair's plane is
    # an eigenbasis: the derivatives of the pieces meeting there, which the float evaluation may take
    for name, _ in on_kink:
        sides.update({f"on {name} {label}": np.empty(len(components)) for label in ("left", "right")})
    errors = np.zeros(len(components))
    shifted = _shifted(fn) if crossings else None
    for c, (_, direction, scale) in enumerate(components):
        for label, side in (("left", -1), ("right", +1)):
            d = oracle.directional(fn, inputs, cotangents, direction, side=side)
            sides[label][c], error = _per_unit(d, scale)
            errors[c] = max(errors[c], error)
        for name, shift, grad in crossings:
            # at the mirror point the squared gap grows along -grad: step that way, away from the kink
            toward = sum(float(np.sum(g * w)) for g, w in zip(grad, direction))
            try:
                d = oracle.directional(shifted, list(inputs) + shift, cotangents,
                                       list(direction) + [np.zeros(s) for s in fn.inputs], side=-1 if toward > 0 else +1)
            except DomainError:  # the mirror point's side leaves a domain: that side is not offered, the others are
                sides[f"across {name}"][c] = np.nan
                continue
            sides[f"across {name}"][c], error = _per_unit(d, scale)
            errors[c] = max(errors[c], error)
        for name, shift in on_kink:
            middle = [d / 2 for d in shift]
            for label, side in (("left", -1), ("right", +1)):
                try:
                    d = oracle.directional(shifted, list(inputs) + middle, cotangents,
                                           list(direction) + [np.zeros(s) for s in fn.inputs], side=side)
                except DomainError:
                    sides[f"on {name} {label}"][c] = np.nan
                    continue
                sides[f"on {name} {label}"][c], error = _per_unit(d, scale)
                errors[c] = max(errors[c], error)
    values64 = _float_values(values)

    def per_component(arrays) -> np.ndarray:
        """Per-input nonnegative arrays (a magnitude, a sensitivity) as one value per component: the entries in
        full mode, their weighting by |w_j| in projected mode."""
        if mode == "full":
            return np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays]) if arrays else np.zeros(0)
        return np.array([sum(float(np.sum(np.asarray(a, np.float64) * np.abs(w))) for a, w in zip(arrays, ws))
                         for _, ws, _ in components])

    with np.errstate(all="ignore"):
        scale = per_component(magnitude(fn, values64, cotangents, values))
        for v in sides.values():
            scale = np.fmax(scale, np.abs(v))
        # the error model's conditioning term (errormodel.tolerance): how far the float tape's VJP moves when the
        # forward pass rounds differently. A derivative read at a rounded forward value inherits that value's
        # rounding times its condition: sigmoid' at fl(arcsinh(-1.15e134)) = -309.38 is 309·u off sigmoid' at
        # the exact arcsinh, in any implementation; the one-sided derivatives are exact, so the kink's tolerance
        # needs the term as much as the regular comparison's does
        sens = per_component(sensitivity(fn, inputs, cotangents))
        conditioning = S * np.minimum(sens, np.sqrt(unit_roundoff(fn.dtype)) * scale)
    # the error model's rounding and conditioning terms, with their floor at the dtype's smallest normal number (a
    # subnormal result carries no relative precision: 1.95365e-318 against 1.95365e-318 from the other side is not
    # a finding)
    # (and the underflow floor of every intermediate cotangent: errormodel.underflow_floor)
    with np.errstate(all="ignore"):
        floor = np.maximum(per_component(underflow_floor(fn, values64, cotangents)), np.finfo(fn.dtype).tiny)
    tolerance = np.maximum(rounding_bound(len(fn.nodes), fn.dtype, scale) + conditioning, floor) + errors
    return KinkReference(mode, [c[0] for c in components], None if mode == "full" else [c[1] for c in components],
                         sides, tolerance, [c[0] for c in crossings],
                         [(g.node, g.prim) for g in found_gaps if g.kink_rel <= tol])


def _per_unit(d, scale: float) -> tuple[float, float]:
    """A derivative along a direction scaled by ``scale``, and its bound, per unit step: divided in mpf first (a
    derivative of 1e10 along a direction of 1e300 is 1e310 before the division, inf as a float)."""
    s = mpmath.mpf(float(scale))
    return float(d.value / s), float(d.error / s)


def _convention(ref: KinkReference, grads) -> tuple[str, float, str, dict]:
    """Which side each component of ``grads`` matches: (label, worst ratio, detail, missed).

    The label is ``smooth`` (every component matches every side), the ``+``-joined sides taken (``left``,
    ``right``, ``across``: the piece beyond a kink the rounding crosses, ``between``: inside the sides' range, a
    mix such as a subgradient), ``other`` (a component matches none: ``worst`` is its error over the tolerance),
    ``off-smooth`` (the only misses are on components whose sides all agree: a regular miss, not a convention)
    or ``nan-inf`` (a component is NaN or inf where the sides are finite). ``detail`` names the worst component;
    ``missed`` maps ``other`` and ``off-smooth`` to the components missed so (finite, matching no side, outside their
    range).
    """
    values = ref.components(grads)
    tol = ref.tolerance + ref.rounding(grads)
    labels, misses, nonfinite = set(), {}, []  # misses: label -> (worst ratio, detail)
    missed = {"other": [], "off-smooth": []}
    dtype = np.result_type(*[np.asarray(g) for g in grads]) if len(grads) else np.dtype(np.float64)
    for c, val in enumerate(values):
        # a side the oracle could not take (an across side whose step left a domain) is not offered
        cands = {label: float(side[c]) for label, side in ref.sides.items() if not np.isnan(side[c])}
        if not np.isfinite(val):
            if tol[c] == math.inf:
                # the oracle could not bound this component's one-sided derivatives (its difference quotients
                # cross jumps at every step it can take: fmod(0.25, 2.1e-316) jumps every x1²/x0 = 1.8e-631 in x1,
                # where the exact derivative -trunc(x0/x1) = -1.2e315 overflows float64 anyway): nothing to judge
                continue
            # inf where a side overflows to inf is right, in the backend's dtype (1.1e40 is inf in float32)
            with np.errstate(over="ignore"):
                rounded = [float(np.asarray(cv).astype(dtype)) if dtype.kind == "f" else cv for cv in cands.values()]
            if not any(val == cv for cv in rounded):
                nonfinite.append(c)
            continue
        matched = {label for label, cv in cands.items() if abs(val - cv) <= tol[c]}
        if len(matched) == len(cands) or {"left", "right"} <= matched:
            continue
        if matched:
            labels.add(next(label for label in ("right", "left") if label in matched) if matched & {"left", "right"}
                       else "across")
        elif min(cands.values()) - tol[c] <= val <= max(cands.values()) + tol[c]:
            labels.add("between")
        else:
            # every side agreeing (f smooth along this component: the kink is elsewhere) makes a regular miss,
            # no convention: logaddexp(v, v)'s jax VJP beside a floor at a kink is its known wrong value
            label = "off-smooth" if max(cands.values()) - min(cands.values()) <= tol[c] else "other"
            labels.add(label)
            missed[label].append(c)
            ratio = min(abs(val - cv) for cv in cands.values()) / tol[c] if tol[c] > 0 else math.inf
            if ratio >= misses.get(label, (-1.0, ""))[0]:
                misses[label] = (ratio, _describe(ref, c, val, cands))
    if nonfinite:
        c = nonfinite[0]
        return ("nan-inf", math.inf, _describe(ref, c, values[c], {k: float(v[c]) for k, v in ref.sides.items()}),
                missed)
    for label in ("other", "off-smooth"):
        if label in misses:
            return (label,) + misses[label] + (missed,)
    return ("+".join(sorted(labels)) or "smooth"), 0.0, "", missed


def _kinks_on(ref: KinkReference, live: Function, components) -> list[str]:
    """The nodes at a kink (``ref.at_kink``) whose convention can change the missed ``components``: not piecewise
    constant (``Primitive.piecewise_constant``: sign, floor, round have derivative 0 on every piece) and depending on
    an input those components are derivatives in (full mode; a projection's direction spans every input)."""
    missed = {ref.names[c].split("[")[0] for c in components} if ref.mode == "full" else set(live.input_names)
    return [node for node, prim in ref.at_kink
            if not primitives.get(prim).piecewise_constant and missed & live.upstream(node)]


def _off_smooth_kind(ref: KinkReference, live: Function, inputs, cotangents, grads, components) -> str:
    """The kind of a regular miss at a kink (no convention changes it: :func:`_kinks_on`): ``precision-loss`` where the reference
    tape misses every such component too in the dtype (right formulas, lost digits: numpy-ref's formulas are judged
    against the oracle at the regular points of every campaign), else ``wrong-value``."""
    from .errormodel import _tape_vjp

    tape = ref.components(_tape_vjp(live, inputs, cotangents))
    tol = ref.tolerance + ref.rounding(grads)
    for c in components:
        cands = [float(side[c]) for side in ref.sides.values() if not np.isnan(side[c])]
        if not (np.isfinite(tape[c]) and all(abs(tape[c] - cv) > tol[c] for cv in cands)):
            return "wrong-value"
    return "precision-loss"


def _describe(ref: KinkReference, c: int, val, cands: dict) -> str:
    sides = ", ".join(f"{label} {v:.17g}" for label, v in cands.items())
    return f"{ref.names[c]} = {float(val):.17g}; sides: {sides}"


def _overflow(fn: Function, outputs) -> str:
    """Why the point is outside the dtype's range, or "": an exact output that overflows it (sinh(1e155)) has
    no float value, and neither has the VJP through it (a zero cotangent times inf is NaN in every library)."""
    big = float(np.finfo(fn.dtype).max)
    for name, out in zip(fn.outputs, outputs):
        out = np.asarray(out, dtype=object if np.asarray(out).dtype == object else np.float64).reshape(-1)
        if any(abs(v) > big for v in out):
            return f"the exact value of output {name} overflows {fn.dtype}"
    return ""


def counted_elsewhere(work, checked) -> str | None:
    """Why ``work`` was not counted on the code whose values ``checked`` (the derivatives the campaign judged) came
    from, or None: its ``values`` (the derivatives its counted run computed, when the counter runs the code; contract:
    ``work``) differ from ``checked`` beyond half the dtype's digits (the same code at the same point gives the same
    values, up to the rounding of a reordered sum; another code gives other values). None without ``values``."""
    counted = getattr(work, "values", None)
    if counted is None:
        return None
    if len(counted) != len(checked):
        return (f"work was counted on other code than the checked one: its run gave {len(counted)} derivatives, the "
                f"checked one {len(checked)}")
    for i, (a, b) in enumerate(zip(checked, counted)):
        a = np.asarray(a)
        b = np.zeros_like(a) if b is None else np.asarray(b)
        if a.shape != b.shape:
            return (f"work was counted on other code than the checked one: derivative {i} has shape {b.shape} in the "
                    f"counted run, {a.shape} in the checked one")
        finfo = np.finfo(a.dtype if a.dtype.kind == "f" else np.float64)
        tol = float(np.sqrt(finfo.eps))
        finite = np.abs(a[np.isfinite(a)])
        scale = max(float(finite.max()) if finite.size else 0.0, float(finfo.tiny))
        if not np.allclose(b, a, rtol=tol, atol=tol * scale, equal_nan=True):
            worst = float(np.nanmax(np.abs(np.asarray(b, float) - np.asarray(a, float))))
            return (f"work was counted on other code than the checked one: derivative {i} of the counted run differs "
                    f"from the checked value by up to {worst:.3g} (scale {scale:.3g})")
    return None


def concurrent(backend) -> bool:
    """Whether ``backend`` may run in a thread of its own, beside the oracle and the other backends: it says so
    (``concurrent = True``: the JAX and PyTorch backends, whose compilations and kernels release the GIL), or it
    runs in a worker process (:class:`advalidate.isolation.Isolated`: the call waits on a pipe). Any other
    backend (a plug-in loaded in-process) runs in the calling thread, one call at a time, as it always has."""
    from .isolation import Isolated

    return bool(getattr(backend, "concurrent", False)) or isinstance(backend, Isolated)


class _Job:
    """One backend's VJP (:func:`vjp_job`) or JVP (:func:`advalidate.forward_mode.jvp_job`), and its work when asked,
    on a daemon thread of its own (a backend that hangs keeps its thread, never the process's exit). The verdict is made later in the calling thread, from ``result()``:
    the same VJP and work the backend would have returned there. The work is counted whatever the VJP's verdict
    and used only where the VJP passes, as before."""

    def __init__(self, backend, call, count=None, label: str = "vjp", work_label: str = "work", after=None):
        # ``call(caught) -> (values, problem)``; ``count(caught) -> Work`` (None: no work counted); ``after``: a job
        # of the same backend to wait for (a backend's calls are made one at a time: an isolated backend answers on
        # one pipe, and a library's caches are not shared across threads)
        self.backend, self.call, self.count, self.after = backend, call, count, after
        self.label, self.work_label = label, work_label
        self.seconds = Counter()
        self.values = self.problem = self.work = self.work_error = None
        self.warnings: list = []  # what the backend warned, in this thread (advalidate.warnings_capture)
        self._thread = threading.Thread(target=self._run, name=f"advalidate-{label}-{backend.name}", daemon=True)
        self._thread.start()

    def _run(self):
        if self.after is not None:
            self.after.result()
        name = self.backend.name
        clock = time.perf_counter()
        self.values, self.problem = self.call(self.warnings)
        now = time.perf_counter()
        self.seconds[f"{self.label} {name}"] += now - clock
        if self.problem is None and self.count is not None:
            try:
                self.work = self.count(self.warnings)
            except Exception as e:  # noqa: BLE001  reported as a finding where the values pass, as before
                self.work_error = e
            self.seconds[f"{self.work_label} {name}"] += time.perf_counter() - now

    def result(self):
        self._thread.join()
        return self


def vjp_job(backend, fn: Function, inputs, cotangents, measure_work: bool) -> _Job:
    """A backend's VJP (and its work, when asked) in a thread of its own (:class:`_Job`)."""
    count = (lambda caught: run_work(backend, fn, inputs, cotangents, caught)) \
        if measure_work and callable(getattr(backend, "work", None)) else None
    return _Job(backend, lambda caught: run_vjp(backend, fn, inputs, cotangents, caught), count)


def check_example(fn: Function, inputs, cotangents, backends, oracle: Oracle | None = None,
                  measure_work: bool = True, omega: float = OMEGA, tangents=None,
                  modes: tuple = ("vjp",)) -> ExampleResult:
    """Check every backend on one example. Never raises for a backend's misbehaviour.

    The backends run ``fn`` as given; the oracle, the error model and the kink test see ``fn.pruned()`` (the
    same VJP without the nodes no output depends on, so a dead ``relu`` at its kink does not make a kink point).

    What the backends are judged against is computed once per example and shared: the oracle's VJP, the error
    model's tolerances and classification runs (:class:`advalidate.errormodel.Reference`), the one-sided
    derivatives at a kink (:func:`kink_reference`). Backends that may run concurrently (:func:`concurrent`)
    start their VJPs (and work counts) in threads of their own as soon as the point is known to be in the
    domain, while the oracle computes; verdicts are made afterwards in this thread, backend by backend in the
    given order, exactly as if each had run here. ``seconds`` then holds each part's own time, and the parts
    overlap: their sum exceeds the wall time (``waiting``: this thread idle until a backend's thread ended).

    ``modes``: the modes of AD judged (:data:`advalidate.backends.contract.MODES`); ``"jvp"`` needs ``tangents``
    (one per input) and judges each backend's J·w (:mod:`advalidate.forward_mode`), its outcomes after the VJP's,
    with ``mode="jvp"``. ``"hvp"`` judges each backend's Hessian-vector products ``H_v·u`` along u = the same
    ``tangents`` (:mod:`advalidate.second_order`), with ``mode="hvp"``. The point's verdict (domain, kink, overflow,
    ill-conditioned) is shared by every mode.
    """
    oracle = oracle or Oracle(dtype=fn.dtype)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"modes {list(modes)!r}: choose among {', '.join(MODES)}")
    for m in ("jvp", "hvp"):
        if m in modes and tangents is None:
            raise ValueError(f"mode {m!r} needs tangents (one array per input)")
    live = fn.pruned()
    size = sum(int(np.prod(s)) for s in fn.inputs)
    mode = "full" if size <= FULL_MODE_LIMIT else "projected"
    point, kink = "regular", ""
    seconds = Counter()
    clock = time.perf_counter()

    def lap(key):
        nonlocal clock
        now = time.perf_counter()
        seconds[key] += now - clock
        clock = now

    try:
        # the domain first (one high-precision evaluation): no backend is called at a point outside it
        oracle.check_point(live, inputs)
    except KinkError as e:
        point, kink = "kink", f"{e.node} ({e.prim})"
    except DomainError as e:
        return ExampleResult(None, "domain", _skipped(backends, str(e), modes), function=live)
    why_not = {b.name: supports(b, fn) for b in backends}
    jobs = {b.name: vjp_job(b, fn, inputs, cotangents, measure_work) for b in backends
            if not why_not[b.name] and concurrent(b)} if "vjp" in modes else {}
    jvp_jobs = {}
    if "jvp" in modes and point == "regular":  # forward mode's calls run beside the oracle too
        from .backends.contract import supports_mode
        from .forward_mode import jvp_job

        jvp_jobs = {b.name: jvp_job(b, fn, inputs, tangents, measure_work, after=jobs.get(b.name)) for b in backends
                    if concurrent(b) and not supports_mode(b, fn, "jvp")}
    hvp_jobs = {}
    if "hvp" in modes and point == "regular":
        from .backends.contract import supports_mode
        from .second_order import hvp_job

        hvp_jobs = {b.name: hvp_job(b, fn, inputs, cotangents, tangents, measure_work,
                                    after=jvp_jobs.get(b.name) or jobs.get(b.name))
                    for b in backends if concurrent(b) and not supports_mode(b, fn, "hvp")}
    try:
        result = _judge(fn, live, inputs, cotangents, backends, oracle, measure_work, omega, mode, point, kink, jobs,
                        why_not, seconds, lap, modes)
        if "jvp" in modes and result.point in ("regular", "kink"):
            from .forward_mode import judge

            result.jvp_oracle, more = judge(fn, live, inputs, tangents, backends, oracle, measure_work, omega,
                                            result.point, result.kink, why_not, seconds, lap, jvp_jobs)
            result.outcomes.extend(more)
        else:
            for job in jvp_jobs.values():  # the point was skipped: their results are not looked at
                job.result()
        if "hvp" in modes and result.point in ("regular", "kink"):
            from .second_order import judge as judge_hvp

            result.hvp_oracle, more = judge_hvp(fn, live, inputs, cotangents, tangents, backends, oracle, measure_work,
                                                omega, result.point, result.kink, why_not, seconds, lap, hvp_jobs)
            result.outcomes.extend(more)
        else:
            for job in hvp_jobs.values():
                job.result()
        return result
    except BaseException as e:
        if not isinstance(e, KeyboardInterrupt):  # no backend is left running into the next example
            for job in (*jobs.values(), *jvp_jobs.values(), *hvp_jobs.values()):
                job.result()
        if not isinstance(e, Exception):
            raise
        # advalidate's own failure to judge (the backends' exceptions are findings, caught where they run): the
        # example is counted as an "unjudged" point with the reason on every backend, never a campaign that ends
        why = f"advalidate could not judge this example: {type(e).__name__}: {e}\n" + \
            "".join(traceback.format_exception(e)[-3:])
        return ExampleResult(None, "unjudged", _skipped(backends, why, modes), function=live)


def _skipped(backends, why: str, modes) -> list:
    """Every backend skipped in every mode asked, for the reason ``why``."""
    return [Outcome(b.name, "skipped", message=why, mode=m) for m in modes for b in backends]


def _judge(fn, live, inputs, cotangents, backends, oracle, measure_work, omega, mode, point, kink, jobs, why_not,
           seconds, lap, modes=("vjp",)) -> ExampleResult:
    """The oracle, then each backend's verdict (:func:`check_example`, past the domain test). Without ``"vjp"`` in
    ``modes`` only the point's verdict is made (no oracle VJP, no backend's VJP)."""
    ref, sides, undefined, skipped = None, None, "", ""
    if point == "regular" and "vjp" in modes:
        try:
            ref = oracle.vjp(live, inputs, cotangents, mode=mode)
        except KinkError as e:  # not expected after check_point: the same test
            point, kink = "kink", f"{e.node} ({e.prim})"
        except DomainError as e:  # a step of the oracle left the domain
            skipped, point = str(e), "domain"
    if not skipped:
        overflow = _overflow(live, ref.outputs if ref is not None else oracle.value(live, inputs))
        if overflow:
            skipped, point = overflow, "overflow"
        else:  # at a kink too: the one-sided derivatives are no better judged where f itself rounds away
            unstable = ill_conditioned(live, inputs, cotangents)
            if unstable:
                skipped, point = unstable, "ill-conditioned"
    reference = Reference(live, inputs, cotangents, ref) if ref is not None else None
    if not skipped and "vjp" in modes:
        # terms of the reverse pass beyond the dtype's range (checked only where the float tape's VJP is not finite;
        # at a kink too: fmod(1, 8.3e-317)'s y-derivative -trunc(x/y) is -1.2e316 on either side)
        beyond = reference.unrepresentable if reference is not None else \
            unrepresentable(live, inputs, cotangents, _tape_vjp(live, inputs, cotangents))
        if beyond:
            skipped, point = beyond, "overflow"
    if skipped:
        for job in jobs.values():  # the backends ran for nothing: their results are not looked at
            job.result()
        return ExampleResult(None, point, _skipped(backends, skipped, modes), function=live)
    lap("oracle")

    outcomes = []
    for backend in backends if "vjp" in modes else ():
        why = why_not[backend.name]
        if why:
            outcomes.append(Outcome(backend.name, "unsupported", message=why))
            continue
        lap("other")
        job = jobs.get(backend.name)
        if job is not None:
            job.result()
            lap("waiting")
            seconds.update(job.seconds)
            grads, problem, caught = job.values, job.problem, job.warnings
        else:
            caught = []
            grads, problem = run_vjp(backend, fn, inputs, cotangents, caught)
            lap(f"vjp {backend.name}")
        if problem:
            outcomes.append(Outcome(backend.name, "finding", "error", problem, warnings=caught))
            continue
        outcome = Outcome(backend.name, "pass", grads=grads, warnings=caught)
        if point == "kink":
            if sides is None and not undefined:
                try:
                    sides = kink_reference(live, inputs, cotangents, oracle)
                except DomainError as e:  # a one-sided step leaves the domain (log(relu(x)) at 0, from the left)
                    undefined = f"at a kink of {kink} a one-sided derivative is undefined: {e}"
            if undefined:
                outcomes.append(Outcome(backend.name, "skipped", message=undefined, grads=grads))
                continue
            label, worst, detail, missed = _convention(sides, grads)
            outcome.convention = label
            if label == "nan-inf":
                outcome.status, outcome.kind = "finding", "nan-inf"
                outcome.message = (f"at a kink of {kink} the VJP is NaN or inf where the one-sided derivatives are "
                                   f"finite: {detail}")
            elif label in ("other", "off-smooth"):
                kinks = _kinks_on(sides, live, missed["other"] + missed["off-smooth"])
                if len(kinks) >= 2:
                    # several kinks on the missed inputs: AD chooses a derivative primitive by primitive, and a
                    # combination of choices need not be a one-sided derivative of f (2·leaky_relu(x) - |x| at 0:
                    # torch's 0.02 + 0 = 0.02 + 0.0246, where f's sides are 1.0246 and 1.0446): no verdict
                    outcome.convention = "combined"
                elif label == "off-smooth" and not kinks:
                    outcome.status = "finding"
                    outcome.kind = _off_smooth_kind(sides, live, inputs, cotangents, grads, missed["off-smooth"])
                    outcome.message = (f"at a kink of {kink}, on a component where f is smooth (its one-sided "
                                       f"derivatives agree) and no convention at a kink changes it, the VJP misses "
                                       f"them (error {worst:.3g}× the tolerance): {detail}")
                else:  # one kink's convention can explain it: as a component matching no side
                    outcome.status, outcome.kind, outcome.convention = "finding", "convention", "other"
                    outcome.message = (f"at a kink of {kink} the VJP matches neither one-sided derivative nor lies "
                                       f"between them (off by {worst:.3g}× the tolerance): {detail}")
        else:
            compare = compare_full if mode == "full" else compare_projected
            outcome.comparison = compare(live, inputs, cotangents, ref, grads, reference)
            if not outcome.comparison.ok:
                outcome.status, outcome.kind = "finding", outcome.comparison.kind
                outcome.message = f"error {outcome.comparison.ratio:.3g}× the tolerance"
        lap("oracle (one-sided)" if point == "kink" else "error model")
        if outcome.status == "finding":
            flushed = _flush_to_zero(backend, fn, inputs, cotangents, grads)
            if flushed:
                outcome.tag, outcome.message = FLUSH_TO_ZERO, f"{flushed}: {outcome.message}"
            lap(f"vjp {backend.name}")
        if measure_work and outcome.status == "pass" and callable(getattr(backend, "work", None)):
            if job is not None:
                work, failure = job.work, job.work_error
            else:
                work, failure = None, None
                try:
                    work = run_work(backend, fn, inputs, cotangents, outcome.warnings)
                except Exception as e:
                    failure = e
                lap(f"work {backend.name}")
            if isinstance(failure, NotCounted):
                outcome.not_counted = str(failure) or "not counted"
            elif failure is not None:
                outcome.status, outcome.kind = "finding", "error"
                outcome.message = f"work counting failed: {type(failure).__name__}: {failure}"
            elif counted_elsewhere(work, grads):
                outcome.status, outcome.kind, outcome.message = "finding", "error", counted_elsewhere(work, grads)
            else:
                outcome.work = work
                io = io_allowance(live, inputs, cotangents, outcome.work.forward)
                # ω of the program whose work was counted, dead nodes included (a backend runs them: eager jax.vjp
                # linearizes a dead svdvals into a full SVD with U and V, 8× the values alone)
                verdict = check_bound(outcome.work, program_omega(fn, omega), io=io)
                if not verdict.ok:
                    outcome.status, outcome.kind, outcome.message = "finding", "cost-bound", verdict.message
        outcomes.append(outcome)
    _cross_check(live, inputs, cotangents, outcomes, oracle)
    lap("other")
    return ExampleResult(ref, point, outcomes, kink, seconds, function=live, sides=sides)


def _subnormal(x, dtype: str) -> np.ndarray:
    a = np.asarray(x)
    return (a != 0) & (np.abs(a) < np.finfo(dtype).tiny)


def _flush_to_zero(backend, fn: Function, inputs, cotangents, grads) -> str | None:
    """Whether ``backend``'s VJP is explained by flushing subnormal numbers to zero (the sentence saying so, or
    None): its subnormal inputs (:func:`_flushed_inputs`), or else subnormal values of its forward pass
    (:func:`_flushed_forward`)."""
    return _flushed_inputs(backend, fn, inputs, cotangents, grads) or _flushed_forward(backend, fn, inputs,
                                                                                       cotangents, grads)


def _flushed_inputs(backend, fn: Function, inputs, cotangents, grads) -> str | None:
    """The backend's VJP with the subnormal inputs replaced by signed zeros is its VJP bit for bit, while the
    reference tape (IEEE arithmetic, no flushing) tells the two points apart."""
    if not any(np.any(_subnormal(x, fn.dtype)) for x in inputs):
        return None
    flushed = [np.where(_subnormal(x, fn.dtype), np.copysign(np.zeros_like(x), x), x).astype(np.asarray(x).dtype)
               for x in inputs]
    again, problem = run_vjp(backend, fn, flushed, cotangents)
    if problem or not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(again, grads)):
        return None
    from .backends.numpy_ref import NumpyReference

    reference = NumpyReference()
    at_x, _ = run_vjp(reference, fn, inputs, cotangents)
    at_zero, _ = run_vjp(reference, fn, flushed, cotangents)
    if at_x is None or at_zero is None:
        return None
    if all(np.array_equal(a, b, equal_nan=True) for a, b in zip(at_x, at_zero)) and \
            not _flushed_onto_a_kink(fn, inputs, flushed):
        # the subnormal values do not matter to IEEE arithmetic's VJP and flushing puts no node on a kink (where a
        # library's convention may differ from the reference tape's: leaky_relu at -4.2e-316 is on the slope
        # side, at -0 jax takes the side of 1): flushing explains nothing
        return None
    if all(np.array_equal(a, b, equal_nan=True) for a, b in zip(grads, at_x)):
        return None  # the backend gives what IEEE arithmetic gives at x (0.25/2.1e-316 overflows either way): no flush
    where = [(i, idx) for i, x in enumerate(inputs) for idx in np.ndindex(np.shape(x)) if _subnormal(x, fn.dtype)[idx]]
    named = [(_element_name(i, tuple(int(j) for j in idx)), np.asarray(inputs[i])[idx]) for i, idx in where]
    values = ", ".join(f"{name} = {float(v):.3g}" for name, v in named)
    zeros = ", ".join(f"{name} = {'-' if np.signbit(v) else ''}0" for name, v in named)
    one = len(named) == 1
    return (f"input{'' if one else 's'} {values} {'is' if one else 'are'} subnormal in {fn.dtype}; {backend.name} "
            f"flushes {'it' if one else 'them'} to zero (its VJP equals the VJP at {zeros})")


def _flushed_onto_a_kink(fn: Function, inputs, flushed) -> bool:
    """Whether flushing the subnormal inputs puts a node exactly on a kink that the exact inputs are off (a gap of
    exactly 0 in float64 arithmetic there, not at x)."""
    from .backends import numpy_ref

    def kinks(point):
        values = numpy_ref.forward(fn, point)
        return gaps(fn, {k: np.asarray(numpy_ref.counting.unwrap(v), np.float64) for k, v in values.items()})

    with np.errstate(all="ignore"):
        try:
            at_x, at_zero = {g.node: g.kink for g in kinks(inputs)}, kinks(flushed)
        except Exception:  # a forward pass that fails at the flushed point: no evidence
            return False
    return any(g.kink == 0 and at_x.get(g.node, 0) > 0 for g in at_zero)


def _flushed_forward(backend, fn: Function, inputs, cotangents, grads) -> str | None:
    """The reference tape's forward pass in the function's dtype has subnormal values, and the tape run with every
    subnormal value (inputs and nodes) flushed to a signed zero matches the backend's VJP, within the error model's
    K·(n+1)·u·scale, where the tape run in IEEE arithmetic does not: the backend's result is what flushing gives.
    (A backend's own forward values are not observable: the reference tape stands in for them.)"""
    from .backends import numpy_ref

    def flush(node, value, args):
        value = np.asarray(value)
        return np.where(_subnormal(value, fn.dtype), np.copysign(np.zeros_like(value), value), value).astype(value.dtype)

    with np.errstate(all="ignore"):
        plain = numpy_ref.forward(fn, inputs)
        where = [(name, fn.nodes[int(name[1:])].prim, np.asarray(numpy_ref.counting.unwrap(plain[name])))
                 for name in fn.node_names]
        where = [(name, prim, v[_subnormal(v, fn.dtype)]) for name, prim, v in where]
        where = [(name, prim, v.reshape(-1)[0]) for name, prim, v in where if v.size]
        if not where:
            return None
        flushed = numpy_ref.forward(fn, [flush(None, x, None) for x in inputs], flush)
        at_x = [np.asarray(g, np.float64) for g in numpy_ref.backward(fn, plain, cotangents)]
        at_flushed = [np.asarray(g, np.float64) for g in numpy_ref.backward(fn, flushed, cotangents)]
        values64 = {k: np.asarray(numpy_ref.counting.unwrap(v), np.float64) for k, v in plain.items()}
        scale = [np.asarray(m, np.float64) for m in magnitude(fn, values64, cotangents)]
        def close(a, b, m):
            return (a == b) | (np.isnan(a) & np.isnan(b)) | \
                (np.abs(a - b) <= rounding_bound(len(fn.nodes), fn.dtype, np.fmax(m, np.fmax(np.abs(a), np.abs(b)))))

        explains = all(np.all(close(np.asarray(g, np.float64), f, m)) for g, f, m in zip(grads, at_flushed, scale))
        matters = not all(np.all(close(a, f, m)) for a, f, m in zip(at_x, at_flushed, scale))
    if not (explains and matters):
        return None
    named = ", ".join(f"{name} ({prim}) = {float(v):.3g}" for name, prim, v in where[:3])
    more = f" and {len(where) - 3} more" if len(where) > 3 else ""
    one = len(where) == 1
    return (f"the forward value{'' if one else 's'} {named}{more} {'is' if one else 'are'} subnormal in {fn.dtype}; "
            f"{backend.name} flushes {'it' if one else 'them'} to zero (its VJP is the reference tape's with every "
            f"subnormal value flushed to zero)")


def _cross_check(fn: Function, inputs, cotangents, outcomes, oracle: Oracle):
    """Record which backends agree with each other: component by component within twice the error model's
    K·(n+1)·u·scale (each may be that far from the truth), scale the magnitude |v|^T |J_L| ... |J_1| floored by
    the two values compared. Identical values (NaN and inf included) agree."""
    done = [o for o in outcomes if o.grads is not None]
    if len(done) < 2:
        return
    with mpmath.workprec(oracle.prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
    with np.errstate(all="ignore"):
        scale = [np.asarray(m, np.float64) for m in magnitude(fn, _float_values(values), cotangents, values)]
    for a in done:
        for b in done:
            if a is b:
                continue
            close = True
            with np.errstate(all="ignore"):
                for x, y, m in zip(a.grads, b.grads, scale):
                    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
                    same = (x == y) | (np.isnan(x) & np.isnan(y))
                    near = np.abs(x - y) <= rounding_bound(len(fn.nodes), fn.dtype, np.fmax(m, np.fmax(np.abs(x), np.abs(y))),
                                                           factor=2)
                    close = close and bool(np.all(same | near))
            if close:
                a.agrees_with.append(b.backend)
