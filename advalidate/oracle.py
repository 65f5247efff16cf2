"""The oracle: VJPs by high-precision central differences in mpmath, with an error estimate.

For a program f, a point x, cotangents v and a direction w, the oracle differentiates the scalar
``phi(t) = sum_o <v_o, f_o(x + t w)>`` at t = 0: ``phi'(0) = <v, J w> = <J^T v, w>``. It never uses the AD
rules under test, only the mpmath forms of the catalogue.

Accuracy. With step h = 2^-s, the central difference D(h) = phi'(0) + c h^2 + O(h^4). The oracle returns the
Richardson value R = (4 D(h/2) - D(h)) / 3 (error O(h^4)) and estimates its error by |D(h) - D(h/2)| / 3,
the error of D(h/2), plus a bound on the rounding of phi: the program runs at ``prec + s + 32`` bits, so
each evaluation's rounding, divided by the step, still leaves ``prec`` bits. At the defaults (prec = 128,
s = 64) a well-conditioned derivative is good to ~1e-38 relative and the estimate is ~c·1e-39. When the
estimate is larger than 2^-(prec-16) of the derivative (a singularity nearby makes c large) or a step leaves
the domain, the oracle retries with a step 2^-32 smaller, up to ``max_step_bits``.

Points outside a domain raise :class:`DomainError`; points on (or within ``kink_tolerance`` of) a kink or
tie raise :class:`KinkError`, unless a one-sided derivative is asked for (``side=+1`` or ``-1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .errors import DomainError, KinkError
from .evaluate import gaps, kink_tolerance, to_mp, trace
from .ir import Function

__all__ = ["Oracle", "Derivative", "OracleVJP"]


@dataclass(frozen=True)
class Derivative:
    """A directional derivative <v, J w> and a bound on its error (both mpf)."""

    value: mpmath.mpf
    error: mpmath.mpf
    step_bits: int


@dataclass
class OracleVJP:
    """The oracle's VJP. Full mode: ``grads``/``errors`` per input. Projected: ``directions``/``projections``."""

    mode: str
    outputs: list  # f(x) as float64 arrays
    grads: list | None = None  # full mode: J^T v per input, float64
    grads_mp: list | None = None  # full mode: the same as object arrays of mpf
    errors: list | None = None  # full mode: error bound per component, float64
    directions: list = field(default_factory=list)  # projected mode: per direction, a list of arrays (one per input)
    projections: list = field(default_factory=list)  # projected mode: Derivative per direction
    masked: list = field(default_factory=list)  # nodes outside their domain whose value `where` discarded
    max_error_rel: float = 0.0  # largest error estimate relative to the derivative's scale


