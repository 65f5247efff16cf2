"""A primitive: every fact advalidate knows about one operation, in one registration.

The mathematics (arity, parameters, shape rule, float and mpmath forms, domain and kinks), the reference
derivative rules (a VJP and a JVP that run on float arrays and on object arrays of mpf), how its operands are
sampled (:mod:`advalidate.primitives.operands`) and what its result guarantees, the facts the error model needs,
its special points, and how the program generator draws it. Backends map the same name to their own
implementation (:mod:`advalidate.render`'s dialects, the reference tape reads the rules from here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Primitive", "Special", "Draw", "ShapeError", "REQUIRED"]


class ShapeError(ValueError):
    """A shape rule refused its operands; the message says why (the IR adds the node)."""


REQUIRED = object()
"""The default of a parameter a node must give."""


@dataclass(frozen=True)
class Special:
    """Where the primitive's special points are (``points(special=True)``) and what default points avoid.

    ``saturation``: default points keep the operand within ±this (the derivative formula loses digits in the
    flat tails beyond); special points drive it deep into the tails. ``slope(x)``: the derivative relative to
    its peak, for the conformance checks, which redraw a point where it falls below sqrt(u).
    ``logits``: a softmax-like op, which saturates with the spread of its operand (default points keep it
    within 10); special points drive the logits large. ``shiftable``: a common offset of the operand changes
    nothing a stable implementation computes, so default points may shift logits read straight from an input
    far up (past exp's overflow). ``signed_kink(operands) -> array``: a signed gap whose sign change marks the
    kink (special points bisect onto it; a primitive with parameters gets them as keywords too,
    ``signed_kink(operands, lo=..., hi=...)``). ``tie``: a zero kink gap is a tie between operands or entries."""

    saturation: float | None = None
    slope: Callable | None = None
    logits: bool = False
    shiftable: bool = False
    signed_kink: Callable | None = None
    tie: bool = False


@dataclass(frozen=True)
class Draw:
    """How the program generator (``functions()``) draws the primitive.

    ``simplicity``: its place from simple to exotic (the shrinker moves towards lower; registrations without
    one come last, in registration order). ``rule``: the generator's rule for it: "unary", "binary"
    (broadcasting, operands of compatible shapes, fan-out first), "reduction", or one of the rules of the
    structural and special primitives ("where", "matmul", "along_axis", "transpose", "reshape", "broadcast_to",
    "index", "concatenate", "stack"; those of the structural linear algebra: "matrix", "pair", "tensordot",
    "einsum"; and "square": a square-matrix operand, a fresh input or one drawn by the same sampler, with a
    right-hand side for a second operand); None picks "reduction" for the reduction family, "binary" for two
    operands, else "unary". ``ranks(max_dims) -> (lo, hi)``: ranks its main operand may have, and
    ``rank_text`` says it in an error message. ``self_ties``: f(a, a) is constant or tied (``sub``,
    ``maximum``): not drawn unless ties are asked for. ``repeats_tie``: repeated entries tie (``max``).
    ``activation``: its place among the activations an MLP motif may use between layers (None: not one). ``nonempty``: refuses empty operands.
    ``params``: parameter name -> the values the "unary" and "binary" rules draw it from (the first is where it
    shrinks to; None: the registration's defaults), e.g. ``int_pow``'s exponent or ``clip``'s bounds (data, not a
    strategy: importing the catalogue does not import Hypothesis)."""

    simplicity: float = float("inf")
    rule: str | None = None
    ranks: Callable[[int], tuple] | None = None
    rank_text: str = ">= 1"
    self_ties: bool = False
    repeats_tie: bool = False
    activation: float | None = None
    nonempty: bool = False
    params: dict | None = None


@dataclass(frozen=True)
class Primitive:
    """One primitive (see the module docstring); add one with :func:`advalidate.primitives.register`.

    The mathematics:

    - ``arity`` (None: variadic, at least one operand), ``family`` (elementwise, binary, reduction, linalg,
      structural, nn), ``params``: name -> default (:data:`REQUIRED` for none);
    - ``shape(shapes, **params) -> shape``, raising :class:`ShapeError`;
    - ``np(*arrays, **params)``: the float form, dtype-preserving; ``mp(*arrays, **params)``: the mpmath form on
      object arrays of mpf (for an elementwise op, ``np.frompyfunc`` of a scalar mpmath function);
    - ``domain(*operands)`` and ``kink(*operands, **params)``: gap arrays, > 0 inside the open domain, the
      distance to the nearest non-differentiable point (0 on it); on float and on mpf object arrays;
      ``recurring_kinks``: the kinks recur at a spacing that does not grow with the operands (floor's integers,
      fmod's multiples of b), so a step relative to the operands can span many pieces: the oracle's one-sided
      derivatives then shrink their step until the kink gaps move linearly along it (one piece);
      ``piecewise_constant``: the derivative is 0 on every piece (sign, floor, round), so every convention at its
      kinks is the same: a miss there on a component whose one-sided derivatives agree is a regular miss (a kink
      with pieces of different derivatives, such as a three-way tie of sort, has conventions no single direction
      sees, and stays a convention).

    The reference rules, on float arrays and on object arrays of mpf (write transcendental functions with
    :mod:`advalidate.xp`):

    - ``vjp``: one rule per operand, ``rule(g, ans, *operands, **params) -> cotangent`` (None: no dependence;
      a broadcasting op may return the broadcast shape, the tape sums it away), or one callable returning every
      operand's cotangent;
    - ``jvp(tangents, ans, *operands, **params) -> tangent of the result`` (``tangents``: one per operand,
      of its shape).

    Sampling and generation: ``operands``: per operand a :class:`~advalidate.primitives.operands.Sampler`,
    an :class:`~advalidate.primitives.operands.Unless` or None (any nonzero value; a variadic op's one entry
    applies to every operand); ``props(args, params, shapes) -> set``: the properties its result has given its
    operands' (a structural op keeps what all its operands have); ``repeats(args, shapes, shape) -> bool``: its
    result may hold exactly repeated entries by construction; ``constant(same, args, shapes, params) -> bool``:
    it is constant by construction (``same(a, b)``: the values may be the same numbers); ``special``
    (:class:`Special`), ``draw`` (:class:`Draw`), ``example(shape) -> (operand shapes, params)``: a one-node
    example fitting ``shape`` (conformance and cost checks).

    The error model: ``rounding(value, operands, params)``: the rounding error a float implementation may leave
    in its result beyond one ulp (a sum of terms: u times the sum of their magnitudes); ``kink_is_value_gap``: the
    kink gap is a difference of the primitive's own values (eigvalsh's consecutive eigenvalues), so that its own
    ``rounding`` may close it whatever its operands (:func:`advalidate.check.rounding_crosses`); ``magnitude``: the
    rule(s) of ``|J|^T |v|`` where the absolute value of ``vjp`` is not it (sums of mixed signs inside).
    The cost model: ``free_fan_out``: a view (free in the unit-cost model) whose adjoint sums or scatter-adds
    every entry of its output's cotangent. ``omega``: the family's own constant of the reverse-mode cost bound
    where ω = 5 (:mod:`advalidate.cost`) does not hold for a correct rule — a factorisation whose VJP needs more
    than its forward computes (the eigenvalues' VJP needs the eigenvectors); its docstring or comment derives it;
    a program's bound uses the largest ω of its primitives (:func:`advalidate.check.program_omega`)."""

    name: str
    arity: int | None
    family: str
    shape: Callable[..., tuple]
    np: Callable[..., Any]
    mp: Callable[..., Any]
    params: dict = field(default_factory=dict)
    domain: Callable[..., Any] | None = None
    kink: Callable[..., Any] | None = None
    recurring_kinks: bool = False
    piecewise_constant: bool = False
    doc: str = ""
    vjp: Any = None
    jvp: Callable[..., Any] | None = None
    operands: tuple = ()
    props: Callable[..., Any] | None = None
    repeats: Callable[..., bool] | None = None
    constant: Callable[..., bool] | None = None
    special: Special = field(default_factory=Special)
    draw: Draw = field(default_factory=Draw)
    example: Callable[[tuple], tuple] | None = None
    rounding: Callable[..., Any] | None = None
    magnitude: Any = None
    kink_is_value_gap: bool = False
    free_fan_out: bool = False
    omega: float | None = None

    def check_params(self, params: dict) -> dict:
        """Return ``params`` completed with defaults; raise ShapeError naming an unknown or missing one."""
        unknown = set(params) - set(self.params)
        if unknown:
            raise ShapeError(f"unknown parameter(s) {sorted(unknown)}; {self.name} takes {sorted(self.params) or 'none'}")
        full = {}
        for key, default in self.params.items():
            if key in params:
                full[key] = params[key]
            elif default is REQUIRED:
                raise ShapeError(f"missing required parameter {key!r}")
            else:
                full[key] = default
        return full

    def operand(self, i: int):
        """The sampler spec of operand ``i`` (None: any nonzero value)."""
        if not self.operands:
            return None
        if self.arity is None:
            return self.operands[0]
        return self.operands[i] if i < len(self.operands) else None

    def result_props(self, args: list, params: dict, shapes: list) -> frozenset:
        """The properties of the result given the operands' (``props``; a structural op keeps what all its
        operands have; otherwise none)."""
        if self.props is not None:
            return frozenset(self.props(args, params, shapes))
        if self.family == "structural":
            return frozenset.intersection(*args) if args else frozenset()
        return frozenset()

    @property
    def rule(self) -> str:
        """The generator's rule for this primitive (:class:`Draw`)."""
        if self.draw.rule is not None:
            return self.draw.rule
        if self.family == "reduction":
            return "reduction"
        return "binary" if self.arity == 2 else "unary"

    def ranks(self, max_dims: int) -> tuple:
        return self.draw.ranks(max_dims) if self.draw.ranks is not None else (0, max_dims)

    def example_args(self, shape) -> tuple:
        """(operand shapes, params) of a one-node example fitting ``shape``."""
        if self.example is not None:
            shapes, params = self.example(tuple(shape))
            return [tuple(s) for s in shapes], dict(params)
        n = 2 if self.arity is None else self.arity
        return [tuple(shape)] * n, {}
