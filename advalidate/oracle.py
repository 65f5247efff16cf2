"""The oracle: VJPs by high-precision central differences in mpmath, with an error estimate.

For a program f, a point x, cotangents v and a direction w, the oracle differentiates the scalar
``phi(t) = sum_o <v_o, f_o(x + t w)>`` at t = 0: ``phi'(0) = <v, J w> = <J^T v, w>``. It never uses the AD
rules under test, only the mpmath forms of the catalogue.

Accuracy. The step along w is h = 2^-s times the largest step that moves no element by more than
min(|x|, 1): relative to |x| near 0 (log at 1e-300), absolute beyond 1 (sin at 1e155 varies on a scale of 1,
not of |x|: a step relative to |x| would span 1e136 periods). The central difference D(h) = phi'(0) + c h^2 +
O(h^4); the oracle returns the Richardson value R = (4 D(h/2) - D(h)) / 3 (error O(h^4)) and bounds its error
by |D(h) - D(h/2)| / 3, the error of D(h/2), plus a bound on the rounding of phi (n roundings of 2^-wprec of
the largest value in the program, divided by the step). The working precision wprec makes every x + t·w exact
(about log2(|x| / h) + 57 bits: 600 at 1e155) and leaves ``prec`` bits in the quotient (``prec + s + 32``).

The bound is relative to the derivative it bounds: the oracle refines until it is below 2^-(prec-16) of the
derivative (1.9e-34 at prec = 128) — more bits where rounding dominates (a derivative far smaller than the
values, arcsinh'(1e200) = 1e-200 next to arcsinh(1e200) = 461), a step 2^-32 smaller where truncation does (a
singularity nearby), a smaller step where a step leaves the domain — up to ``max_prec`` bits and
``max_step_bits``. Differences that cancel exactly are 0 or a derivative too small for the precision used
(erf'(26) = 3e-294 next to erf(26) = 1): they are checked again at the precision that resolves the derivative
to 2^-64 of the dtype's smallest normal number (the error model's floor), which tells 0 from a saturated tail.
At the defaults a well-conditioned derivative is good to ~1e-38 relative anywhere in the float64 range
(tests/test_oracle_range.py: 1e300, derivatives down to 1e-300).

Points outside a domain raise :class:`DomainError`; points on (or within ``kink_tolerance`` of) a kink or
tie raise :class:`KinkError`, unless a one-sided derivative is asked for (``side=+1`` or ``-1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from . import primitives
from .errors import DomainError, KinkError
from .evaluate import MAX_EXPONENT, gaps, kink_tolerance, to_mp, trace
from .ir import Function

__all__ = ["Oracle", "Derivative", "OracleVJP", "OracleJVP", "OracleHVP"]


@dataclass(frozen=True)
class Derivative:
    """A directional derivative <v, J w> and a bound on its error (both mpf)."""

    value: mpmath.mpf
    error: mpmath.mpf
    step_bits: int  # the step was 2^-step_bits
    unresolved_zero: bool = False  # the differences cancelled exactly at the precision used (see directional)
    rounding: mpmath.mpf = mpmath.mpf(0)  # the part of ``error`` due to the rounding of phi


@dataclass
class OracleVJP:
    """The oracle's VJP. Full mode: ``grads``/``errors`` per input. Projected: ``directions``/``projections``."""

    mode: str
    outputs: list  # f(x) as float64 arrays
    grads: list | None = None  # full mode: J^T v per input, float64
    grads_mp: list | None = None  # full mode: the same as object arrays of mpf
    errors: list | None = None  # full mode: error bound per component, float64 rounded up (so it still bounds)
    errors_mp: list | None = None  # full mode: the same bounds as object arrays of mpf
    directions: list = field(default_factory=list)  # projected mode: per direction, a list of arrays (one per input)
    projections: list = field(default_factory=list)  # projected mode: Derivative per direction
    masked: list = field(default_factory=list)  # nodes outside their domain whose value `where` discarded
    max_error_rel: float = 0.0  # largest error estimate relative to the derivative's scale


