"""``examples()``: a function, a point and cotangents drawn together, printable as runnable Python."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import event, reject
from hypothesis import strategies as st

from advalidate.ir import Function
from advalidate.render import render

from ._describe import Described, call_repr
from ._cotangents import _cotangents, COTANGENT_KINDS
from ._functions import _DEFAULTS, functions
from ._points import draw_point

__all__ = ["Example", "examples", "array_source"]


def array_source(a) -> str:
    """``np.array([...], dtype=np.float64)`` reproducing ``a`` exactly (floats printed by repr)."""
    a = np.asarray(a)
    dtype = f"np.{a.dtype.name}"
    if a.size == 0:
        return f"np.zeros({a.shape!r}, dtype={dtype})"

    def lit(x):
        if isinstance(x, list):
            return "[" + ", ".join(lit(e) for e in x) + "]"
        x = float(x)
        if np.isnan(x):
            return "np.nan"
        if np.isinf(x):
            return "np.inf" if x > 0 else "-np.inf"
        return repr(x)

    return f"np.array({lit(a.tolist())}, dtype={dtype})"


@dataclass(frozen=True, eq=False)
class Example:
    """One drawn example. Its repr is a Python script defining ``f``, ``inputs`` and ``cotangents``."""

    function: Function
    inputs: tuple
    cotangents: tuple
    special: bool = False

    def __repr__(self):
        lines = [render(self.function, "numpy").rstrip("\n"), "", ""]
        lines.append("inputs = [" + ", ".join(array_source(x) for x in self.inputs) + "]")
        lines.append("cotangents = [" + ", ".join(array_source(v) for v in self.cotangents) + "]")
        lines.append(f"special = {self.special!r}")
        return "\n".join(lines) + "\n"


def examples(*, special: bool = False, cotangent_kinds=COTANGENT_KINDS, **function_knobs):
    """A strategy for :class:`Example`: ``functions(**function_knobs)``, then ``points``, then ``cotangents``.

    ``special=True`` draws special points and lets the function strategy build ties by construction
    (``ties=True``) unless the knobs say otherwise. A point that cannot be made regular rejects the example
    (a Hypothesis event "point rejected"; see ``benchmarks/strategies.py`` for the measured rate).
    """
    knobs = dict(function_knobs)
    if special:
        knobs.setdefault("ties", True)
    fns = functions(**knobs)
    kinds = tuple(cotangent_kinds)
    if not kinds or set(kinds) - set(COTANGENT_KINDS):
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"cotangent_kinds={kinds!r}: choose a non-empty subset of {COTANGENT_KINDS}")
    shown = {k: v for k, v in function_knobs.items() if v != _DEFAULTS.get(k)}
    shown = dict(shown, **({"special": True} if special else {}))
    if kinds != COTANGENT_KINDS:
        shown["cotangent_kinds"] = kinds
    text = call_repr("examples", {k: object() for k in shown}, shown)
    return Described(_examples(fns, bool(special), kinds), text)


@st.composite
def _examples(draw, fns, special, kinds):
    fn = draw(fns)
    xs = draw_point(draw, fn, special)
    if xs is None:
        event("point rejected")
        reject()
    vs = draw(_cotangents(fn, kinds))
    return Example(fn, tuple(xs), tuple(vs), special)
