"""What a program guarantees about its values, from its structure alone.

Every input is sampled bounded away from zero (``nz``). Some inputs are *needed* positive or small
because an operation with a restricted domain reads them directly (through structural ops only; each
primitive's registration names its operands' samplers, :mod:`advalidate.primitives.operands`): the
generator relies on that to make domains safe by construction, and :func:`analyse` replays the same
decisions from a finished :class:`~advalidate.ir.Function`, so ``points`` knows how to sample each input.

Properties of a value (a frozenset of these flags):

- ``pos``: every entry > 0, with a margin; ``nz``: every entry != 0, with a margin;
- ``unit``: every entry in [-1, 1]; ``small``: every entry in [-1.25, 1.25] (safe for ``tan``).

What a node's result has, repeats or keeps constant is its primitive's registration's (``props``, ``repeats``,
``constant``); a sampler's own property (``inside-unit``) only an input drawn by it has. Some properties only a result
has (``nonneg``: a variance; ``pos-diag``: a Cholesky factor's diagonal). A property a computed value needs is pulled
back one level to its operands that are views of inputs when its registration's ``props`` then give it
(:meth:`Analysis.pull_back`: ``var(x) + eps`` is positive when eps is).

``dup``: the value may hold exactly repeated entries (a ``max`` over it could tie by construction).
``const``: the value is constant by construction (``div(a, a)``, ``log_softmax`` over a length-1 axis): a kink
applied to it sits on the kink for every input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advalidate import primitives
from advalidate.ir import Function, Node
from advalidate.primitives.operands import NZ, sampler


def node_props(prim: str, args: list[frozenset], params: dict, arg_shapes: list[tuple]) -> frozenset:
    """Properties of a node's result from its operands' properties (its registration's ``props``)."""
    return primitives.get(prim).result_props(args, params, arg_shapes)


@dataclass
class Analysis:
    """Properties of every value of a program under construction (or replayed)."""

    inputs: list = field(default_factory=list)  # shapes
    nodes: list = field(default_factory=list)  # (name, Node)
    needs: dict = field(default_factory=dict)  # input name -> set of properties its samplers give (POS, SMALL)
    props: dict = field(default_factory=dict)
    roots: dict = field(default_factory=dict)  # value -> input names it is a structural view of (or None)
    dup: dict = field(default_factory=dict)
    const: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    _node: dict = field(default_factory=dict)  # value -> the Node computing it

    def add_input(self, shape) -> str:
        name = f"x{len(self.inputs)}"
        self.inputs.append(tuple(shape))
        self.needs[name] = set()
        self.shapes[name] = tuple(shape)
        self.roots[name] = {name}
        self.dup[name] = False
        self.const[name] = False
        self.props[name] = self._input_props(name)
        return name

    def _input_props(self, name):
        return frozenset({NZ} | self.needs[name])

    def add_node(self, node: Node, shape) -> str:
        name = f"v{len(self.nodes)}"
        self.nodes.append((name, node))
        self._node[name] = node
        self.shapes[name] = tuple(shape)
        self._derive(name, node)
        return name

    def _derive(self, name, node):
        prim = primitives.get(node.prim)
        params = prim.check_params(node.kwargs)
        args = list(node.args)
        shapes = [self.shapes[a] for a in args]
        self.props[name] = prim.result_props([self.props[a] for a in args], params, shapes)
        if prim.family == "structural" and all(self.roots[a] is not None for a in args):
            self.roots[name] = set().union(*(self.roots[a] for a in args))
        else:
            self.roots[name] = None
        dup = any(self.dup[a] for a in args)
        if prim.repeats is not None and prim.repeats(args, shapes, self.shapes[name]):
            dup = True
        const = all(self.const[a] for a in args)
        same = lambda a, b: a == b or self.same_view(a, b)  # noqa: E731
        if prim.constant is not None and prim.constant(same, args, shapes, params):
            const = True
        self.const[name] = const
        self.dup[name] = dup or (const and _size(self.shapes[name]) > 1)

    def same_view(self, a: str, b: str) -> bool:
        """Both values are structural views of overlapping inputs (they may hold the same numbers)."""
        ra, rb = self.roots[a], self.roots[b]
        return ra is not None and rb is not None and bool(ra & rb)

    # ---- requirements
    def has(self, value: str, prop: str) -> bool:
        return prop in self.props[value]

    def can_have(self, value: str, prop: str) -> bool:
        """The value has ``prop`` or is a structural view of inputs that can be sampled to give it."""
        return prop in self.props[value] or self.roots[value] is not None

    def pull_back(self, value: str, prop: str) -> list | None:
        """The operands of a computed ``value`` that are views of inputs and, given ``prop`` too, make its node's
        result have ``prop`` (its registration's ``props``: ``var(x) + eps`` is positive when eps is); None when
        there are none or they would not. One level only: a motif's ``sqrt(var + eps)`` (issue 16)."""
        node = self._node.get(value)
        if node is None:
            return None
        args = list(node.args)
        views = [a for a in args if self.roots[a] is not None and prop not in self.props[a]]
        if not views:
            return None
        prim = primitives.get(node.prim)
        given = [self.props[a] | {prop} if a in views else self.props[a] for a in args]
        if prop not in prim.result_props(given, prim.check_params(node.kwargs), [self.shapes[a] for a in args]):
            return None
        return views

    def can_get(self, value: str, prop: str) -> bool:
        """``can_have``, or a computed value whose operands' inputs can be sampled to give it (``pull_back``)."""
        return self.can_have(value, prop) or self.pull_back(value, prop) is not None

    def require(self, value: str, prop: str | None) -> None:
        """Make ``value`` have ``prop`` by sampling its root inputs accordingly (``can_get`` must hold)."""
        if prop is None or self.has(value, prop):
            return
        if self.roots[value] is None:
            views = self.pull_back(value, prop)
            if views is None:
                raise ValueError(f"{value} cannot be given property {prop!r}")
            for view in views:
                self.require(view, prop)
            return
        for root in self.roots[value]:
            self.needs[root].add(prop)
        for name in self.needs:
            self.props[name] = self._input_props(name)
        for name, node in self.nodes:
            self._derive(name, node)

    def requirements(self, node: Node) -> list:
        """The (argument, property) pairs a node's operands need."""
        prim = primitives.get(node.prim)
        props = [self.props[a] for a in node.args]
        req = []
        for i, a in enumerate(node.args):
            need = sampler(prim.operand(i), props)
            if need is not None:
                req.append((a, need.flag))
        return req


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def analyse(fn: Function) -> Analysis:
    """Replay the generator's sampling decisions on a finished program: which inputs must be positive/small."""
    an = Analysis()
    for shape in fn.inputs:
        an.add_input(shape)
    for name, node in fn.named_nodes():
        for arg, prop in an.requirements(node):
            if prop is not None and not an.has(arg, prop) and an.can_get(arg, prop):
                an.require(arg, prop)
        an.add_node(node, fn.shapes[name])
    return an
