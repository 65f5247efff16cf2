"""A small builder for programs: ``b = Builder(); x = b.input(3); b.build(b.tanh(x))``."""

from __future__ import annotations

from . import primitives
from .ir import Function, Node

__all__ = ["Builder", "single"]


class Builder:
    """Append nodes by calling catalogue names as methods; each call returns the new value's name."""

    def __init__(self, dtype: str = "float64"):
        self.dtype = dtype
        self._inputs: list[tuple[int, ...]] = []
        self._nodes: list[Node] = []

    def input(self, *shape) -> str:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        self._inputs.append(tuple(shape))
        return f"x{len(self._inputs) - 1}"

    def apply(self, prim: str, *args: str, **params) -> str:
        self._nodes.append(Node.make(prim, *args, **params))
        return f"v{len(self._nodes) - 1}"

    def __getattr__(self, prim: str):
        if prim.startswith("_") or prim not in primitives.CATALOGUE:
            raise AttributeError(prim)
        return lambda *args, **params: self.apply(prim, *args, **params)

    def build(self, *outputs: str) -> Function:
        return Function(tuple(self._inputs), tuple(self._nodes), tuple(outputs), self.dtype)


def single(name: str, shape=(3, 4), dtype: str = "float64", params: dict | None = None) -> Function:
    """A one-node program applying catalogue primitive ``name`` to inputs of ``shape``: its registration's example
    (``Primitive.example``: operand shapes and params chosen to fit ``shape``, at least 2-D for index and
    transpose). ``params`` (by primitive name) replaces the example's params."""
    shapes, chosen = primitives.get(name).example_args(shape)
    chosen.update((params or {}).get(name, {}))
    b = Builder(dtype)
    args = [b.input(s) for s in shapes]
    return b.build(b.apply(name, *args, **chosen))
