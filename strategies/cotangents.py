"""``cotangents(function)``: a random ``v`` per output, in the shapes a VJP consumer really passes.

Kinds (the first is the shrink target): ``one-hot`` (a single 1 — one row of the Jacobian), ``dense``,
``signed`` (random +-1), ``sparse`` (about a quarter of the entries nonzero) and ``scaled`` (dense times
10^k, |k| <= 6: a VJP must be linear in v at every scale). Entries other than zeros have magnitudes in
[0.125, 2] (times the scale).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from advalidate.ir import Function

from ._describe import Described, function_label

__all__ = ["cotangents", "COTANGENT_KINDS"]

COTANGENT_KINDS = ("one-hot", "dense", "signed", "sparse", "scaled")


def cotangents(function: Function, kinds=COTANGENT_KINDS):
    """A strategy for a list of cotangent arrays, one per output of ``function``, of its dtype."""
    if not isinstance(function, Function):
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"cotangents() takes a Function, got {type(function).__name__}")
    kinds = tuple(kinds)
    unknown = set(kinds) - set(COTANGENT_KINDS)
    if not kinds or unknown:
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"kinds={kinds!r}: choose a non-empty subset of {COTANGENT_KINDS}")
    extra = "" if kinds == COTANGENT_KINDS else f", kinds={kinds!r}"
    return Described(_cotangents(function, kinds), f"cotangents({function_label(function)}{extra})")


@st.composite
def _cotangents(draw, fn: Function, kinds):
    return [_one(draw, shape, fn.dtype, kinds) for shape in fn.output_shapes]


_MAGNITUDES = st.floats(0.125, 2.0)  # moderate entries; tiny and huge scales are the "scaled" kind's job


def _value(draw) -> float:
    return draw(_MAGNITUDES) * (-1.0 if draw(st.booleans()) else 1.0)


def _one(draw, shape, dtype, kinds):
    size = math.prod(shape)
    kind = draw(st.sampled_from(kinds))
    v = np.zeros(size)
    if size:
        if kind == "one-hot":
            v[draw(st.integers(0, size - 1))] = 1.0 if not draw(st.booleans()) else -1.0
        elif kind == "signed":
            v[:] = [1.0 if not draw(st.booleans()) else -1.0 for _ in range(size)]
        elif kind == "sparse":
            for i in range(size):
                if draw(st.integers(0, 3)) == 3:
                    v[i] = _value(draw)
            v[draw(st.integers(0, size - 1))] = 1.0  # at least one nonzero entry
        else:
            v[:] = [_value(draw) for _ in range(size)]
            if kind == "scaled":
                v *= 10.0 ** draw(st.integers(-6, 6))
    return v.reshape(shape).astype(dtype)
