"""advalidate: property-based verification of automatic differentiation.

Random programs (``strategies``), a high-precision mpmath oracle (``advalidate.oracle``), backends behind
one contract (``advalidate.backends``), and the cost of reverse mode measured by observing each trace.
"""

from .builder import Builder
from .errors import AdvalidateError, DomainError, InvalidFunction, KinkError, OracleError
from .evaluate import evaluate
from .ir import Function, Node
from .primitives import CATALOGUE, FAMILIES
from .render import compile_function, render

__version__ = "0.1.0"

__all__ = [
    "AdvalidateError", "Builder", "CATALOGUE", "DomainError", "FAMILIES", "Function", "InvalidFunction",
    "KinkError", "Node", "OracleError", "compile_function", "evaluate", "render",
]