@dataclass
class OracleJVP:
    """The oracle's JVP ``J·w``: per output, the tangent and a bound on its error per component."""

    outputs: list  # f(x) as float64 arrays
    tangents: list  # J·w per output, float64
    tangents_mp: list  # the same as object arrays of mpf
    errors: list  # error bound per component, float64 rounded up (so it still bounds)
    errors_mp: list  # the same bounds as object arrays of mpf
    step_bits: int = 0  # the step was 2^-step_bits of the local scale
    masked: list = field(default_factory=list)  # nodes outside their domain whose value `where` discarded
    max_error_rel: float = 0.0  # largest error estimate relative to the tangent's scale
    mode: str = "jvp"


@dataclass
class OracleHVP:
    """The oracle's Hessian-vector product ``H_v·u`` (the derivative along u of the VJP ``Jᵀv``): per input, the
    product and a bound on its error per component."""

    outputs: list  # f(x) as float64 arrays
    hvps: list  # H_v·u per input, float64
    hvps_mp: list  # the same as object arrays of mpf
    errors: list  # error bound per component, float64 rounded up
    errors_mp: list
    masked: list = field(default_factory=list)
    max_error_rel: float = 0.0
    mode: str = "hvp"


class Oracle:
    """High-precision finite differences over the mpmath forms of the catalogue."""

    def __init__(self, prec: int = 128, step_bits: int = 64, max_step_bits: int = 1280, dtype: str = "float64",
                 max_prec: int = 12000):
        if prec < 64 or step_bits < 8:
            raise ValueError(f"prec must be >= 64 bits and step_bits >= 8, got {prec}, {step_bits}")
        self.prec, self.step_bits, self.max_step_bits, self.dtype = prec, step_bits, max_step_bits, dtype
        self.max_prec = max_prec

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
        huge = next((n for n in fn.node_names if _has_inf(values[n])), None)
        if huge is not None:
            raise DomainError(f"a value overflows past 2^{MAX_EXPONENT}, far beyond any dtype's range",
                              node=huge, prim=fn.nodes[int(huge[1:])].prim)
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

    def directional(self, fn: Function, inputs, cotangents, direction, side: int = 0, magnitude=None,
                    resolve_zero: bool = True, likely_zero: bool = False) -> Derivative:
        """<v, J w> at ``inputs`` for cotangents v and direction w (lists of arrays), with an error bound.

        ``side=0`` central differences; ``+1``/``-1`` one-sided (for kinks: the derivative from that side).
        Differences that cancel exactly are checked again at a precision that resolves the derivative far below
        the dtype's smallest normal number (a saturated tail, erf'(26) = 3e-294, looks constant at the first
        precision); ``resolve_zero=False`` leaves that to the caller (``Derivative.unresolved_zero``), which may
        check many components at once; ``likely_zero=True`` goes straight to that check.
        """
        xs = [to_mp(x) for x in inputs]
        wf = [np.broadcast_to(np.asarray(w, dtype=np.float64), s) for w, s in zip(direction, fn.inputs)]
        vs = [to_mp(np.broadcast_to(np.asarray(v, dtype=np.float64), s)) for v, s in zip(cotangents, fn.output_shapes)]
        if magnitude is None:
            magnitude = _magnitude(fn, xs, vs, self.prec)
        geometry = _geometry(inputs, wf)
        if geometry is None:  # the direction is 0: so is the derivative, exactly
            return Derivative(mpmath.mpf(0), mpmath.mpf(0), self.step_bits)
        base, span = geometry
        ws = [to_mp(w) for w in wf]
        bits, extra = self.step_bits, (_recurring_bits(fn, xs, self.prec) if side else 0)
        while True:
            # x + t·w exact for |t| <= 2^(base - bits); prec bits left in a difference quotient of that step
            wprec = min(max(span - (base - bits) + 57, self.prec + 32 + bits) + extra, self.max_prec)
            if likely_zero:
                likely_zero = False
                more = min(self._zero_bits(_rounding(fn, magnitude, wprec, base - bits)), self.max_prec - wprec)
                check = self._difference(fn, xs, ws, vs, base - bits, wprec + more, side, magnitude, first_only=True)
                if check is not None and check.unresolved_zero:
                    return Derivative(check.value, check.error, check.step_bits)
                extra = more
                continue
            if side and not _one_piece(fn, xs, ws, base - bits, wprec, side):
                # the step spans more than one piece of a recurring kink (floor(v) at v = 2e154 moves v by 1e135 at
                # 2^-64: the difference quotient is the sawtooth's mean slope, 1, where each piece's is 0)
                if bits + 32 > self.max_step_bits:
                    raise DomainError(f"the kinks recur faster than the smallest step, 2^-{bits} of the local scale: "
                                      "no one-sided derivative can be taken")
                bits += 32
                continue
            result = self._difference(fn, xs, ws, vs, base - bits, wprec, side, magnitude)
            if result is None:  # a step left the domain
                if bits + 32 > self.max_step_bits:
                    raise DomainError(f"every step down to 2^-{bits} of the local scale leaves the domain: the point "
                                      "is on its boundary")
                bits += 32
                continue
            if result.unresolved_zero:
                if not resolve_zero:
                    return result
                more = min(self._zero_bits(result.rounding), self.max_prec - wprec)
                again = result if more == 0 else self._difference(fn, xs, ws, vs, base - bits, wprec + more, side,
                                                                  magnitude, first_only=True)
                if again is not None and again.unresolved_zero:
                    return Derivative(again.value, again.error, again.step_bits)
                extra += more  # not 0 after all: a tiny derivative, refined below
                continue
            # relative to the derivative, down to the floor below which no backend is judged (a derivative of
            # 1e-600, or one that came out exactly 0 from unequal differences, needs no more)
            target = max(mpmath.ldexp(abs(result.value), -(self.prec - 16)), self._floor())
            if result.error <= target or wprec >= self.max_prec or bits + 32 > self.max_step_bits:
                return result
            if result.rounding > target / 4:  # rounding dominates: more bits at the same step
                extra += int(mpmath.log(result.rounding / target, 2)) + 16
            else:  # truncation dominates (a singularity nearby): a smaller step
                bits += 32

    def _zero_bits(self, rounding) -> int:
        """The bits to add so that a rounding bound falls below 2^-64 of the dtype's smallest normal number, which
        the error model takes as the floor of any rounding error: no backend is judged below it."""
        floor = self._floor()
        return 0 if rounding <= floor else int(mpmath.log(rounding / floor, 2)) + 2

    def _floor(self):
        """2^-64 of the dtype's smallest normal number: the absolute resolution the oracle aims at."""
        return mpmath.ldexp(float(np.finfo(self.dtype).tiny), -64)

    def _difference(self, fn, xs, ws, vs, step_exp, wprec, side, magnitude, first_only=False):
        with mpmath.workprec(wprec):
            h = mpmath.ldexp(1, step_exp)

            def phi(t):
                values = trace(fn, [x + w * t for x, w in zip(xs, ws)], "mp")  # array first: mpf * ndarray converts via repr
                total = mpmath.mpf(0)
                for o, v in zip(fn.outputs, vs):
                    total += mpmath.fsum(np.asarray(v * values[o]).reshape(-1))
                return total

            if side == 0:
                d1 = (phi(h) - phi(-h)) / (2 * h)
                d2 = d1 if first_only else (phi(h / 2) - phi(-h / 2)) / h
                value, trunc, denom = (4 * d2 - d1) / 3, abs(d1 - d2) / 3, h / 2
            else:
                p0 = phi(mpmath.mpf(0))
                d1 = (phi(side * h) - p0) / (side * h)
                d2 = d1 if first_only else (phi(side * h / 2) - p0) / (side * h / 2)
                value, trunc, denom = 2 * d2 - d1, abs(d1 - d2), h / 2
            if any(mpmath.isnan(d) or mpmath.isinf(d) for d in (d1, d2)):
                return None
            rounding = _rounding(fn, magnitude, wprec, step_exp)
            # the value is handed out at `prec` bits: its representation adds up to 2 ulps
            representation = mpmath.ldexp(abs(value), -(self.prec - 2))
            zero = d1 == 0 and d2 == 0
            return Derivative(+value, +(trunc + rounding + representation), -step_exp, zero, +rounding)

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

    def jvp(self, fn: Function, inputs, tangents) -> OracleJVP:
        """The JVP ``J·w`` at ``inputs`` along ``tangents`` (one array per input), every output component at once.

        One vector-valued central difference of ``f(x + t·w)``, with the Richardson scheme, step and error bound of
        :meth:`directional` (module docstring) applied to each output component: the refinement goes on (more bits
        where rounding dominates, a smaller step where truncation does) until every component's bound is below
        2^-(prec-16) of it, or below 2^-64 of the dtype's smallest normal number (a component that cancels: 0 or a
        tangent no dtype holds). Four evaluations of f per refinement, whatever the number of inputs: forward mode's
        oracle is the cheap one. Raises DomainError or KinkError where the JVP is not defined at ``inputs``."""
        if len(tangents) != len(fn.inputs):
            raise ValueError(f"the function has {len(fn.inputs)} inputs, got {len(tangents)} tangents")
        for i, (w, s) in enumerate(zip(tangents, fn.inputs)):
            if np.shape(w) != s:
                raise ValueError(f"tangent {i} has shape {np.shape(w)}, input x{i} has shape {s}")
        masked = self.check_point(fn, inputs)
        outputs = [_to_float(o) for o in self.value(fn, inputs)]
        xs = [to_mp(x) for x in inputs]
        wf = [np.asarray(w, dtype=np.float64) for w in tangents]
        sizes = [int(np.prod(s)) for s in fn.output_shapes]
        geometry = _geometry(inputs, wf)
        if geometry is None:  # the direction is 0: so is the JVP, exactly
            zeros = [np.zeros(s) for s in fn.output_shapes]
            zmp = [np.full(s, mpmath.mpf(0), dtype=object) for s in fn.output_shapes]
            return OracleJVP(outputs, zeros, zmp, [z.copy() for z in zeros], [z.copy() for z in zmp], self.step_bits,
                             masked)
        base, span = geometry
        ws = [to_mp(w) for w in wf]
        with mpmath.workprec(self.prec):
            big = _magnitude(fn, xs, [np.array(mpmath.mpf(1), dtype=object)], self.prec)
        bits, extra = self.step_bits, 0
        while True:
            wprec = min(max(span - (base - bits) + 57, self.prec + 32 + bits) + extra, self.max_prec)
            found = self._vector_difference(fn, xs, ws, base - bits, wprec, big)
            if found is None:  # a step left the domain
                if bits + 32 > self.max_step_bits:
                    raise DomainError(f"every step down to 2^-{bits} of the local scale leaves the domain: the point "
                                      "is on its boundary")
                bits += 32
                continue
            values, errors, rounding = found
            with mpmath.workprec(wprec):
                targets = [max(mpmath.ldexp(abs(v), -(self.prec - 16)), self._floor()) for v in values]
                missed = [t for e, t in zip(errors, targets) if e > t]
                if not missed or wprec >= self.max_prec or bits + 32 > self.max_step_bits:
                    break
                least = min(missed)
                if rounding > least / 4:  # rounding dominates: more bits at the same step
                    extra += int(mpmath.log(rounding / least, 2)) + 16
                else:  # truncation dominates (a singularity nearby): a smaller step
                    bits += 32
        tangents_mp, errors_mp, at = [], [], 0
        for shape, n in zip(fn.output_shapes, sizes):
            tangents_mp.append(np.array(values[at:at + n], dtype=object).reshape(shape))
            errors_mp.append(np.array(errors[at:at + n], dtype=object).reshape(shape))
            at += n
        with mpmath.workprec(self.prec):
            scale = max((abs(v) for v in values), default=mpmath.mpf(0))
            rel = 0.0
            for v, e in zip(values, errors):
                d = abs(v) if v != 0 else scale
                rel = max(rel, float(e / d) if d != 0 else (0.0 if e == 0 else math.inf))
        return OracleJVP(outputs, [_to_float(t) for t in tangents_mp], tangents_mp,
                         [_to_float(e, upward=True) for e in errors_mp], errors_mp, bits, masked, rel)

    def hvp(self, fn: Function, inputs, cotangents, direction) -> OracleHVP:
        """``H_v·u``: the second derivative of ``vᵀf`` along ``u`` (``direction``, one array per input) and each basis
        direction e_i, component by component, by a mixed second difference of ``phi(s, t) = vᵀf(x + s·u + t·e_i)``:
        ``D(h) = [phi(hs, ht) − phi(hs, −ht) − phi(−hs, ht) + phi(−hs, −ht)] / (4·hs·ht)``, each step chosen from the
        point as the VJP's is (:func:`_geometry`), Richardson ``(4·D(h/2) − D(h))/3`` with the error bound
        ``|D(h) − D(h/2)|/3`` plus the rounding of phi (at most 6·n roundings of the largest value, divided by
        ``hs·ht``), refined as :meth:`jvp` refines. Eight evaluations of f per component and refinement. Raises
        DomainError or KinkError where the second derivative is not defined at ``inputs`` (at a kink it is not)."""
        if len(cotangents) != len(fn.outputs) or len(direction) != len(fn.inputs):
            raise ValueError(f"the function has {len(fn.outputs)} outputs and {len(fn.inputs)} inputs, got "
                             f"{len(cotangents)} cotangents and {len(direction)} directions")
        for i, (u, s) in enumerate(zip(direction, fn.inputs)):
            if np.shape(u) != s:
                raise ValueError(f"direction {i} has shape {np.shape(u)}, input x{i} has shape {s}")
        masked = self.check_point(fn, inputs)
        outputs = [_to_float(o) for o in self.value(fn, inputs)]
        xs = [to_mp(x) for x in inputs]
        vs = [to_mp(np.broadcast_to(np.asarray(v, dtype=np.float64), s)) for v, s in zip(cotangents, fn.output_shapes)]
        uf = [np.asarray(u, dtype=np.float64) for u in direction]
        magnitude = _magnitude(fn, xs, vs, self.prec)
        along = _geometry(inputs, uf)
        values_mp, errors_mp, found = [], [], []
        for i, shape in enumerate(fn.inputs):
            value, error = np.empty(shape, dtype=object), np.empty(shape, dtype=object)
            for idx in np.ndindex(*shape):
                basis = _basis(fn, i, idx)
                if along is None:  # u = 0: so is H_v·u, exactly
                    value[idx], error[idx] = mpmath.mpf(0), mpmath.mpf(0)
                    continue
                value[idx], error[idx] = self._mixed(fn, xs, vs, [to_mp(u) for u in uf], along,
                                                     [to_mp(e) for e in basis], _geometry(inputs, basis), magnitude)
                found.append(Derivative(value[idx], error[idx], 0))
            values_mp.append(value)
            errors_mp.append(error)
        with mpmath.workprec(self.prec):
            rel = _max_rel(found)
        return OracleHVP(outputs, [_to_float(v) for v in values_mp], values_mp,
                         [_to_float(e, upward=True) for e in errors_mp], errors_mp, masked, rel)

    def _mixed(self, fn, xs, vs, us, along, es, across, magnitude):
        """The mixed second derivative of vᵀf along ``us`` and ``es`` at ``xs``, with its error bound (see :meth:`hvp`)."""
        (base_s, span_s), (base_t, span_t) = along, across
        bits, extra = self.step_bits, 0
        while True:
            s_exp, t_exp = base_s - bits, base_t - bits
            wprec = min(max(span_s - s_exp + 57, span_t - t_exp + 57, self.prec + 32 + 2 * bits) + extra,
                        self.max_prec)
            with mpmath.workprec(wprec):
                hs, ht = mpmath.ldexp(1, s_exp), mpmath.ldexp(1, t_exp)

                def phi(a, b):
                    values = trace(fn, [x + u * a + e * b for x, u, e in zip(xs, us, es)], "mp")
                    return mpmath.fsum(mpmath.fsum(np.asarray(v * values[o]).reshape(-1))
                                       for o, v in zip(fn.outputs, vs))

                def quotient(a, b):
                    return (phi(a, b) - phi(a, -b) - phi(-a, b) + phi(-a, -b)) / (4 * a * b)

                d1, d2 = quotient(hs, ht), quotient(hs / 2, ht / 2)
                if any(mpmath.isnan(d) or mpmath.isinf(d) for d in (d1, d2)):
                    if bits + 32 > self.max_step_bits:
                        raise DomainError(f"every step down to 2^-{bits} of the local scale leaves the domain: the "
                                          "point is on its boundary")
                    bits += 32
                    continue
                value = (4 * d2 - d1) / 3
                rounding = mpmath.ldexp(24 * (len(fn.nodes) + 1) * magnitude, -wprec) / (hs * ht)
                error = abs(d1 - d2) / 3 + rounding + mpmath.ldexp(abs(value), -(self.prec - 2))
                target = max(mpmath.ldexp(abs(value), -(self.prec - 16)), self._floor())
                if error <= target or wprec >= self.max_prec or bits + 32 > self.max_step_bits:
                    return +value, +error
                if rounding > target / 4:  # rounding dominates: more bits at the same step
                    extra += int(mpmath.log(rounding / target, 2)) + 16
                else:  # truncation dominates: a smaller step
                    bits += 32

    def _vector_difference(self, fn, xs, ws, step_exp, wprec, big):
        """The Richardson central difference of every output component of f along w (step 2^step_exp, at ``wprec``
        bits): (values, error bounds, the rounding part common to all), or None where a step left the domain."""
        with mpmath.workprec(wprec):
            h = mpmath.ldexp(1, step_exp)

            def f(t):
                values = trace(fn, [x + w * t for x, w in zip(xs, ws)], "mp")
                return [e for o in fn.outputs for e in np.asarray(values[o], dtype=object).reshape(-1)]

            plus, minus, half_plus, half_minus = f(h), f(-h), f(h / 2), f(-h / 2)
            rounding = _rounding(fn, big, wprec, step_exp)
            values, errors = [], []
            for a, b, c, d in zip(plus, minus, half_plus, half_minus):
                d1, d2 = (a - b) / (2 * h), (c - d) / h
                if any(mpmath.isnan(q) or mpmath.isinf(q) for q in (d1, d2)):
                    return None
                value = (4 * d2 - d1) / 3
                values.append(+value)
                errors.append(+(abs(d1 - d2) / 3 + rounding + mpmath.ldexp(abs(value), -(self.prec - 2))))
            return values, errors, +rounding

    def _fill(self, result, fn, inputs, cotangents, mode, k, seed) -> float:
        found = []  # (value, error) of every derivative taken
        vs = [to_mp(np.broadcast_to(np.asarray(v, dtype=np.float64), s)) for v, s in zip(cotangents, fn.output_shapes)]
        magnitude = _magnitude(fn, [to_mp(x) for x in inputs], vs, self.prec)
        if mode == "full":
            result.grads_mp, result.errors_mp = [], []
            zeros = []  # components whose differences cancelled exactly: checked together below
            for i, shape in enumerate(fn.inputs):
                g = np.empty(shape, dtype=object)
                e = np.empty(shape, dtype=object)
                for idx in np.ndindex(*shape):
                    direction = [np.zeros(s) for s in fn.inputs]
                    direction[i][idx] = 1.0
                    d = self.directional(fn, inputs, cotangents, direction, magnitude=magnitude, resolve_zero=False)
                    if d.unresolved_zero:
                        zeros.append((i, idx))
                    g[idx], e[idx] = d.value, d.error
                    found.append(d)
                result.grads_mp.append(g)
                result.errors_mp.append(e)
            if zeros:
                self._resolve_zeros(fn, inputs, cotangents, magnitude, zeros, result, found, seed)
            result.grads = [_to_float(g) for g in result.grads_mp]
            result.errors = [_to_float(e, upward=True) for e in result.errors_mp]
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


    def _resolve_zeros(self, fn, inputs, cotangents, magnitude, zeros, result, found, seed):
        """Components whose differences cancelled exactly are 0 or a tiny derivative (a saturated tail). One
        derivative along a random combination of them, resolved far below the dtype's smallest normal number,
        tells which: 0 (no cancellation among random positive weights, generically) or not, and then each one
        is resolved alone."""
        rng = np.random.default_rng(seed + 1)
        direction = [np.zeros(s) for s in fn.inputs]
        for i, idx in zeros:
            direction[i][idx] = rng.uniform(1.0, 2.0)
        joint = self.directional(fn, inputs, cotangents, direction, magnitude=magnitude, likely_zero=True)
        for i, idx in zeros:
            d = joint if joint.value == 0 else self.directional(fn, inputs, cotangents, _basis(fn, i, idx),
                                                                 magnitude=magnitude)
            result.grads_mp[i][idx], result.errors_mp[i][idx] = d.value, d.error
            found.append(d)


