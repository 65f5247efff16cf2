"""Per-primitive conformance checks: every catalogue primitive and a few compositions, against the oracle.

They complement the campaign (:mod:`advalidate.campaign`, random programs): a fixed, deterministic coverage
of every primitive a backend declares, in every dtype it runs, that a backend author can run in seconds
(``run_checks(MyBackend)``, or ``pytest --pyargs advalidate.conformance -k primitive``).

A check is one program in one dtype, run at a few well-conditioned random points (drawn from a seed and the
check's id, so any single check reproduces alone). At each point the backend must return outputs and
gradients of the right number, shape and dtype, outputs within K·(n+1)·u of the oracle's relative to the
largest value the program computes, and a VJP that passes :func:`advalidate.errormodel.compare_full`.
A draw that the oracle refuses (near a kink or a domain edge), or that puts a tanh or sigmoid in its
saturation tail, is replaced by the next draw. A primitive the backend does not declare is reported as
"not supported" and never run.

Check ids read ``vjp[float64][sin]`` or ``vjp[float32][chain-tanh]``. A backend with forward mode (a ``jvp``
method: :mod:`advalidate.backends.contract`) is checked in it too: ``jvp[float64][sin]`` compares its J·w along a
random tangent with the oracle's (:mod:`advalidate.forward_mode`); a primitive outside its ``jvp_primitives`` is
"not supported" there. A failure is matched against the backend's known-behaviour file by its kind, its program's
primitive signature and its mode (:mod:`advalidate.known`).
"""

from __future__ import annotations

import hashlib
import math
import traceback
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .. import builder, primitives
from ..backends.contract import modes_of
from ..evaluate import to_mp
from ..builder import Builder
from ..errormodel import compare_full, rounding_bound, unit_roundoff
from ..evaluate import trace
from ..errors import OracleError
from ..ir import DTYPES, Function
from ..oracle import Oracle
from ..render import DIALECTS, render

__all__ = ["Check", "CheckReport", "Outcome", "checks", "run_check", "run_checks", "signature", "single", "COMPOSITIONS",
           "point"]

MAX_INVALID = 10  # draws rejected (on a kink or a domain edge) per point before the check gives up

def single(name: str, dtype: str = "float64", shape=(3, 4)) -> Function:
    """A one-node program applying primitive ``name`` to inputs of ``shape`` (its registration's example)."""
    return builder.single(name, shape, dtype)


def _chain_tanh(dtype):
    b = Builder(dtype)
    A1, A2, x = b.input(4, 5), b.input(3, 4), b.input(5)
    return b.build(b.matmul(A2, b.tanh(b.matmul(A1, x))))


def _softmax_net(dtype):
    b = Builder(dtype)
    W, x, bias = b.input(4, 6), b.input(6), b.input(4)
    logits = b.add(b.matmul(W, x), bias)
    return b.build(b.sum(b.mul(b.softmax(logits), b.log_softmax(logits))), b.logsumexp(logits))


def _fan_out_broadcast(dtype):
    """Fan-out, broadcasting of a row against a matrix, a reduction, and an input (x2) no output uses."""
    b = Builder(dtype)
    x, row, _ = b.input(3, 4), b.input(4), b.input(2)
    s = b.sin(x)
    y = b.mul(b.add(s, row), b.exp(b.mul(s, row)))
    return b.build(b.mean(y, axis=0), b.sigmoid(b.max(b.sub(y, s), axis=1)))


def _structural(dtype):
    b = Builder(dtype)
    x, y = b.input(2, 3), b.input(2, 3)
    c = b.concatenate(b.transpose(x), b.transpose(y), axis=1)  # (3, 4)
    s = b.stack(b.index(c, key=[[0, 2, 1]]), b.reshape(b.index(c, key=[[1, 3, 1]]), shape=[2, 4]), axis=0)
    return b.build(b.prod(b.softplus(b.broadcast_to(s, shape=[3, 2, 2, 4])), axis=0))


COMPOSITIONS = {"chain-tanh": _chain_tanh, "softmax-net": _softmax_net, "fan-out-broadcast": _fan_out_broadcast,
                "structural": _structural}


def point(fn: Function, rng: np.random.Generator) -> list[np.ndarray]:
    """A random point inside every domain and away from kinks: magnitudes in [0.4, 1.6], random signs, each input
    made valid for the operands that read it (:func:`advalidate.primitives.fixed_point`)."""
    return primitives.fixed_point(fn, rng)