class Oracle:
    """High-precision finite differences over the mpmath forms of the catalogue."""

    def __init__(self, prec: int = 128, step_bits: int = 64, max_step_bits: int = 1280, dtype: str = "float64"):
        if prec < 64 or step_bits < 8:
            raise ValueError(f"prec must be >= 64 bits and step_bits >= 8, got {prec}, {step_bits}")
        self.prec, self.step_bits, self.max_step_bits, self.dtype = prec, step_bits, max_step_bits, dtype

    def __repr__(self):
        return f"Oracle(prec={self.prec}, step_bits={self.step_bits}, dtype={self.dtype!r})"

    # ------------------------------------------------------------ evaluation

    def value(self, fn: Function, inputs, prec: int | None = None) -> list[np.ndarray]:
        """The outputs of ``fn`` at ``inputs`` in mpmath at ``prec`` bits (object arrays of mpf)."""
        with mpmath.workprec(prec or self.prec):
            values = trace(fn, [to_mp(x) for x in inputs], "mp")
        return [values[o] for o in fn.outputs]

    def check_point(self, fn: Function, inputs, allow_kinks: bool = False) -> list[str]:
        """Raise DomainError/KinkError if ``inputs`` is not a point where the VJP is defined.

        Returns the nodes outside their domain whose values a ``where`` discarded (the point is fine).
        """
        with mpmath.workprec(self.prec):
            values = trace(fn, [to_mp(x) for x in inputs], "mp")
        nan_nodes = [n for n in fn.node_names if _has_nan(values[n])]
        for o in fn.outputs:
            if _has_nan(values[o]):
                first = nan_nodes[0] if nan_nodes else o
                node = fn.nodes[int(first[1:])] if first.startswith("v") else None
                raise DomainError("the point is outside the domain (the output is undefined)",
                                  node=first, prim=node.prim if node else None)
        if not allow_kinks:
            tol = kink_tolerance(self.dtype)
            for gap in gaps(fn, values):
                if gap.kink_rel <= tol and gap.node not in nan_nodes:
                    raise KinkError(f"the point is on a kink or tie (gap {gap.kink:.3g}, relative {gap.kink_rel:.3g} "
                                    f"<= {tol:.3g})", node=gap.node, prim=gap.prim, gap=gap.kink)
        return nan_nodes

    # ------------------------------------------------------------ derivatives

    def directional(self, fn: Function, inputs, cotangents, direction, side: int = 0, magnitude=None) -> Derivative:
        """<v, J w> at ``inputs`` for cotangents v and direction w (lists of arrays), with an error bound.

        ``side=0`` central differences; ``+1``/``-1`` one-sided (for kinks: the derivative from that side).
        """
        xs = [to_mp(x) for x in inputs]
        ws = [to_mp(np.broadcast_to(np.asarray(w, dtype=np.float64), s)) for w, s in zip(direction, fn.inputs)]
        vs = [to_mp(np.broadcast_to(np.asarray(v, dtype=np.float64), s)) for v, s in zip(cotangents, fn.output_shapes)]
        if magnitude is None:
            magnitude = _magnitude(fn, xs, vs, self.prec)
        bits = self.step_bits
        while True:
            result = self._difference(fn, xs, ws, vs, bits, side, magnitude)
            if result is not None:
                estimate_ok = result.error <= mpmath.ldexp(abs(result.value), -(self.prec - 16)) + \
                    mpmath.ldexp(magnitude, -(self.prec - 16))
                if estimate_ok or bits + 32 > self.max_step_bits:
                    return result
            elif bits + 32 > self.max_step_bits:
                raise DomainError(f"every step down to 2^-{bits} leaves the domain: the point is on its boundary")
            bits += 32

    def _difference(self, fn, xs, ws, vs, bits, side, magnitude):
        wprec = self.prec + bits + 32
        with mpmath.workprec(wprec):
            h = mpmath.ldexp(1, -bits)

            def phi(t):
                values = trace(fn, [x + w * t for x, w in zip(xs, ws)], "mp")  # array first: mpf * ndarray converts via repr
                total = mpmath.mpf(0)
                for o, v in zip(fn.outputs, vs):
                    total += mpmath.fsum(np.asarray(v * values[o]).reshape(-1))
                return total

            if side == 0:
                d1 = (phi(h) - phi(-h)) / (2 * h)
                d2 = (phi(h / 2) - phi(-h / 2)) / h
                value, trunc, denom = (4 * d2 - d1) / 3, abs(d1 - d2) / 3, h / 2
            else:
                p0 = phi(mpmath.mpf(0))
                d1 = (phi(side * h) - p0) / (side * h)
                d2 = (phi(side * h / 2) - p0) / (side * h / 2)
                value, trunc, denom = 2 * d2 - d1, abs(d1 - d2), h / 2
            if any(mpmath.isnan(d) or mpmath.isinf(d) for d in (d1, d2)):
                return None
            n = len(fn.nodes) + 1
            rounding = mpmath.ldexp(4 * n * (magnitude + 1), -wprec) / denom
            # the value is handed out at `prec` bits: its representation adds up to 2 ulps (with the division
            # by a direction's scale in full mode)
            representation = mpmath.ldexp(abs(value), -(self.prec - 2))
            return Derivative(+value, +(trunc + rounding + representation), bits)

    def vjp(self, fn: Function, inputs, cotangents, mode: str = "full", k: int = 4, seed: int = 0) -> OracleVJP:
        """The VJP J^T v at ``inputs``.

        ``mode="full"``: every component, one basis direction each (4 evaluations per input element).
        ``mode="projected"``: <J^T v, u_j> for ``k`` random directions u_j (4 evaluations each): cheap, and a
        backend's VJP g is checked by comparing <g, u_j> with them.
        Raises DomainError or KinkError where the VJP is not defined at ``inputs``.
        """
        if mode not in ("full", "projected"):
            raise ValueError(f"mode must be 'full' or 'projected', got {mode!r}")
        if len(cotangents) != len(fn.outputs):
            raise ValueError(f"the function has {len(fn.outputs)} outputs, got {len(cotangents)} cotangents")
        for i, (v, s) in enumerate(zip(cotangents, fn.output_shapes)):
            if np.shape(v) != s:
                raise ValueError(f"cotangent {i} has shape {np.shape(v)}, output {fn.outputs[i]} has shape {s}")
        masked = self.check_point(fn, inputs)
        outputs = [_to_float(o) for o in self.value(fn, inputs)]
        result = OracleVJP(mode, outputs, masked=masked)
        with mpmath.workprec(self.prec):
            result.max_error_rel = self._fill(result, fn, inputs, cotangents, mode, k, seed)
        return result

    def _fill(self, result, fn, inputs, cotangents, mode, k, seed) -> float:
        found = []  # (value, error) of every derivative taken
        vs = [to_mp(np.broadcast_to(np.asarray(v, dtype=np.float64), s)) for v, s in zip(cotangents, fn.output_shapes)]
        magnitude = _magnitude(fn, [to_mp(x) for x in inputs], vs, self.prec)
        if mode == "full":
            result.grads, result.grads_mp, result.errors = [], [], []
            for i, (x, shape) in enumerate(zip(inputs, fn.inputs)):
                g = np.empty(shape, dtype=object)
                e = np.empty(shape, dtype=np.float64)
                scale = np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)
                for idx in np.ndindex(*shape):
                    direction = [np.zeros(s) for s in fn.inputs]
                    direction[i][idx] = scale[idx]
                    d = self.directional(fn, inputs, cotangents, direction, magnitude=magnitude)
                    g[idx] = d.value / mpmath.mpf(float(scale[idx]))
                    e[idx] = float(d.error) / scale[idx]
                    found.append(d)
                result.grads_mp.append(g)
                result.grads.append(_to_float(g))
                result.errors.append(e)
        else:
            rng = np.random.default_rng(seed)
            for _ in range(k):
                direction = [rng.standard_normal(s) * np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)
                             for x, s in zip(inputs, fn.inputs)]
                d = self.directional(fn, inputs, cotangents, direction, magnitude=magnitude)
                result.directions.append(direction)
                result.projections.append(d)
                found.append(d)
        return _max_rel(found)


