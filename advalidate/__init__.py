"""advalidate: property-based verification of automatic differentiation.

Random programs (:mod:`advalidate.strategies`), a high-precision mpmath oracle (:class:`Oracle`), backends behind
one contract (:class:`Backend`), every backend checked on one example by :func:`check_example`, and a backend of
your own checked from your tests by :func:`run_conformance`. The cost of reverse mode is measured by observing
each trace.

The names below are what users call; the heavier ones are imported on first use, so ``import advalidate`` (and
the CLI's start) stays light.
"""

import importlib as _importlib
import sys as _sys
from pathlib import Path as _Path

from .builder import Builder
from .errors import AdvalidateError, DomainError, InvalidFunction, KinkError, OracleError
from .evaluate import evaluate
from .ir import Function, Node
from .primitives import CATALOGUE, FAMILIES
from .render import compile_function, render

__version__ = "0.1.0"

_LAZY = {
    "Oracle": "advalidate.oracle",
    "check_example": "advalidate.check",
    "ExampleResult": "advalidate.check",
    "Outcome": "advalidate.check",
    "run_conformance": "advalidate.testing",
    "Backend": "advalidate.backends.contract",
    "VJP": "advalidate.backends.contract",
    "JVP": "advalidate.backends.contract",
    "HVP": "advalidate.backends.contract",
    "Work": "advalidate.backends.contract",
    "Campaign": "advalidate.campaign",
    "Settings": "advalidate.campaign",
    "KnownBehaviours": "advalidate.known",
    "load_backends": "advalidate.backends.registry",
}

__all__ = [
    "AdvalidateError", "Backend", "Builder", "CATALOGUE", "Campaign", "DomainError", "ExampleResult", "FAMILIES",
    "Function", "HVP", "InvalidFunction", "JVP", "KinkError", "KnownBehaviours", "Node", "Oracle", "OracleError", "Outcome",
    "Settings", "VJP", "Work", "check_example", "compile_function", "evaluate", "load_backends", "render",
    "run_conformance",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'advalidate' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _CheckoutStrategies:
    """From a source checkout (advalidate/ beside strategies/), ``advalidate.strategies`` is the top-level folder
    ``strategies/``: an installed wheel has it at ``advalidate/strategies/`` (pyproject's package-dir), and this
    finder does nothing there."""

    name = __name__ + ".strategies"

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(fullname, self.folder / "__init__.py",
                                       submodule_search_locations=[str(self.folder)])


_here = _Path(__file__).resolve().parent
if not (_here / "strategies").is_dir() and (_here.parent / "strategies" / "__init__.py").is_file():
    _sys.meta_path.insert(0, _CheckoutStrategies(_here.parent / "strategies"))
