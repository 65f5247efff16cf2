"""Backends: the contract (``contract``) and advalidate's own NumPy reference tape (``numpy_ref``)."""

from .contract import VJP, Backend, Work

__all__ = ["VJP", "Backend", "Work"]
