"""Hypothesis strategies for advalidate: random programs, points and cotangents.

>>> from strategies import examples
>>> @given(examples())
... def test_vjp(ex): ...   # ex.function, ex.inputs, ex.cotangents
"""

from .cotangents import COTANGENT_KINDS, cotangents
from .examples import Example, array_source, examples
from .functions import MOTIFS, SIMPLICITY, functions
from .points import SPECIAL_KINDS, check_point, points, special_kinds

__all__ = [
    "COTANGENT_KINDS", "Example", "MOTIFS", "SIMPLICITY", "SPECIAL_KINDS", "array_source", "check_point",
    "cotangents", "examples", "functions", "points", "special_kinds",
]
