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
    """A one-node program applying catalogue primitive ``name`` to inputs of ``shape`` (at least 2-D for the
    defaults of index and transpose). ``params`` (by primitive name) replaces the default params chosen to fit:
    a rotated reshape, a broadcast to ``(2, *shape)``, every other row, a reduction over the last axis."""
    prim = primitives.get(name)
    b = Builder(dtype)
    defaults = {
        "reshape": {"shape": [shape[-1], *shape[:-1]]},
        "broadcast_to": {"shape": [2, *shape]},
        "index": {"key": [[0, shape[0], 2]] + ([1] if len(shape) > 1 else [])},
    }
    chosen = dict(defaults.get(name, {}))
    if prim.family == "reduction":
        chosen = {"axis": len(shape) - 1}
    chosen.update((params or {}).get(name, {}))
    if name == "matmul":
        args = [b.input(shape), b.input(shape[::-1])]
    elif prim.arity is None:
        args = [b.input(shape), b.input(shape)]
    else:
        args = [b.input(shape) for _ in range(prim.arity)]
    return b.build(b.apply(name, *args, **chosen))
