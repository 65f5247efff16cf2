"""An advalidate backend for PyTensor, written against advalidate's contract alone (``advalidate.plugin``).

``pytensor``: the rendered PyTensor graph differentiated by ``pytensor.gradient`` and compiled by
``pytensor.function`` in PyTensor's default mode (NUMBA).
"""

from .backend import PyTensorBackend, PyTensorFastCompileBackend

__all__ = ["PyTensorBackend", "PyTensorFastCompileBackend"]
