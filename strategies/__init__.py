"""Hypothesis strategies for advalidate: random programs, points and cotangents.

- :func:`functions` draws a :class:`~advalidate.ir.Function` (chains, DAGs with fan-out, several inputs,
  broadcasting, reductions, matmul chains, structural ops, softmax-like motifs); knobs choose the
  primitives, the size, the shapes and the dtype;
- :func:`points` draws inputs inside every node's domain, away from kinks and saturation (or, with
  ``special=True``, deliberately on zeros, ties, kinks, saturation tails, large logits, near-overflow and
  tiny magnitudes; :func:`special_kinds` says which a point reaches);
- :func:`cotangents` draws one ``v`` per output (one-hot, dense, signed, sparse, scaled);
- :func:`examples` draws all three as an :class:`Example` whose repr is a runnable Python script.

Usage::

    from hypothesis import given
    from advalidate.strategies import examples

    @given(examples(dtype="float32", special=True))
    def test_my_vjp(ex):
        grads = my_vjp(ex.function, ex.inputs, ex.cotangents)
        ...

Every choice shrinks towards fewer nodes, scalar or length-1 inputs and simpler primitives.
Hypothesis statistics (``--hypothesis-show-statistics``) show the events "point rejected",
"point redrawn Nx" and "special: <kind>".
"""

from ._cotangents import COTANGENT_KINDS, cotangents
from ._examples import Example, array_source, examples
from ._functions import MOTIFS, SIMPLICITY, functions
from ._points import SPECIAL_KINDS, check_point, points, special_kinds

__all__ = [
    "COTANGENT_KINDS", "Example", "MOTIFS", "SIMPLICITY", "SPECIAL_KINDS", "array_source", "check_point",
    "cotangents", "examples", "functions", "points", "special_kinds",
]
