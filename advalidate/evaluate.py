"""Interpret a Function on float arrays (NumPy forms) or mpmath object arrays (mpmath forms),
and measure how far each node's operands are from the edge of its domain or from a kink."""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from . import primitives
from .ir import Function

__all__ = ["evaluate", "trace", "to_mp", "Gap", "gaps", "kink_tolerance"]


def to_mp(array) -> np.ndarray:
    """A float array as an object array of mpf (exactly)."""
    a = np.asarray(array, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    out.reshape(-1)[:] = [mpmath.mpf(float(v)) for v in a.reshape(-1)]
    return out


def trace(fn: Function, inputs, forms: str = "np") -> dict[str, np.ndarray]:
    """Every value of the program (inputs and nodes) by name. ``forms`` is "np" or "mp"."""
    if len(inputs) != len(fn.inputs):
        raise ValueError(f"the function takes {len(fn.inputs)} inputs, got {len(inputs)}")
    values = {}
    for name, shape, x in zip(fn.input_names, fn.inputs, inputs):
        x = to_mp(x) if forms == "mp" and np.asarray(x).dtype != object else np.asarray(
            x, dtype=object if forms == "mp" else fn.dtype)
        if x.shape != shape:
            raise ValueError(f"input {name} has shape {x.shape}, the function declares {shape}")
        values[name] = x
    for name, node in fn.named_nodes():
        prim = primitives.get(node.prim)
        form = prim.mp if forms == "mp" else prim.np
        out = form(*(values[a] for a in node.args), **prim.check_params(node.kwargs))
        values[name] = _capped(np.asarray(out, dtype=object)) if forms == "mp" else np.asarray(out, dtype=fn.dtype)
    return values


# Exact values beyond 2^MAX_EXPONENT become infinite: every dtype overflowed long before (float64 at 2^1024), and
# mpmath would take hours on the next primitive (sin(exp(1e155)) reduces its argument modulo pi to 1e155 digits).
MAX_EXPONENT = 4096
_INF = mpmath.inf


def _cap1(v):
    if isinstance(v, mpmath.mpf) and mpmath.isfinite(v) and mpmath.mag(v) > MAX_EXPONENT:
        return _INF if v > 0 else -_INF
    return v


_cap = np.frompyfunc(_cap1, 1, 1)


def _capped(a: np.ndarray) -> np.ndarray:
    return np.asarray(_cap(a), dtype=object) if a.size else a


def evaluate(fn: Function, inputs, forms: str = "np") -> list[np.ndarray]:
    """The outputs of ``fn`` at ``inputs``."""
    values = trace(fn, inputs, forms)
    return [values[o] for o in fn.outputs]


def kink_tolerance(dtype: str) -> float:
    """Below this relative gap a kink or tie is taken as reached: sqrt of the unit roundoff.

    A float backend computes each operand with an error of a few ulps times the magnitudes that built it;
    sqrt(eps) (1.5e-8 in float64, 3.5e-4 in float32) leaves room for that error to grow along a program
    while staying far from any gap a random point falls into by chance.
    """
    return float(np.sqrt(np.finfo(dtype).eps))


@dataclass(frozen=True)
class Gap:
    """How close one node's operands come to trouble. ``domain`` <= 0: outside; ``kink_rel`` small: on a kink."""

    node: str
    prim: str
    domain: float  # smallest domain gap (inf when the primitive has no restricted domain)
    kink: float  # smallest absolute kink gap (inf when smooth)
    kink_rel: float  # the smallest kink gap relative to 1 + its own operands (element by element where it can be)


def _min(a) -> float:
    a = np.asarray(a)
    if a.size == 0:
        return float("inf")
    return float(min(a.reshape(-1), key=float)) if a.dtype == object else float(np.min(a))


def gaps(fn: Function, values: dict) -> list[Gap]:
    """The domain and kink gaps of every node that has either, from ``trace`` values (float or mp).

    Comparisons over an empty argument report an infinite gap. NaN operands count as outside the domain.
    """
    out = []
    for name, node in fn.named_nodes():
        prim = primitives.get(node.prim)
        if prim.domain is None and prim.kink is None:
            continue
        args = [values[a] for a in node.args]
        params = prim.check_params(node.kwargs)
        dom = kink = float("inf")
        if prim.domain is not None:
            d = np.asarray(prim.domain(*args))
            dom = _min(np.where(_isnan(d), -np.inf, d)) if d.size else dom
        rel = float("inf")
        if prim.kink is not None:
            k = np.asarray(np.abs(np.asarray(prim.kink(*args, **params))))  # 0-d object: np.abs gives a bare mpf
            kink = _min(k)
            rel = _relative(k, args) if k.size else rel
        out.append(Gap(name, node.prim, dom, kink, rel))
    return out


def _relative(k, args) -> float:
    """The smallest kink gap relative to the operands it separates: element by element where the gap has the
    operands' broadcast shape (relu(0.25) beside 4e154 in the same array is far from its kink), else against
    the largest operand (a reduction's tie is relative to its whole slice)."""
    shapes = [np.shape(a) for a in args]
    try:
        elementwise = k.shape == np.broadcast_shapes(*shapes)
    except ValueError:
        elementwise = False
    if not elementwise:
        return _min(k) / (1.0 + max((_max_abs(a) for a in args), default=0.0))
    scale = np.maximum.reduce([np.asarray(np.abs(np.broadcast_to(np.asarray(a), k.shape))) for a in args])
    return _min(np.asarray(k / (1 + scale)))


def _isnan(a):
    a = np.asarray(a)
    return np.array([mpmath.isnan(v) for v in a.reshape(-1)]).reshape(a.shape) if a.dtype == object else np.isnan(a)


def _max_abs(a) -> float:
    a = np.asarray(a)
    if a.size == 0:
        return 0.0
    return float(max(abs(v) for v in a.reshape(-1))) if a.dtype == object else float(np.max(np.abs(a)))