def _rounding(fn, magnitude, wprec: int, step_exp: int):
    """A bound on the rounding error of a difference quotient with step 2^step_exp at ``wprec`` bits: every value
    of phi carries at most n roundings of 2^-wprec relative to the largest value computed (``magnitude``), and
    the quotient divides by at least half the step."""
    return mpmath.ldexp(4 * (len(fn.nodes) + 1) * magnitude, 1 - step_exp - wprec)


def _basis(fn, i, idx):
    direction = [np.zeros(s) for s in fn.inputs]
    direction[i][idx] = 1.0
    return direction


def _geometry(inputs, direction) -> tuple[int, int] | None:
    """``(base, span)`` for a step along ``direction``, or None when the direction is 0.

    ``2^base`` is the largest step that moves no element by more than ``min(|x|, 1)``, so that a step
    ``2^(base - bits)`` is small against how fast f can vary there: relative to |x| near 0 (log, 1/x at 1e-300),
    absolute beyond 1 (sin at 1e155 varies on a scale of 1, not of |x|). ``span`` is the largest exponent
    difference between an element and its direction, ``log2(|x| / |w|)``, from which the precision that keeps
    ``x + t·w`` exact follows.
    """
    base = span = None
    for x, w in zip(inputs, direction):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        moving = np.flatnonzero(w)
        if moving.size == 0:
            continue
        ex, ew = np.frexp(x[moving])[1], np.frexp(w[moving])[1]
        nonzero = x[moving] != 0
        e = int(np.min(np.where(nonzero, np.minimum(ex - 1, 0), 0) - ew))  # floor(log2(min(|x|, 1) / |w|))
        s = int(np.max(np.where(nonzero, ex - ew, -10**6)))
        base = e if base is None else min(base, e)
        span = s if span is None else max(span, s)
    return None if base is None else (base, span)


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