def _max_rel(found) -> float:
    """The largest error relative to its derivative; a derivative that is 0 is measured against the largest."""
    if not found:
        return 0.0
    scale = max(abs(d.value) for d in found)
    worst = 0.0
    for d in found:
        denominator = abs(d.value) if d.value != 0 else scale
        if denominator == 0:
            worst = max(worst, 0.0 if d.error == 0 else math.inf)
        else:
            worst = max(worst, float(d.error / denominator))
    return worst


def _has_nan(a) -> bool:
    return any(mpmath.isnan(v) for v in np.asarray(a).reshape(-1))


def _to_float(a) -> np.ndarray:
    a = np.asarray(a)
    return np.array([float(v) for v in a.reshape(-1)], dtype=np.float64).reshape(a.shape)


def _magnitude(fn, xs, vs, prec):
    """Sum of |v| times the largest magnitude in the program: what rounding in phi is relative to."""
    with mpmath.workprec(prec):
        values = trace(fn, xs, "mp")
        big = max((abs(x) for val in values.values() for x in np.asarray(val).reshape(-1)
                   if not mpmath.isnan(x)), default=mpmath.mpf(0))
        vsum = sum((mpmath.fsum(np.asarray(np.abs(v)).reshape(-1)) for v in vs), mpmath.mpf(0))
    return big * (vsum + 1)
