"""advalidate backend for tinygrad, written against advalidate's contract alone (``advalidate.plugin``).

``tinygrad``: reverse mode by ``Tensor.gradient`` on tinygrad's CPU device (kernels compiled to C by clang).
"""

from .backend import TinygradBackend

__all__ = ["TinygradBackend"]
