"""The function IR: an immutable straight-line program over float tensors.

Values are named: inputs ``x0, x1, ...`` and node results ``v0, v1, ...`` in order. A node is
``(primitive, args, static params)``; ``args`` name earlier values. ``outputs`` name values too.
Building a :class:`Function` validates it and infers every shape; an invalid program raises
:class:`~advalidate.errors.InvalidFunction` naming the node and the problem.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from . import primitives
from .errors import InvalidFunction

__all__ = ["Node", "Function", "SCHEMA", "DTYPES"]

SCHEMA = "advalidate.function/1"
DTYPES = ("float64", "float32")


def _freeze(value):
    """Params as hashable, JSON-shaped values: lists become tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        raise TypeError("nested mappings are not valid params")
    return value


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Node:
    prim: str
    args: tuple[str, ...]
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, prim: str, *args: str, **params) -> "Node":
        return cls(prim, tuple(args), tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    @property
    def kwargs(self) -> dict:
        return dict(self.params)


@dataclass(frozen=True)
class Function:
    """A validated program. ``shapes`` maps every value name to its inferred shape."""

    inputs: tuple[tuple[int, ...], ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    dtype: str = "float64"
    shapes: Mapping[str, tuple[int, ...]] = field(default=None, compare=False, repr=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(tuple(int(d) for d in s) for s in self.inputs))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "shapes", _infer(self))

    # ---- names
    @property
    def input_names(self) -> list[str]:
        return [f"x{i}" for i in range(len(self.inputs))]

    @property
    def node_names(self) -> list[str]:
        return [f"v{i}" for i in range(len(self.nodes))]

    def named_nodes(self) -> Iterable[tuple[str, Node]]:
        return zip(self.node_names, self.nodes)

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [self.shapes[o] for o in self.outputs]

    @property
    def primitives_used(self) -> list[str]:
        return sorted({n.prim for n in self.nodes})

    # ---- serialisation
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "dtype": self.dtype,
            "inputs": [list(s) for s in self.inputs],
            "nodes": [{"prim": n.prim, "args": list(n.args), "params": {k: _thaw(v) for k, v in n.params}}
                      for n in self.nodes],
            "outputs": list(self.outputs),
        }

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, **kw)

    @classmethod
    def from_dict(cls, data: Mapping) -> "Function":
        if not isinstance(data, Mapping):
            raise InvalidFunction(f"function JSON must be an object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise InvalidFunction(f"function JSON: schema {data.get('schema')!r} is not {SCHEMA!r}")
        for key in ("inputs", "nodes", "outputs"):
            if not isinstance(data.get(key), list):
                raise InvalidFunction(f"function JSON: {key!r} must be a list, got {data.get(key)!r}")
        nodes = []
        for i, nd in enumerate(data["nodes"]):
            if not isinstance(nd, Mapping) or not isinstance(nd.get("prim"), str) or not isinstance(nd.get("args"), list):
                raise InvalidFunction("function JSON: a node needs 'prim' (a string) and 'args' (a list)", f"v{i}")
            params = nd.get("params", {})
            if not isinstance(params, Mapping):
                raise InvalidFunction("function JSON: 'params' must be an object", f"v{i}")
            nodes.append(Node.make(nd["prim"], *nd["args"], **params))
        for i, s in enumerate(data["inputs"]):
            if not isinstance(s, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in s):
                raise InvalidFunction(f"function JSON: shape of x{i} must be a list of non-negative integers, got {s!r}")
        return cls(tuple(tuple(s) for s in data["inputs"]), tuple(nodes), tuple(data["outputs"]),
                   data.get("dtype", "float64"))

    @classmethod
    def from_json(cls, text: str) -> "Function":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidFunction(f"function JSON does not parse: {e}") from None
        return cls.from_dict(data)

    @property
    def hash(self) -> str:
        """A stable content hash (of the canonical JSON)."""
        return hashlib.sha256(self.to_json(separators=(",", ":")).encode()).hexdigest()[:16]

    def with_dtype(self, dtype: str) -> "Function":
        return Function(self.inputs, self.nodes, self.outputs, dtype)

    # ---- liveness
    def upstream(self, *names: str) -> set[str]:
        """The values ``names`` depend on (themselves included): the inputs and nodes they are computed from."""
        args = dict(self.named_nodes())
        seen, stack = set(), list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in args:
                stack.extend(args[name].args)
        return seen

    def pruned(self) -> "Function":
        """The same function without its dead nodes (those no output depends on), nodes renumbered in order.

        The inputs are kept, used or not: they are the VJP's signature (an unused input's gradient is 0).
        A function with no dead node is returned as it is.
        """
        live = self.upstream(*self.outputs)
        kept = [(name, node) for name, node in self.named_nodes() if name in live]
        if len(kept) == len(self.nodes):
            return self
        rename = {name: f"v{i}" for i, (name, _) in enumerate(kept)}
        nodes = tuple(Node(node.prim, tuple(rename.get(a, a) for a in node.args), node.params) for _, node in kept)
        return Function(self.inputs, nodes, tuple(rename.get(o, o) for o in self.outputs), self.dtype)

    def __repr__(self):
        from .render import render

        return render(self, "numpy")


def _infer(fn: Function) -> dict[str, tuple[int, ...]]:
    if fn.dtype not in DTYPES:
        raise InvalidFunction(f"dtype {fn.dtype!r} is not one of {DTYPES}")
    shapes = {f"x{i}": s for i, s in enumerate(fn.inputs)}
    for name, node in fn.named_nodes():
        if not isinstance(node, Node):
            raise InvalidFunction(f"expected a Node, got {node!r}", name)
        try:
            prim = primitives.get(node.prim)
        except KeyError as e:
            raise InvalidFunction(e.args[0], name) from None
        label = f"{name} ({node.prim})"
        if prim.arity is None and not node.args:
            raise InvalidFunction("takes at least 1 argument, got 0", label)
        if prim.arity is not None and len(node.args) != prim.arity:
            raise InvalidFunction(f"takes {prim.arity} argument{'s' * (prim.arity != 1)}, got {len(node.args)}", label)
        for a in node.args:
            if a not in shapes:
                later = " (a value defined later or itself)" if a in fn.node_names else ""
                raise InvalidFunction(f"argument {a!r} is not an input or an earlier node{later}", label)
        try:
            params = prim.check_params(node.kwargs)
            shapes[name] = tuple(prim.shape([shapes[a] for a in node.args], **params))
        except primitives.ShapeError as e:
            raise InvalidFunction(str(e), label) from None
    if not fn.outputs:
        raise InvalidFunction("a function needs at least one output")
    for o in fn.outputs:
        if o not in shapes:
            raise InvalidFunction(f"output {o!r} names no value")
    return shapes