def _has_inf(a) -> bool:
    return any(mpmath.isinf(v) for v in np.asarray(a).reshape(-1))


def _has_nan(a) -> bool:
    return any(mpmath.isnan(v) for v in np.asarray(a).reshape(-1))


def _to_float(a, upward: bool = False) -> np.ndarray:
    """Round an object array of mpf to float64: to nearest, or ``upward`` (for bounds, which must still hold)."""
    a = np.asarray(a)
    if upward:
        values = [mpmath.mpf(v) for v in a.reshape(-1)]
        out = [float(v) for v in values]
        out = [f if f >= v else math.nextafter(f, math.inf) for f, v in zip(out, values)]
    else:
        out = [float(v) for v in a.reshape(-1)]
    return np.array(out, dtype=np.float64).reshape(a.shape)


def _magnitude(fn, xs, vs, prec):
    """Sum of |v| times the largest value in the program: what the rounding of phi is relative to. The inputs
    count too: a primitive's rounding is relative to the values inside its mpmath form, and those can be far
    larger than its output (softplus(-690) = log(1 + e^-690) rounds 1 + e^-690), but not than its operands."""
    with mpmath.workprec(prec):
        values = trace(fn, xs, "mp")
        big = max((abs(x) for val in values.values() for x in np.asarray(val).reshape(-1)
                   if not mpmath.isnan(x)), default=mpmath.mpf(0))
        vsum = sum((mpmath.fsum(np.asarray(np.abs(v)).reshape(-1)) for v in vs), mpmath.mpf(0))
    return big * vsum


