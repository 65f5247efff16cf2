"""Backends: the contract (``contract``), the registry that finds and validates them (``registry``), advalidate's
own NumPy reference tape (``numpy_ref``), and the JAX and PyTorch backends (imported only when asked for)."""

from .contract import VJP, Backend, Work
from .registry import BackendLoadError, InvalidBackend, get, validate

__all__ = ["VJP", "Backend", "BackendLoadError", "InvalidBackend", "Work", "get", "validate"]
