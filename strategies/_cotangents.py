"""``cotangents(function)``: a random ``v`` per output, in the shapes a VJP consumer really passes.

Kinds: ``one-hot`` (a single 1 — one row of the Jacobian), ``dense``, ``signed`` (random +-1), ``sparse``
(about a quarter of the entries nonzero) and ``scaled`` (dense times 10^k, |k| <= 6: a VJP must be linear in v
at every scale). Entries other than zeros have magnitudes in [0.125, 2] (times the scale).

Generation and shrinking want different things. Generation draws mostly dense directions, as the anchors do
(jax's and autograd's ``check_grads`` project on a dense random direction): ``dense`` and ``scaled`` are 12
draws in 16, ``signed`` 2, ``one-hot`` and ``sparse`` 1 each (``KIND_WEIGHTS``). A cotangent that is zero on
every broadcast slice but the first cannot see a broadcast that is not summed, and one of +-1 cannot see a VJP
that ignores the scale of v; the structured kinds stay in the mix for what a dense v averages away (an error in
one small row of the Jacobian, a 0 meeting an inf). Shrinking goes the other way: the alternatives are ordered
simplest first (one-hot, sparse, signed, dense, scaled) and ``sampled_from`` shrinks toward the first, so a
finding shrinks to a single row of the Jacobian when that row shows the error. For an output of one element,
one-hot and signed are v = +-1, the one cotangent at which a VJP that ignores v (or its scale) looks right:
there they come last, so the simplest example of all already checks with v = 0.125.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from advalidate.ir import Function

from ._describe import Described, function_label

__all__ = ["cotangents", "COTANGENT_KINDS", "KIND_WEIGHTS", "kind_order"]

COTANGENT_KINDS = ("one-hot", "dense", "signed", "sparse", "scaled")
KIND_WEIGHTS = {"one-hot": 1, "dense": 8, "signed": 2, "sparse": 1, "scaled": 4}  # shares of generation
_UNIT = ("one-hot", "signed")  # every nonzero entry is +-1


_SIMPLEST_FIRST = ("one-hot", "sparse", "signed", "dense", "scaled")  # fewest nonzeros, then plainest values


def kind_order(kinds, size: int) -> tuple:
    """The alternatives drawn for an output of ``size`` elements, each kind repeated by its weight, simplest
    first (``sampled_from`` shrinks toward the first: one-hot, then sparse, signed, dense, scaled), except that
    a one-element output puts the kinds of v = +-1 last."""
    kinds = tuple(k for k in _SIMPLEST_FIRST if k in kinds)
    if size == 1 and any(k not in _UNIT for k in kinds):
        kinds = tuple(k for k in kinds if k not in _UNIT) + tuple(k for k in kinds if k in _UNIT)
    return tuple(k for k in kinds for _ in range(KIND_WEIGHTS[k]))


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
    kind = draw(st.sampled_from(kind_order(kinds, size)))
    v = np.zeros(size)
    if size:
        if kind == "one-hot":
            # sampled_from draws the position uniformly (st.integers(0, 2) gives 0 in half the draws, and the
            # first element is where a reduction or a broadcast that takes one slice instead of all looks right)
            v[draw(st.sampled_from(range(size)))] = 1.0 if not draw(st.booleans()) else -1.0
        else:
            if size <= _FEW:
                u = np.array([draw(st.floats(-2.0, 2.0)) for _ in range(size)])
            else:
                u = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).uniform(-2.0, 2.0, size)
            sign = np.sign(u + (u == 0))
            # moderate magnitudes in [0.125, 2], 1 at |u| = 1 (so that shrinking, which favours integral u, reads 1)
            a = np.abs(u)
            v = sign * np.where(a <= 1.0, 0.125 + 0.875 * a, a)
            if kind == "signed":
                v = sign
            elif kind == "sparse":  # about a quarter nonzero, at least one
                keep = np.abs(u) >= 1.5
                keep[int(np.argmax(np.abs(u)))] = True
                v = np.where(keep, v, 0.0)
            elif kind == "scaled":
                v = v * 10.0 ** draw(st.integers(-6, 6))
    return v.reshape(shape).astype(dtype)
