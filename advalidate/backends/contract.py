"""The backend contract: what advalidate needs from an AD library.

A backend is an object (or a class with a no-argument constructor) with:

``name: str``
    Unique, short, lowercase (``"jax"``, ``"torch"``, ``"numpy-ref"``).
``version: str``
    The version of the library under test.
``dtypes: tuple[str, ...]``
    Float dtypes it runs: a subset of ``("float64", "float32")``.
``primitives: Mapping[str, object]``
    The catalogue names it supports, mapped to its own implementation (a function or a template).
    A function using any other primitive is skipped and reported as "not supported" for this backend.
``vjp(function, inputs, cotangents) -> VJP``
    One forward and one backward pass: ``function`` is an :class:`advalidate.Function`, ``inputs`` a list
    of NumPy arrays (one per input, in the function's dtype), ``cotangents`` a list of NumPy arrays (one per
    output). Returns the outputs and ``vᵀ·∂f/∂x_i`` for every input, as NumPy arrays.
``work(function, inputs, cotangents) -> Work``
    The work of the forward alone and of a whole VJP (forward plus backward) under the unit-cost model of
    :mod:`advalidate.counting`, measured by observing the library's trace, and how many times the forward
    was evaluated during the VJP (one, for reverse mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VJP", "Work", "Backend"]


@dataclass(frozen=True)
class VJP:
    outputs: list[np.ndarray]
    grads: list[np.ndarray]


@dataclass(frozen=True)
class Work:
    forward: int  # work of f alone
    vjp: int  # work of f and its VJP together
    forward_passes: int = 1  # evaluations of f during the VJP

    @property
    def ratio(self) -> float:
        return self.vjp / self.forward if self.forward else float("inf") if self.vjp else 1.0


class Backend:
    """A base class that documents the contract; subclassing it is optional (duck typing is enough)."""

    name: str = ""
    version: str = ""
    dtypes: tuple[str, ...] = ("float64", "float32")
    primitives: dict = {}

    def vjp(self, function, inputs, cotangents) -> VJP:
        raise NotImplementedError

    def work(self, function, inputs, cotangents) -> Work:
        raise NotImplementedError

    def supports(self, function) -> list[str]:
        """The primitives of ``function`` this backend does not support (empty: it can run it)."""
        return [p for p in function.primitives_used if p not in self.primitives]
