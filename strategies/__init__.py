"""Hypothesis strategies for advalidate: random programs, points and cotangents.

- :func:`functions` draws a :class:`~advalidate.ir.Function` (chains, DAGs with fan-out, several inputs,
  broadcasting, reductions, matmul chains, structural ops, softmax-like motifs); knobs choose the
  primitives, the size, the shapes and the dtype;
- :func:`points` draws inputs inside every node's domain, away from kinks and saturation (or, with
  ``special=True``, deliberately on zeros, ties and near-ties, kinks and near-kinks, saturation tails of many
  depths, large logits, magnitudes over the exponent range where exp or x² overflow, and subnormals of every
  size; :func:`special_kinds` says which a point reaches);
- :func:`cotangents` draws one ``v`` per output (one-hot, dense, signed, sparse, scaled);
- :func:`examples` draws all three (and, with ``tangents=True``, a tangent per input for forward mode;
  :func:`with_tangents` adds them to any strategy of examples) as an :class:`Example` whose repr is a runnable Python script;
  ``special`` is the share of examples at special points: False (or 0) none, True (or 1) all, a number in
  between that share, each example's choice shrinking towards a regular point (``Example.special`` says which).

Usage::

    from hypothesis import given
    from advalidate.strategies import examples

    @given(examples(dtype="float32", special=True))
    def test_my_vjp(ex):
        grads = my_vjp(ex.function, ex.inputs, ex.cotangents)
        ...

    @given(examples(special=0.25))  # a quarter of the examples special
    def test_my_vjp_mixed(ex):
        ...

Every choice shrinks towards fewer nodes, scalar or length-1 inputs and simpler primitives; a special value
towards a canonical one of its region (2^512 for float64 near-overflow, a tanh tail of 32, an exact tie).
Hypothesis statistics (``--hypothesis-show-statistics``) show the events "point rejected",
"point redrawn Nx" and "special: <kind>".
"""

from ._cotangents import COTANGENT_KINDS, cotangents
from ._examples import Example, array_source, examples, with_tangents
from ._functions import MOTIFS, functions, simplicity
from ._points import SPECIAL_KINDS, check_point, points, special_kinds

__all__ = [
    "COTANGENT_KINDS", "Example", "MOTIFS", "SIMPLICITY", "SPECIAL_KINDS", "array_source", "check_point",
    "cotangents", "examples", "functions", "points", "simplicity", "special_kinds", "with_tangents",
]


def __getattr__(name):
    if name == "SIMPLICITY":  # every registered primitive, simplest first: computed on each access
        return simplicity()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