# where the one-sided stencil's span is sampled (fractions of h): unevenly, since the fractional parts of a linear
# function sampled at even spacing form an arithmetic progression, linear whenever it does not wrap (a sawtooth's teeth
# crossed by the thousand look like one piece); at these, a gap that is not linear in t shows at once
_PIECE_SAMPLES = (0.2763932022500210, 0.6180339887498949, 0.8541019662496845, 1.0)


def _one_piece(fn: Function, xs, ws, step_exp: int, wprec: int, side: int) -> bool:
    """Whether the one-sided stencil's span, t = side·h·s (h = 2^step_exp, s in [0, 1]), stays on one piece of every
    primitive with recurring kinks (``Primitive.recurring_kinks``): its kink gaps, entry by entry, move linearly in t
    (within 1/8 of their change), as they do on a piece (from 0 at a kink the oracle steps away from, or toward a kink
    beyond the stencil), and move at all where the value does. Past another kink a gap turns back (a tooth's middle
    is passed too: a smaller step then). The stencil's own points are inside this span."""
    if not any(primitives.get(node.prim).recurring_kinks for node in fn.nodes):
        return True
    with mpmath.workprec(wprec):
        h = mpmath.ldexp(1, step_exp)
        gaps = []
        for s in (0,) + _PIECE_SAMPLES:
            t = side * h * mpmath.mpf(s)
            values = trace(fn, [x + w * t for x, w in zip(xs, ws)], "mp")
            row = []
            for name, node in fn.named_nodes():
                prim = primitives.get(node.prim)
                if prim.recurring_kinks:  # elementwise: the gap and the value per entry
                    k = np.asarray(prim.kink(*[values[a] for a in node.args], **prim.check_params(node.kwargs)),
                                   dtype=object)
                    value = np.broadcast_to(np.asarray(values[name], dtype=object), k.shape).reshape(-1)
                    row.extend(zip((abs(g) for g in k.reshape(-1)), value))
            gaps.append(row)
        for entry in zip(*gaps):
            (k0, a0), (kn, an) = entry[0], entry[-1]
            change = kn - k0
            slack = abs(change) / 8 + mpmath.ldexp(abs(k0) + abs(kn) + 1, 8 - wprec)
            if any(abs((k - k0) - mpmath.mpf(s) * change) > slack for (k, _), s in zip(entry[1:], _PIECE_SAMPLES)):
                return False
            if change == 0 and an != a0:  # the value moved and the gap did not: from one kink onto others (floor of
                return False                # integers moved by integers; fmod(x, x) along x stays on its kink, at 0)
    return True


def _recurring_bits(fn: Function, xs, prec: int) -> int:
    """The working bits a one-sided derivative adds so that the pieces of a recurring kink are resolved: floor(v) at
    v = 2e154 is v itself at 224 bits (every such number is an integer there), so the difference quotient is 1. The
    operands' binary exponents, summed per node (fmod(a, b)'s pieces are |b| wide at a scale |a|), the largest over
    the nodes with ``recurring_kinks``; 0 where there is none."""
    nodes = [(name, node) for name, node in fn.named_nodes() if primitives.get(node.prim).recurring_kinks]
    if not nodes:
        return 0
    with mpmath.workprec(prec):
        values = trace(fn, xs, "mp")
    bits = 0
    for _, node in nodes:
        total = 0
        for a in node.args:
            entries = [abs(v) for v in np.asarray(values[a], dtype=object).reshape(-1) if v]
            finite = [v for v in entries if mpmath.isfinite(v)]
            if finite:
                total += max(abs(mpmath.mag(max(finite))), abs(mpmath.mag(min(finite))))
        bits = max(bits, total)
    return int(bits) + 16 if bits else 0
