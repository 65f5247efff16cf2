"""advalidate backend for HIPS autograd (registered through the ``advalidate.backends`` entry point)."""

from .backend import AutogradBackend
from .dialect import AUTOGRAD

__all__ = ["AutogradBackend", "AUTOGRAD"]
