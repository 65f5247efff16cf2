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


_FEW = 8  # cotangents with at most this many entries draw each from Hypothesis; larger ones use a drawn seed


def _one(draw, shape, dtype, kinds):
    size = math.prod(shape)
    kind = draw(st.sampled_from(kinds))
    v = np.zeros(size)
    if size:
        if kind == "one-hot":
            v[draw(st.integers(0, size - 1))] = 1.0 if not draw(st.booleans()) else -1.0
        else:
            if size <= _FEW:
                u = np.array([draw(st.floats(-2.0, 2.0)) for _ in range(size)])
            else:
                u = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).uniform(-2.0, 2.0, size)
            sign = np.sign(u + (u == 0))
            v = sign * (0.125 + np.abs(u) * (1.875 / 2.0))  # moderate magnitudes: [0.125, 2]
            if kind == "signed":
                v = sign
            elif kind == "sparse":  # about a quarter nonzero, at least one
                keep = np.abs(u) >= 1.5
                keep[int(np.argmax(np.abs(u)))] = True
                v = np.where(keep, v, 0.0)
            elif kind == "scaled":
                v = v * 10.0 ** draw(st.integers(-6, 6))
    return v.reshape(shape).astype(dtype)