@dataclass
class Check:
    """One program in one dtype, identified by ``id``."""

    id: str
    function: Function
    supported: bool
    missing: list = field(default_factory=list)

    def points(self, n: int, seed: int):
        """``n`` (inputs, cotangents) pairs, the same for a given id and seed (an endless stream if n is None)."""
        digest = hashlib.sha256(f"{seed}:{self.id}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        fn = self.function
        count = 0
        while n is None or count < n:
            yield point(fn, rng), [rng.normal(size=s).astype(fn.dtype) for s in fn.output_shapes]
            count += 1


@dataclass
class Outcome:
    """What one check found. ``status``: pass, fail, known (a failure a known-behaviour entry matches), not-supported."""

    id: str
    status: str
    kind: str | None = None  # on failure: wrong-value, precision-loss, nan-inf, error
    detail: str = ""
    ratio: float = 0.0  # the worst error / tolerance over the points
    reproduction: str = ""  # runnable source and the failing point

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def checks(backend, dtypes=None) -> list[Check]:
    """Every check for ``backend``: each catalogue primitive, then the compositions, per dtype it runs."""
    dtypes = [d for d in (dtypes or DTYPES) if d in backend.dtypes]
    out = []
    for dtype in dtypes:
        programs = [(name, single(name, dtype)) for name in primitives.CATALOGUE]
        programs += [(name, make(dtype)) for name, make in COMPOSITIONS.items()]
        for name, fn in programs:
            missing = [p for p in fn.primitives_used if p not in backend.primitives]
            out.append(Check(f"vjp[{dtype}][{name}]", fn, not missing, missing))
        if "jvp" in modes_of(backend):
            table = getattr(backend, "jvp_primitives", None)
            table = backend.primitives if table is None else table
            for name, fn in programs:
                missing = [p for p in fn.primitives_used if p not in table]
                out.append(Check(f"jvp[{dtype}][{name}]", fn, not missing, missing))
    return out


def _jvp_failure(backend, fn, xs, ws, oracle):
    """(kind, detail, ratio) of the backend's J·w at one point against the oracle's, or (None, "", ratio)."""
    from ..forward_mode import JVPReference, compare_jvp, run_jvp

    reference = oracle.jvp(fn, xs, ws)
    with mpmath.workprec(oracle.prec):
        exact = trace(fn, [to_mp(x) for x in xs], "mp")
    ref = JVPReference(fn, xs, ws, reference, exact)
    if ref.unjudgeable:
        raise OracleError(ref.unjudgeable)
    got, problem = run_jvp(backend, fn, xs, ws)
    if problem:
        return "error", problem, math.inf
    verdict = compare_jvp(ref, got)
    if verdict.ok:
        return None, "", verdict.ratio
    k, idx = verdict.worst
    value = np.asarray(got[k], np.float64)[idx]
    return (verdict.kind, f"J·w of output {k} at {list(idx)}: backend {value!r}, oracle {reference.tangents[k][idx]!r}, "
            f"error/tolerance {verdict.ratio:.3g}", verdict.ratio)


def _reproduction(backend, fn, xs, vs, ws=None) -> str:
    """The program as the backend ran it, and the point and cotangents (forward mode: the tangents w, one per input)
    as NumPy arrays (exact values)."""
    dialect = getattr(backend, "dialect", None) or DIALECTS["numpy"]
    data = [f"x{i} = np.array({np.asarray(x).tolist()!r}, dtype=np.{fn.dtype})" for i, x in enumerate(xs)]
    if ws is None:
        data += [f"v{i} = np.array({np.asarray(v).tolist()!r}, dtype=np.{fn.dtype})" for i, v in enumerate(vs)]
        what = "the output cotangents v"
    else:
        data += [f"w{i} = np.array({np.asarray(w).tolist()!r}, dtype=np.{fn.dtype})" for i, w in enumerate(ws)]
        what = "the input tangents w of forward mode (J·w)"
    return (f"{render(fn, dialect)}\n# the point x and {what} (NumPy; convert them to the library's "
            f"arrays)\nimport numpy as np\n" + "\n".join(data) + "\n")


def _structure(fn, result) -> str | None:
    """Why ``result`` does not have the contract's shape and dtype (None: it does)."""
    outs, grads = getattr(result, "outputs", None), getattr(result, "grads", None)
    if outs is None or grads is None or len(outs) != len(fn.outputs) or len(grads) != len(fn.inputs):
        return f"vjp returned {result!r:.200}; expected VJP(outputs={len(fn.outputs)} arrays, grads={len(fn.inputs)})"
    want = np.dtype(fn.dtype)
    for what, arrays, shapes in (("output", outs, fn.output_shapes), ("gradient", grads, fn.inputs)):
        for i, (a, s) in enumerate(zip(arrays, shapes)):
            if not isinstance(a, np.ndarray):
                return f"{what} {i} is a {type(a).__name__}, not a NumPy array"
            if a.shape != tuple(s) or a.dtype != want:
                return f"{what} {i} has shape {a.shape} and dtype {a.dtype}; expected {tuple(s)} and {want}"
    return None


def _forward_error(fn, xs, outs, oracle_outs) -> str | None:
    """Outputs must be within K·(n+1)·u of the largest value the program computes (which bounds what cancelled):
    the error model's :func:`~advalidate.errormodel.rounding_bound` with that largest value as the scale."""
    tol = rounding_bound(len(fn.nodes), fn.dtype, 1.0)
    with np.errstate(all="ignore"):
        values = trace(fn.with_dtype("float64"), [np.asarray(x, np.float64) for x in xs])
    scale = max(float(np.max(np.abs(v), initial=0.0)) for v in values.values())
    for i, (o, r) in enumerate(zip(outs, oracle_outs)):
        o = np.asarray(o, np.float64)
        err = float(np.max(np.abs(o - r), initial=0.0)) if np.all(np.isfinite(o)) else math.inf
        if err > tol * max(scale, float(np.finfo(fn.dtype).tiny)):
            return (f"output {i} differs from the oracle by {err:.3g} (largest value in the program {scale:.3g}, "
                    f"tolerance {tol:.3g} of it)")
    return None


def _saturated(fn, xs) -> str | None:
    """The first saturating op (tanh, sigmoid: a registration's ``Special.slope``) whose operand lies in its
    saturation tail, if any.

    The tail is where the derivative has fallen below sqrt(u) of its peak (tanh: |x| > 4.85 in float32, 9.9 in
    float64): there the textbook ``1 - y^2`` or ``y (1 - y)`` has lost half its digits in every library. That
    is a real finding, but one for the special points of a campaign, not for a conformance check.
    """
    floor = math.sqrt(unit_roundoff(fn.dtype))
    with np.errstate(all="ignore"):
        values = trace(fn.with_dtype("float64"), [np.asarray(x, np.float64) for x in xs])
        for name, node in fn.named_nodes():
            slope = primitives.get(node.prim).special.slope
            if slope is not None and node.args and np.any(slope(values[node.args[0]]) < floor):
                return f"{name} ({node.prim})"
    return None


def run_check(backend, check: Check, points: int = 3, seed: int = 0) -> Outcome:
    """Run ``check`` on ``backend`` at ``points`` points; the outcome of the first failing point, else a pass."""
    if not check.supported:
        return Outcome(check.id, "not-supported", detail=f"does not support {', '.join(check.missing)}")
    fn = check.function
    oracle = Oracle(dtype=fn.dtype)
    worst, judged, invalid = 0.0, 0, 0
    forward = check.id.startswith("jvp[")
    for xs, vs in check.points(None, seed):
        if judged == points:
            break
        if forward:  # the tangents: one per input, drawn like the cotangents
            digest = hashlib.sha256(f"{seed}:{check.id}:{judged}:{invalid}".encode()).digest()
            tangent_rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            ws = [tangent_rng.normal(size=np.shape(x)).astype(fn.dtype) for x in xs]
            try:
                saturated = _saturated(fn, xs)
                if saturated:
                    raise OracleError(f"{saturated} saturates")
                oracle.check_point(fn, xs)
                kind, detail, ratio = _jvp_failure(backend, fn, xs, ws, oracle)
            except OracleError as e:
                invalid += 1
                if invalid > MAX_INVALID * points:
                    raise RuntimeError(f"{check.id}: {invalid} draws were not valid points, the last: {e}") from e
                continue
            judged += 1
            worst = max(worst, ratio if math.isfinite(ratio) else 0.0)
            if kind is not None:
                return Outcome(check.id, "fail", kind, detail, ratio, _reproduction(backend, fn, xs, vs, ws))
            continue
        try:
            saturated = _saturated(fn, xs)
            if saturated:
                raise OracleError(f"{saturated} saturates")
            reference = oracle.vjp(fn, xs, vs)
        except OracleError as e:  # near a kink, a domain edge or a saturation tail: not a default point; draw again
            invalid += 1
            if invalid > MAX_INVALID * points:
                raise RuntimeError(f"{check.id}: {invalid} draws were not valid points, the last: {e}") from e
            continue
        judged += 1
        failure = None
        try:
            result = backend.vjp(fn, [np.array(x) for x in xs], [np.array(v) for v in vs])
        except Exception as e:
            failure = ("error", f"vjp raised {type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}", math.inf)
        else:
            problem = _structure(fn, result)
            forward = None if problem else _forward_error(fn, xs, result.outputs, reference.outputs)
            if problem or forward:
                failure = ("error", problem, math.inf) if problem else ("wrong-value", forward, math.inf)
            else:
                verdict = compare_full(fn, xs, vs, reference, result.grads)
                worst = max(worst, verdict.ratio)
                if not verdict.ok:
                    i, idx = verdict.worst
                    got = np.asarray(result.grads[i], np.float64)[idx]
                    failure = (verdict.kind, f"gradient of x{i} at {list(idx)}: backend {got!r}, oracle "
                               f"{reference.grads[i][idx]!r}, error/tolerance {verdict.ratio:.3g}", verdict.ratio)
        if failure:
            kind, detail, ratio = failure
            return Outcome(check.id, "fail", kind, detail, ratio, _reproduction(backend, fn, xs, vs))
    return Outcome(check.id, "pass", ratio=worst)


def signature(fn: Function) -> str:
    """The primitives of ``fn``, sorted and ``+``-joined: what known-behaviour entries match (advalidate.known)."""
    return "+".join(fn.primitives_used)


@dataclass
class CheckReport:
    """The outcomes of :func:`run_checks` on one backend."""

    backend: str
    version: str
    outcomes: list = field(default_factory=list)
    known: dict = field(default_factory=dict)  # check id -> the known-behaviour entry that matched

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failures(self) -> list[Outcome]:
        """Failures that no known-behaviour entry matches."""
        return self.by_status("fail")

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        statuses = ("pass", "fail", "known", "not-supported")
        counts = {s: len(self.by_status(s)) for s in statuses}
        lines = [f"{self.backend} {self.version}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        for o in self.outcomes:
            if o.status in ("fail", "known"):
                lines.append(f"  {o.status.upper()} {o.id} [{o.kind}] {o.detail.splitlines()[0] if o.detail else ''}")
            if o.status == "known":
                entry = self.known[o.id]
                lines.append(f"      known ({entry.source}): {entry.comment}")
        return "\n".join(lines)


def run_checks(backend, *, dtypes=None, points: int = 3, seed: int = 0, known_dir=None, select=None,
               raise_on_failure: bool = True) -> CheckReport:
    """Run every check of :func:`checks` on ``backend`` (a registered name, a class or an instance).

    Failures that an entry of the backend's known-behaviour file matches (``<kind> <signature>``, see
    :mod:`advalidate.known`) are reported as known; any other failure raises AssertionError with the check id,
    the kind, the evidence and a runnable reproduction (unless ``raise_on_failure`` is False).
    ``select``: a predicate on check ids, to run a subset.
    """
    from ..backends.registry import default_registry, validate
    from ..known import KnownBehaviours

    backend = default_registry().get(backend) if isinstance(backend, str) else validate(backend)
    known = KnownBehaviours.load([backend], known_dir)
    report = CheckReport(backend.name, backend.version)
    for check in checks(backend, dtypes):
        if select is not None and not select(check.id):
            continue
        outcome = run_check(backend, check, points=points, seed=seed)
        mode = check.id.split("[", 1)[0]
        entry = known.match(backend.name, outcome.kind, signature(check.function), mode=mode) if outcome.failed else None
        if entry is not None:
            outcome.status = "known"
            report.known[outcome.id] = entry
        report.outcomes.append(outcome)
    if raise_on_failure and report.failures:
        details = "\n\n".join(f"{o.id} [{o.kind}]: {o.detail}\n{o.reproduction}" for o in report.failures)
        raise AssertionError(f"{report.summary()}\n\n{details}")
    return report
