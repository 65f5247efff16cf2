"""What a program guarantees about its values, from its structure alone.

Every input is sampled bounded away from zero (``nz``). Some inputs are *needed* positive or small
because an operation with a restricted domain reads them directly (through structural ops only): the
generator relies on that to make domains safe by construction, and :func:`analyse` replays the same
decisions from a finished :class:`~advalidate.ir.Function`, so ``points`` knows how to sample each input.

Properties of a value (a frozenset of these flags):

- ``pos``: every entry > 0, with a margin; ``nz``: every entry != 0, with a margin;
- ``unit``: every entry in [-1, 1]; ``small``: every entry in [-1.25, 1.25] (safe for ``tan``).

``dup``: the value may hold exactly repeated entries (a ``max`` over it could tie by construction).
``const``: the value is constant by construction (``div(a, a)``, ``log_softmax`` over a length-1 axis): a kink
applied to it sits on the kink for every input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advalidate import primitives
from advalidate.ir import Function, Node

POS, NZ, UNIT, SMALL = "pos", "nz", "unit", "small"

STRUCTURAL = {"reshape", "transpose", "index", "broadcast_to", "concatenate", "stack"}

# operand index -> property the operand needs, for primitives whose domain is restricted
REQUIRES = {
    "sqrt": {0: POS}, "log": {0: POS}, "log1p": {0: POS}, "pow": {0: POS}, "div": {1: NZ}, "tan": {0: SMALL},
}
# atan2(y, x) needs x > 0 or y != 0: handled by :func:`atan2_need`.

_UNIT_OUT = {"sin", "cos", "tanh", "erf", "sigmoid", "softmax"}
_NZ_KEEP = {"neg", "expm1", "tan", "tanh", "sinh", "arctan", "arcsinh", "erf"}
_POS_OUT = {"exp", "cosh", "sigmoid", "softplus", "softmax"}


def atan2_need(props_y: frozenset) -> str | None:
    """The property atan2's second operand needs given the first one's properties."""
    return None if NZ in props_y else POS


def _small(props):
    """The bound flags a sign flip or a shrinking map keeps."""
    return {p for p in (UNIT, SMALL) if p in props} | ({SMALL} if UNIT in props else set())


def node_props(prim: str, args: list[frozenset], params: dict, arg_shapes: list[tuple]) -> frozenset:
    """Properties of a node's result from its operands' properties."""
    a = args[0] if args else frozenset()
    out: set = set()
    both = frozenset.intersection(*args) if args else frozenset()
    if prim in STRUCTURAL:
        out = set(both)
    elif prim in _POS_OUT:
        out = {POS, NZ}
    if prim in _UNIT_OUT:
        out |= {UNIT, SMALL}
    if prim in _NZ_KEEP and NZ in a:
        out.add(NZ)
    if prim == "neg":
        out |= _small(a)
    elif prim in ("square", "abs"):
        if NZ in a:
            out |= {POS, NZ}
        if UNIT in a:
            out |= {UNIT, SMALL}
        if prim == "abs":
            out |= _small(a)
    elif prim in ("sqrt", "log1p") and POS in a:
        out |= {POS, NZ}
    elif prim == "relu":
        out |= {p for p in (POS, NZ) if POS in a} | _small(a)
    elif prim in ("add",) and POS in both:
        out |= {POS, NZ}
    elif prim in ("mul", "div"):
        out |= {p for p in (POS, NZ) if p in both}
        if prim == "mul" and UNIT in both:
            out |= {UNIT, SMALL}
    elif prim == "pow":
        out |= {POS, NZ}
    elif prim == "maximum":
        if any(POS in x for x in args):
            out |= {POS, NZ}
        out |= {p for p in (UNIT, SMALL) if p in both}
    elif prim == "minimum":
        out |= {p for p in (POS, NZ, UNIT, SMALL) if p in both}
    elif prim == "hypot" and any(NZ in x for x in args):
        out |= {POS, NZ}
    elif prim == "where":
        out |= set(args[1] & args[2])
    elif prim in ("sum", "mean", "max", "prod", "norm"):
        import math

        shape = arg_shapes[0]
        axis = params.get("axis")
        count = math.prod(shape) if axis is None else shape[axis]
        if prim == "prod":
            out |= {p for p in (POS, NZ, UNIT) if p in a}
            out |= {SMALL} if UNIT in a else set()
        elif count > 0:
            if prim == "norm" and NZ in a:
                out |= {POS, NZ}
            elif prim in ("sum", "mean", "max") and POS in a:
                out |= {POS, NZ}
            if prim in ("mean", "max"):
                out |= _small(a)
    return frozenset(out)


@dataclass
class Analysis:
    """Properties of every value of a program under construction (or replayed)."""

    inputs: list = field(default_factory=list)  # shapes
    nodes: list = field(default_factory=list)  # (name, Node)
    needs: dict = field(default_factory=dict)  # input name -> set of POS/SMALL
    props: dict = field(default_factory=dict)
    roots: dict = field(default_factory=dict)  # value -> input names it is a structural view of (or None)
    dup: dict = field(default_factory=dict)
    const: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)

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
        return frozenset({NZ} | self.needs[name] | ({SMALL} if SMALL in self.needs[name] else set()))

    def add_node(self, node: Node, shape) -> str:
        name = f"v{len(self.nodes)}"
        self.nodes.append((name, node))
        self.shapes[name] = tuple(shape)
        self._derive(name, node)
        return name

    def _derive(self, name, node):
        prim = primitives.get(node.prim)
        params = prim.check_params(node.kwargs)
        args = list(node.args)
        self.props[name] = node_props(node.prim, [self.props[a] for a in args], params,
                                      [self.shapes[a] for a in args])
        if node.prim in STRUCTURAL and all(self.roots[a] is not None for a in args):
            self.roots[name] = set().union(*(self.roots[a] for a in args))
        else:
            self.roots[name] = None
        dup = any(self.dup[a] for a in args)
        if node.prim == "broadcast_to" and _size(self.shapes[name]) > _size(self.shapes[args[0]]):
            dup = True
        if node.prim in ("concatenate", "stack") and len(set(args)) < len(args):
            dup = True
        if node.prim == "atan2" and args[0] == args[1]:  # only pi/4 and -3pi/4
            dup = True
        const = all(self.const[a] for a in args)
        if node.prim in ("sub", "div") and (args[0] == args[1] or self.same_view(args[0], args[1])):
            const = True
        if node.prim in ("softmax", "log_softmax") and self.shapes[args[0]][params["axis"]] == 1:
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
        return prop in self.props[value] or (prop in (POS, SMALL) and self.roots[value] is not None) or (
            prop == NZ and self.roots[value] is not None)

    def require(self, value: str, prop: str | None) -> None:
        """Make ``value`` have ``prop`` by sampling its root inputs accordingly (``can_have`` must hold)."""
        if prop is None or self.has(value, prop):
            return
        if self.roots[value] is None:
            raise ValueError(f"{value} cannot be given property {prop!r}")
        for root in self.roots[value]:
            self.needs[root].add(prop)
        for name in self.needs:
            self.props[name] = self._input_props(name)
        for name, node in self.nodes:
            self._derive(name, node)

    def requirements(self, node: Node) -> list:
        """The (argument, property) pairs a node's operands need."""
        req = [(node.args[i], p) for i, p in REQUIRES.get(node.prim, {}).items()]
        if node.prim == "atan2":
            req.append((node.args[1], atan2_need(self.props[node.args[0]])))
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
            if prop is not None and not an.has(arg, prop) and an.can_have(arg, prop):
                an.require(arg, prop)
        an.add_node(node, fn.shapes[name])
    return an
