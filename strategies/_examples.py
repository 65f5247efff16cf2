"""``examples()``: a function, a point and cotangents drawn together, printable as runnable Python."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from hypothesis import event, reject
from hypothesis import strategies as st

from advalidate.ir import Function
from advalidate.render import render

from ._describe import Described, call_repr
from ._cotangents import _cotangents, COTANGENT_KINDS
from ._functions import _DEFAULTS, functions
from ._points import draw_point, uniform_index

__all__ = ["Example", "examples", "array_source", "with_tangents"]


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
    tangents: tuple = ()  # one per input, for forward mode (``examples(tangents=True)``); empty otherwise

    def __repr__(self):
        lines = [render(self.function, "numpy").rstrip("\n"), "", ""]
        lines.append("inputs = [" + ", ".join(array_source(x) for x in self.inputs) + "]")
        lines.append("cotangents = [" + ", ".join(array_source(v) for v in self.cotangents) + "]")
        if self.tangents:
            lines.append("tangents = [" + ", ".join(array_source(w) for w in self.tangents) + "]")
        lines.append(f"special = {self.special!r}")
        return "\n".join(lines) + "\n"


def examples(*, special: bool | float = False, cotangent_kinds=COTANGENT_KINDS, tangents: bool = False,
             **function_knobs):
    """A strategy for :class:`Example`: ``functions(**function_knobs)``, then ``points``, then ``cotangents``, and
    with ``tangents=True`` one tangent per input for forward mode (:func:`with_tangents`: the same kinds).

    ``special`` is the share of examples drawn at special points: False (or 0) regular points only, True (or 1)
    every example special, a number strictly between 0 and 1 that share of the examples (each example's choice
    shrinks towards a regular point, so a finding shrinks to a regular example where it shows there, and stays
    special where it shows only at a special point). A special example's function may also build ties by
    construction (``ties=True``) unless the knobs say otherwise; :attr:`Example.special` says which each example
    is. A point that cannot be made regular rejects the example (a Hypothesis event "point rejected"; see
    ``benchmarks/strategies.py`` for the measured rate).
    """
    share = _share(special)
    knobs = dict(function_knobs)
    regular_fns = functions(**knobs) if share < 1 else None
    knobs.setdefault("ties", True)
    special_fns = functions(**knobs) if share > 0 else None
    kinds = tuple(cotangent_kinds)
    if not kinds or set(kinds) - set(COTANGENT_KINDS):
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"cotangent_kinds={kinds!r}: choose a non-empty subset of {COTANGENT_KINDS}")
    shown = {k: v for k, v in function_knobs.items() if v != _DEFAULTS.get(k)}
    if share:
        shown["special"] = True if share == 1 else share
    if kinds != COTANGENT_KINDS:
        shown["cotangent_kinds"] = kinds
    if tangents:
        shown["tangents"] = True
    text = call_repr("examples", {k: object() for k in shown}, shown)
    inner = _examples(regular_fns, special_fns, share, kinds)
    return Described(_with_tangents(inner, kinds) if tangents else inner, text)


def with_tangents(strategy, kinds=COTANGENT_KINDS):
    """``strategy``'s :class:`Example` with one tangent per input drawn after it (for forward mode), of the kinds of
    :func:`cotangents` (a one-hot tangent is one column of the Jacobian, as a one-hot cotangent is one row)."""
    return _with_tangents(strategy, tuple(kinds))


@st.composite
def _with_tangents(draw, inner, kinds):
    import dataclasses

    from ._cotangents import _one

    ex = draw(inner)
    ws = tuple(_one(draw, shape, ex.function.dtype, kinds) for shape in ex.function.inputs)
    if dataclasses.is_dataclass(ex) and "tangents" in {f.name for f in dataclasses.fields(ex)}:
        return dataclasses.replace(ex, tangents=ws)
    return Tangented(ex, ws)


class Tangented:
    """An example of another kind (a user's strategy of their own) with the tangents drawn for it: its attributes
    are the example's, and ``tangents``."""

    def __init__(self, example, tangents):
        self.example, self.tangents = example, tangents

    def __getattr__(self, name):
        return getattr(self.__dict__["example"], name)

    def __repr__(self):
        return f"{self.example!r}\ntangents = [" + ", ".join(array_source(w) for w in self.tangents) + "]\n"


_GRAIN = 1 << 16  # each example draws k < _GRAIN uniformly: special when k >= (1 - share)·_GRAIN (k shrinks to 0)


def _share(special) -> float:
    """``special`` as a share in [0, 1]; InvalidArgument naming the problem otherwise."""
    from hypothesis.errors import InvalidArgument

    if isinstance(special, (bool, np.bool_)):
        return float(special)
    if not isinstance(special, numbers.Real):
        raise InvalidArgument(f"special={special!r} must be True, False or a share of special examples in [0, 1], "
                              f"not a {type(special).__name__}")
    share = float(special)
    if not 0 <= share <= 1:  # NaN fails too
        raise InvalidArgument(f"special={special!r} must be True, False or a share of special examples in [0, 1]")
    return share


@st.composite
def _examples(draw, regular_fns, special_fns, share, kinds):
    if share in (0, 1):
        special = share == 1
    else:
        special = uniform_index(draw, _GRAIN) >= round((1 - share) * _GRAIN)
    fn = draw(special_fns if special else regular_fns)
    xs = draw_point(draw, fn, special)
    if xs is None:
        event("point rejected")
        reject()
    vs = draw(_cotangents(fn, kinds))
    return Example(fn, tuple(xs), tuple(vs), special)
