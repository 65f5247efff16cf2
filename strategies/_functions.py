"""``functions()``: random programs (DAGs of catalogue primitives) that shrink well.

A program is grown one *step* at a time; a step applies one primitive, or a *motif* (an MLP chain
``W3·act(W2·act(W1·x))``, a softmax written out, a cross-entropy, attention, a layer norm, a Gaussian
log-likelihood through a Cholesky factor, a least-squares solve: :data:`MOTIFS`). Each step picks its operands among the
values already built (most recent first, so chains are the shrink target; reusing a value gives fan-out)
or creates a fresh input of a compatible shape (broadcast variants give broadcasting). The loop is driven
by a "one more step?" draw, so the shrinker deletes whole steps; primitives are drawn from a list ordered
from simple to exotic, and shapes shrink to scalars and length-1 axes.

Every fact about a primitive comes from its registration (:mod:`advalidate.primitives`): its place from simple
to exotic, the rule that draws it, the ranks it takes (``Primitive.draw``). Domains are safe by construction:
an operand whose registration names a sampler (positive for ``log``, nonzero for ``div``'s divisor, small for
``tan``) takes a value known to have that property (``strategies._analysis``), or a structural view of inputs
which ``points`` then samples accordingly.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from advalidate import primitives as _catalogue
from advalidate.ir import DTYPES, Function, Node

from advalidate.primitives.operands import POS, sampler

from ._analysis import Analysis
from ._describe import Described, call_repr
from ._points import uniform_index

__all__ = ["functions", "simplicity", "SIMPLICITY", "MOTIFS"]

def simplicity() -> tuple:
    """Every registered primitive, simplest first (``Primitive.draw.simplicity``; the shrinker moves towards the
    front; registrations without a place come last, in registration order)."""
    cat = _catalogue.CATALOGUE
    return tuple(sorted(cat, key=lambda n: cat[n].draw.simplicity))


def __getattr__(name):
    if name == "SIMPLICITY":  # computed on each access: a primitive registered later is drawn too
        return simplicity()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


MOTIFS = ("mlp", "softmax", "cross_entropy", "logits", "attention", "layer_norm", "gaussian_loglik",
          "least_squares")
"""Compositions drawn as one step: an MLP chain, a written-out softmax, a cross-entropy, softmax or logsumexp
straight over a fresh input of logits (which regular points may shift: see ``_points``), and (issue 16) attention
``softmax(Q·Kᵀ/τ)·V``, a layer norm ``(x - mean(x))/sqrt(var(x) + eps)·γ + β``, a Gaussian log-likelihood through a
Cholesky factor ``‖L⁻¹(x - μ)‖² + 2·Σ log diag L`` and a least-squares solve ``(AᵀA)⁻¹·Aᵀb``. Each is a recipe of
catalogue primitives (the catalogue has no constants: a constant of the textbook formula is an input, or left out
where it changes no derivative but a scale; see each motif's rule)."""

# the primitives each motif composes (a motif is a recipe of named primitives; optional parts are added when
# their primitives are allowed too)
_MOTIF_NEEDS = {"mlp": {"matmul"}, "softmax": {"exp", "sum", "div"}, "cross_entropy": {"log_softmax", "index"},
                "logits": {"logsumexp", "softmax"},
                # ---- issue 16: motifs for realistic compositions
                "attention": {"matmul", "transpose", "softmax"},
                "layer_norm": {"mean", "sub", "var", "add", "sqrt", "div"},
                "gaussian_loglik": {"cholesky", "triangular_solve", "matmul", "add"},
                "least_squares": {"transpose", "matmul", "solve"}}
_MOTIF_DIMS = {"mlp": 2, "attention": 2, "gaussian_loglik": 2, "least_squares": 2}
"""The rank a motif needs (max_dims; 1 otherwise)."""

_DEFAULTS = dict(primitives=None, max_ops=6, max_inputs=4, max_dims=2, max_side=4, allow_empty=True,
                 dtype="float64", ties=False, motifs=True, focus=None)


def functions(*, primitives=None, max_ops: int = 6, max_inputs: int = 4, max_dims: int = 2, max_side: int = 4,
              allow_empty: bool = True, dtype: str = "float64", ties: bool = False, motifs: bool = True,
              focus: str | None = None):
    """A strategy for random :class:`~advalidate.ir.Function` programs.

    - ``primitives``: names to draw from (default: every registered primitive, :func:`simplicity` order, that the
      shape knobs allow);
    - ``max_ops``: at most this many nodes; ``max_inputs``: at most this many inputs;
    - ``max_dims``: largest rank of any value (0 gives scalars only); ``max_side``: largest length drawn for
      an axis (``concatenate`` may build axes up to 4 x longer, and inputs matched to those follow);
      ``allow_empty``: now and then an axis of length 0 where the primitive allows it;
    - ``dtype``: "float64" or "float32";
    - ``ties``: also build ties and constants by construction (``maximum(a, a)``, ``sub(a, a)``, a ``max`` over
      repeated entries): points on them are never regular, so only ``points(special=True)`` wants them;
    - ``motifs``: also draw multi-node compositions (:data:`MOTIFS`: MLP chains, softmax, cross-entropy, attention,
      layer norm, a Gaussian log-likelihood, a least-squares solve), each when its primitives are allowed;
    - ``focus``: a primitive of ``primitives`` that the program starts with, followed by at least one more node
      (a composition around it; ``max_ops`` >= 2). The shrinker can drop the focus (the program then grows as
      without it), so a finding that does not need it does not keep it. Campaigns use it to exercise every
      primitive inside compositions (:mod:`advalidate.coverage`).

    Bad knobs raise :class:`hypothesis.errors.InvalidArgument` naming the problem.
    """
    values = dict(primitives=primitives, max_ops=max_ops, max_inputs=max_inputs, max_dims=max_dims,
                  max_side=max_side, allow_empty=allow_empty, dtype=dtype, ties=ties, motifs=motifs, focus=focus)
    cfg = _validate(**values)
    if primitives is not None:
        values["primitives"] = list(primitives)
    return Described(_functions(cfg), call_repr("functions", _DEFAULTS, values))


@dataclass(frozen=True)
class _Config:
    prims: tuple
    max_ops: int
    max_inputs: int
    max_dims: int
    max_side: int
    allow_empty: bool
    dtype: str
    ties: bool
    motifs: tuple
    focus: str | None = None


def _int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < lo:
        raise InvalidArgument(f"{name}={value!r} must be at least {lo}")


def _rank_range(prim: str, max_dims: int) -> tuple[int, int]:
    return _catalogue.get(prim).ranks(max_dims)


def _validate(primitives, max_ops, max_inputs, max_dims, max_side, allow_empty, dtype, ties, motifs,
              focus=None) -> _Config:
    _int("max_ops", max_ops, 1)
    _int("max_inputs", max_inputs, 1)
    _int("max_dims", max_dims, 0)
    _int("max_side", max_side, 1)
    if max_dims > 6:
        raise InvalidArgument(f"max_dims={max_dims} is more than 6: values would grow past any useful size")
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype={dtype!r} must be one of {DTYPES}")
    for name, flag in (("allow_empty", allow_empty), ("ties", ties), ("motifs", motifs)):
        if not isinstance(flag, bool):
            raise InvalidArgument(f"{name}={flag!r} must be True or False")
    order_all = simplicity()
    if primitives is None:
        names = list(order_all)
    else:
        if isinstance(primitives, str):
            raise InvalidArgument(f"primitives={primitives!r} must be a collection of names, not one string "
                                  f"(did you mean [{primitives!r}]?)")
        names = list(primitives)
        if not names:
            raise InvalidArgument("primitives is empty: give at least one catalogue primitive")
        for n in names:
            if n not in _catalogue.CATALOGUE:
                try:
                    _catalogue.get(n)
                except KeyError as e:
                    raise InvalidArgument(f"primitives: {e.args[0]}") from None
    impossible = [n for n in names if _rank_range(n, max_dims)[0] > _rank_range(n, max_dims)[1]]
    if primitives is None:  # the default set keeps what the shape knobs allow
        names, impossible = [n for n in names if n not in impossible], []
    if impossible:
        needs = "; ".join(f"{n} needs rank {_needs_text(n)}" for n in impossible)
        raise InvalidArgument(f"impossible shapes: max_dims={max_dims} but {needs}")
    order = tuple(n for n in order_all if n in set(names))
    if max_inputs == 1 and not ties and all(_catalogue.get(n).draw.self_ties for n in order):
        raise InvalidArgument(f"primitives {list(order)} with max_inputs=1 can only read the one input twice, which "
                              "ties or cancels by construction: allow max_inputs >= 2, more primitives, or ties=True")
    chosen = tuple(m for m in MOTIFS if motifs and max_dims >= _MOTIF_DIMS.get(m, 1)
                   and _MOTIF_NEEDS[m] <= set(order))
    if focus is not None:
        if focus not in order:
            raise InvalidArgument(f"focus={focus!r} is not one of the primitives drawn from ({', '.join(order)})")
        if max_ops < 2:
            raise InvalidArgument(f"focus={focus!r} needs max_ops >= 2 (a composition around it), got {max_ops}")
    return _Config(order, max_ops, max_inputs, max_dims, max_side, allow_empty, dtype, ties, chosen, focus)


def _needs_text(prim):
    return _catalogue.get(prim).draw.rank_text


# ---------------------------------------------------------------------------------------------- the generator


class _NotApplicable(Exception):
    pass


class _Gen:
    """A program under construction, drawing every choice from Hypothesis."""

    def __init__(self, draw, cfg: _Config):
        self.draw, self.cfg = draw, cfg
        self.an = Analysis()
        self.nodes: list[Node] = []
        self.feed: str | None = None  # a value the next primary operand must be, when it can (the focus's output)

    # ---- bookkeeping
    @property
    def values(self) -> list[str]:
        """Every value, most recent first."""
        return [f"v{i}" for i in reversed(range(len(self.nodes)))] + [
            f"x{i}" for i in reversed(range(len(self.an.inputs)))]

    def shape(self, v):
        return self.an.shapes[v]

    def room_for_inputs(self, k=1) -> bool:
        return len(self.an.inputs) + k <= self.cfg.max_inputs

    def apply(self, prim: str, *args: str, lenient: bool = False, **params) -> str:
        """Add a node; its operands are made to have what its registration's samplers need. ``lenient``: an
        operand that cannot be given it (a computed value, not a view of inputs) is left as it is, as
        :func:`~strategies._analysis.analyse` does: the points then check that operand's domain on the float trace
        (a motif's Gram matrix ``AᵀA`` for ``solve``)."""
        node = Node.make(prim, *args, **params)
        p = _catalogue.get(prim)
        shape = p.shape([self.shape(a) for a in args], **p.check_params(node.kwargs))
        for arg, prop in self.an.requirements(node):
            if prop is not None and not (lenient and not self.an.can_get(arg, prop)):
                self.an.require(arg, prop)
        self.nodes.append(node)
        return self.an.add_node(node, shape)

    def fresh(self, shape, need=None) -> str:
        if not self.room_for_inputs():
            raise _NotApplicable("no room for another input")
        name = self.an.add_input(shape)
        if need is not None:
            self.an.require(name, need)
        return name

    # ---- draws
    def index(self, n: int) -> int:
        return self.draw(st.integers(0, n - 1)) if n > 1 else 0

    def choose(self, options: list):
        if not options:
            raise _NotApplicable("nothing to choose from")
        return options[self.index(len(options))]

    def side(self, empty_ok=True) -> int:
        if empty_ok and self.cfg.allow_empty and self.draw(st.integers(0, 24)) == 24:
            return 0
        return self.draw(st.integers(1, self.cfg.max_side))

    def new_shape(self, lo: int, hi: int, nonempty=False) -> tuple:
        rank = self.draw(st.integers(lo, hi))
        return tuple(self.side(not nonempty) for _ in range(rank))

    def operand(self, candidates: list[str], fresh_shape=None, need=None) -> str:
        """One of ``candidates`` or (last option) a fresh input of ``fresh_shape()``."""
        options = list(candidates) + (["<fresh>"] if fresh_shape is not None and self.room_for_inputs() else [])
        pick = self.choose(options)
        if pick == "<fresh>":
            return self.fresh(fresh_shape(), need)
        return pick

    def primary(self, prim: str, accept=lambda v: True, need=None, nonempty=False, hi=None, fresh=False) -> str:
        """The main operand: an existing value the primitive accepts (most recent first) or a fresh input
        (also offered, last, when ``fresh`` and there is room for one more input)."""
        lo, top = _rank_range(prim, self.cfg.max_dims)
        hi = top if hi is None else min(hi, top)
        ok = [v for v in self.values if lo <= len(self.shape(v)) <= top and accept(v)
              and (need is None or self.an.can_have(v, need))]
        if self.feed in ok:
            return self.feed
        if ok and fresh and self.room_for_inputs():
            ok.append("<fresh>")
        if ok:
            pick = self.choose(ok)
            if pick != "<fresh>":
                return pick
        return self.fresh(self.new_shape(lo, hi, nonempty), need)

    # ---- shapes
    def broadcast_variant(self, shape: tuple) -> tuple:
        """A shape that broadcasts with ``shape``: itself, a suffix, some axes set to 1, or one more axis."""
        kinds = ["same"]
        if shape:
            kinds += ["suffix", "ones"]
        if len(shape) < self.cfg.max_dims:
            kinds.append("prepend")
        kind = self.choose(kinds)
        if kind == "same":
            return shape
        if kind == "suffix":
            return shape[self.draw(st.integers(1, len(shape))):]
        if kind == "ones":
            mask = [self.draw(st.booleans()) for _ in shape]
            if not any(mask):
                mask[-1] = True
            return tuple(1 if m else d for m, d in zip(mask, shape))
        return (self.draw(st.integers(1, self.cfg.max_side)),) + shape

    def broadcasts_with(self, a: tuple, b: tuple) -> bool:
        try:
            return len(np.broadcast_shapes(a, b)) <= self.cfg.max_dims
        except ValueError:
            return False

    # ---- steps
    def step(self, remaining: int) -> None:
        cfg = self.cfg
        motifs = [m for m in cfg.motifs if _MOTIF_MIN[m] <= remaining]
        if motifs and self.draw(st.integers(0, 9)) >= 7:  # 30% of steps
            if self.attempt(_MOTIF_RULES[self.choose(motifs)], remaining):
                return
        # uniform over the catalogue (st.integers favours small indices: with 115 primitives the last ones were
        # never drawn in 2,000 examples); it shrinks towards the simplest primitive as before
        start = uniform_index(self.draw, len(cfg.prims))
        for k in range(len(cfg.prims)):
            prim = cfg.prims[(start + k) % len(cfg.prims)]
            if self.attempt(_rule(prim), prim):
                return
        raise _NotApplicable("no primitive applies")

    def attempt(self, rule, arg) -> bool:
        """Apply ``rule``; if it turns out not to apply, undo what it added (fresh inputs, nodes)."""
        saved = copy.deepcopy(self.an), list(self.nodes)
        try:
            rule(self, arg)
            return True
        except _NotApplicable:
            self.an, self.nodes = saved
            return False


# ---------------------------------------------------------------------------------------------- primitive rules


def _need(prim, i, props=None):
    """The property operand ``i`` of ``prim`` needs (its registration's sampler), given known operands' ``props``."""
    s = sampler(_catalogue.get(prim).operand(i), props)
    return None if s is None else s.flag


def _unary(g: _Gen, prim):
    kinked = _catalogue.get(prim).kink is not None  # a constant operand would sit on the kink
    accept = (lambda v: g.cfg.ties or not g.an.const[v]) if kinked else (lambda v: True)
    return g.apply(prim, g.primary(prim, accept=accept, need=_need(prim, 0)), **_params(g, prim))


def _params(g: _Gen, prim) -> dict:
    """The node's parameters drawn by its registration (``Draw.params``), or none (the defaults)."""
    draw_params = _catalogue.get(prim).draw.params
    return {k: g.draw(st.sampled_from(choices)) for k, choices in draw_params.items()} if draw_params else {}


def _binary(g: _Gen, prim):
    need_a = _need(prim, 0)
    a = g.primary(prim, need=need_a)
    sa = g.shape(a)
    if need_a:
        g.an.require(a, need_a)
    need_b = _need(prim, 1, [g.an.props[a]])
    self_ties = _catalogue.get(prim).draw.self_ties
    cands = [v for v in g.values if g.broadcasts_with(sa, g.shape(v))
             and (need_b is None or g.an.can_have(v, need_b))
             and not (self_ties and not g.cfg.ties and _same(g, a, v))]
    cands.sort(key=lambda v: v != a)  # a itself first: fan-out is the simplest second operand
    b = g.operand(cands, lambda: g.broadcast_variant(sa), need_b)
    return g.apply(prim, a, b, **_params(g, prim))


def _same(g: _Gen, a, b) -> bool:
    """``a`` and ``b`` may hold equal numbers by construction."""
    return a == b or g.an.same_view(a, b) or (g.an.const[a] and g.an.const[b])


def _where(g: _Gen, prim):
    x = g.primary(prim)
    sx = g.shape(x)
    cands = lambda: sorted((v for v in g.values if g.broadcasts_with(sx, g.shape(v))), key=lambda v: v != x)
    p = g.operand([v for v in cands() if g.cfg.ties or not g.an.const[v]], lambda: g.broadcast_variant(sx))
    sxp = tuple(np.broadcast_shapes(sx, g.shape(p)))
    y = g.operand([v for v in cands() if g.broadcasts_with(sxp, g.shape(v))], lambda: g.broadcast_variant(sxp))
    return g.apply(prim, p, x, y)


def _axis_options(shape, nonempty) -> list:
    opts = [None] if (not nonempty or math.prod(shape) > 0) else []
    return opts + [i for i, d in enumerate(shape) if not nonempty or d > 0]


def _reduction(g: _Gen, prim):
    p = _catalogue.get(prim)
    nonempty, ties = p.draw.nonempty, p.draw.repeats_tie
    accept = lambda v: bool(_axis_options(g.shape(v), nonempty)) and (
        not ties or g.cfg.ties or not g.an.dup[v])
    # logits straight from an input let points shift them (see strategies._points._shift_logits)
    x = g.primary(prim, accept=accept, nonempty=nonempty, fresh=p.special.shiftable)
    axes = _axis_options(g.shape(x), nonempty)
    if ties and not g.cfg.ties and g.an.dup[x]:
        raise _NotApplicable(f"{prim} over repeated entries ties")
    return g.apply(prim, x, axis=g.choose(axes))


def _along_axis(g: _Gen, prim):
    x = g.primary(prim, accept=lambda v: any(d > 0 for d in g.shape(v)), nonempty=True, fresh=_catalogue.get(prim).special.shiftable)
    axes = [i for i, d in enumerate(g.shape(x)) if d > 0]
    axis = g.choose([-1] + axes if g.shape(x)[-1] > 0 else axes)
    return g.apply(prim, x, axis=axis)


def _matmul(g: _Gen, prim):
    # the last input allowed as a fresh primary is a vector, so that matmul(a, a) can always be formed
    a = g.primary(prim, hi=1 if g.cfg.max_inputs - len(g.an.inputs) == 1 else None)
    sa = g.shape(a)
    n = sa[-1] if not g.draw(st.booleans()) else None  # a on the left (contract its last axis) or on the right
    if n is None:
        n = sa[0]
        cands = [v for v in g.values if 1 <= len(g.shape(v)) <= 2 and g.shape(v)[-1] == n]
        fresh = lambda: (n,) if g.cfg.max_dims < 2 or g.draw(st.booleans()) else (g.side(), n)
        b = g.operand(cands, fresh)
        return g.apply(prim, b, a)
    cands = [v for v in g.values if 1 <= len(g.shape(v)) <= 2 and g.shape(v)[0] == n]
    cands.sort(key=lambda v: v != a)
    fresh = lambda: (n,) if g.cfg.max_dims < 2 or g.draw(st.booleans()) else (n, g.side())
    b = g.operand(cands, fresh)
    return g.apply(prim, a, b)


def _transpose(g: _Gen, prim):
    x = g.primary(prim)
    r = len(g.shape(x))
    if r < 2 or not g.draw(st.booleans()):
        return g.apply(prim, x)
    return g.apply(prim, x, axes=list(g.draw(st.permutations(range(r)))))


def _reshape_targets(shape, max_dims) -> list[tuple]:
    size = math.prod(shape)
    targets = [(size,)]
    if size == 1:
        targets.insert(0, ())
    for a in range(1, size + 1):
        if size % a == 0:
            targets.append((a, size // a))
    if size == 0:
        targets += [(0, 1), (1, 0)]
    return [t for t in dict.fromkeys(targets) if len(t) <= max_dims and t != tuple(shape)] or [tuple(shape)]


def _reshape(g: _Gen, prim):
    x = g.primary(prim)
    return g.apply(prim, x, shape=list(g.choose(_reshape_targets(g.shape(x), g.cfg.max_dims))))


def _broadcast_to(g: _Gen, prim):
    x = g.primary(prim)
    s = g.shape(x)
    kinds = (["widen"] if 1 in s else []) + (["prepend"] if len(s) < g.cfg.max_dims else [])
    if not kinds:
        return g.apply(prim, x, shape=list(s))
    kind = g.choose(kinds)
    m = g.draw(st.integers(1, g.cfg.max_side))  # the new length (1: no growth, the shrink target)
    target = tuple(m if d == 1 else d for d in s) if kind == "widen" else (m,) + s
    return g.apply(prim, x, shape=list(target))


def _index(g: _Gen, prim):
    x = g.primary(prim)
    s = g.shape(x)
    key = []
    for d in s[: g.draw(st.integers(1, len(s)))]:
        if d > 0 and not g.draw(st.booleans()):
            key.append(g.draw(st.integers(0, d - 1)))
        else:
            start = g.draw(st.integers(0, max(d - 1, 0)))
            step = g.draw(st.sampled_from([1, 2, -1, -2]))  # issue 16: negative steps too (shrinking to 1)
            if step > 0:
                stop = g.draw(st.integers(min(start + 1, d), d))
            else:  # down from start to stop (exclusive; None: through index 0)
                stop = g.draw(st.integers(-1, start - 1)) if start > 0 else -1
                stop = None if stop < 0 else stop
            key.append([start, stop, step])
    return g.apply(prim, x, key=key)


def _concatenate(g: _Gen, prim):
    x = g.primary(prim)
    s = g.shape(x)
    axis = g.draw(st.integers(0, len(s) - 1))
    args = [x]
    for _ in range(g.draw(st.integers(0, 2))):
        off = lambda v: len(g.shape(v)) == len(s) and all(
            a == b for i, (a, b) in enumerate(zip(g.shape(v), s)) if i != axis)
        cands = sorted((v for v in g.values if off(v) and (g.cfg.ties or v not in args)), key=lambda v: v != x)
        if not cands and not g.room_for_inputs():
            break
        args.append(g.operand(cands, lambda: s[:axis] + (g.side(),) + s[axis + 1:]))
    if sum(g.shape(a)[axis] for a in args) > 4 * g.cfg.max_side:
        raise _NotApplicable("concatenate: too long")
    return g.apply(prim, *args, axis=axis)


def _stack(g: _Gen, prim):
    x = g.primary(prim)
    s = g.shape(x)
    args = [x]
    for _ in range(g.draw(st.integers(0, 2))):
        cands = [v for v in g.values if g.shape(v) == s and (g.cfg.ties or v not in args)]
        if not cands and not g.room_for_inputs():
            break
        args.append(g.operand(cands, lambda: s))
    return g.apply(prim, *args, axis=g.draw(st.integers(0, len(s))))


_RULES = {"unary": _unary, "binary": _binary, "reduction": _reduction, "where": _where, "matmul": _matmul,
          "transpose": _transpose, "reshape": _reshape, "broadcast_to": _broadcast_to, "index": _index,
          "concatenate": _concatenate, "stack": _stack, "along_axis": _along_axis}
"""The generator's rules by kind (``Primitive.draw.rule``)."""


# ---- issue 16: structural linear algebra


def _matrix(g: _Gen, prim):
    """A matrix (rank 2, or more where the primitive takes a stack of them) and, for a primitive with an ``offset``
    or ``k`` parameter, a diagonal that meets it (a nonempty diagonal, some entries kept)."""
    x = g.primary(prim)
    params = {}
    for key in ("offset", "k"):
        if key in _catalogue.get(prim).params:
            m, n = g.shape(x)[-2:]
            params[key] = g.draw(st.integers(-(m - 1), n - 1)) if m and n else 0
    return g.apply(prim, x, **params)


def _pair(g: _Gen, prim):
    """Two operands of the same rank (``outer``, ``kron``): the first one again first (fan-out), then any of that rank
    whose product stays at most 4·max_side² elements (and (4·max_side)^max_dims), or a fresh one small enough for it; with no room for an input,
    any of that rank within the bound every value keeps, (4·max_side)^max_dims elements."""
    a = g.primary(prim)
    r = len(g.shape(a))
    size_a = max(math.prod(g.shape(a)), 1)
    cap = min(4 * g.cfg.max_side ** 2, (4 * g.cfg.max_side) ** g.cfg.max_dims)  # the second: a kron of vectors
    same_rank = sorted((v for v in g.values if len(g.shape(v)) == r), key=lambda v: v != a)
    cands = [v for v in same_rank if size_a * math.prod(g.shape(v)) <= cap]
    if not cands and not g.room_for_inputs():
        cands = [v for v in same_rank if size_a * math.prod(g.shape(v)) <= (4 * g.cfg.max_side) ** g.cfg.max_dims]
    side = max(1, int((cap / size_a) ** (1 / max(r, 1)))) if size_a <= cap else 1
    b = g.operand(cands, lambda: tuple(g.draw(st.integers(1, min(side, g.cfg.max_side))) for _ in range(r)))
    return g.apply(prim, a, b)


def _tensordot(g: _Gen, prim):
    """``a`` and ``b`` contracted over c = 0, 1 or 2 axes: a's last c with b's first c (an int ``axes``), or chosen
    axes of a (in a drawn order) with b's first c (a pair of lists); b an existing value whose first c lengths match
    (the first choice of axes that has one, or room for a fresh b)."""
    import itertools

    a = g.primary(prim)
    sa = g.shape(a)
    # the numbers of contracted axes that leave room for b's free axes (b has at least one axis)
    fits = [c for c in range(min(2, len(sa)) + 1) if len(sa) - 2 * c + max(c, 1) <= g.cfg.max_dims]
    options = [(c, list(ca)) for c in fits for ca in itertools.permutations(range(len(sa)), c)]
    if not options:
        raise _NotApplicable("tensordot: no contraction fits max_dims")
    first = g.index(len(options))
    for k in range(len(options)):
        c, ca = options[(first + k) % len(options)]
        head = tuple(sa[i] for i in ca)
        cands = sorted((v for v in g.values if tuple(g.shape(v)[:c]) == head and len(g.shape(v)) >= 1
                        and len(sa) - c + len(g.shape(v)) - c <= g.cfg.max_dims), key=lambda v: v != a)
        room = g.cfg.max_dims - (len(sa) - c)
        if cands or (g.room_for_inputs() and room >= int(c == 0)):
            break
    else:
        raise _NotApplicable("tensordot: no operand fits a contraction")
    axes = c if ca == list(range(len(sa) - c, len(sa))) and g.draw(st.booleans()) else [ca, list(range(c))]
    b = g.operand(cands, lambda: head + tuple(g.side() for _ in range(g.draw(st.integers(int(c == 0), room)))))
    return g.apply(prim, a, b, axes=axes)


def _einsum(g: _Gen, prim):
    """One of the registration's contraction patterns (``EINSUM_SPECS``) whose operands and result fit ``max_dims``,
    from a drawn one on (the next when its operands cannot be found)."""
    from advalidate.primitives.linalg_structure import EINSUM_SPECS

    specs = [s for s in EINSUM_SPECS if max(len(t) for t in s.replace("->", ",").split(",")) <= g.cfg.max_dims]
    if not specs:
        raise _NotApplicable("einsum: no pattern fits max_dims")
    first = g.index(len(specs))
    for k in range(len(specs)):
        if g.attempt(lambda g, spec: _einsum_with(g, prim, spec), specs[(first + k) % len(specs)]):
            return g.values[0]
    raise _NotApplicable("einsum: no pattern's operands can be found")


def _einsum_with(g: _Gen, prim, spec):
    """``spec``'s operands: each an existing value of matching lengths (those already chosen first) or a fresh
    input."""
    from advalidate.primitives.linalg_structure import parse_spec

    ins, _ = parse_spec(spec)
    sizes: dict = {}
    args = []
    for subs in ins:
        def fits(v, subs=subs):
            shape = g.shape(v)
            if len(shape) != len(subs):
                return False
            seen = dict(sizes)
            return all(seen.setdefault(letter, d) == d for letter, d in zip(subs, shape))
        cands = sorted((v for v in g.values if fits(v)), key=lambda v: v not in args)

        def fresh(subs=subs):
            for letter in subs:
                if letter not in sizes:
                    sizes[letter] = g.side()
            return tuple(sizes[letter] for letter in subs)
        x = g.operand(cands, fresh)
        for letter, d in zip(subs, g.shape(x)):
            sizes.setdefault(letter, d)
        args.append(x)
    return g.apply(prim, *args, spec=spec)


_RULES.update(matrix=_matrix, pair=_pair, tensordot=_tensordot, einsum=_einsum)


# ---- issue 16: linear algebra factorisations and solves


def _square(g: _Gen, prim):
    """A square-matrix operand (n <= 4: the oracle's mpmath factorisations cost O(n³) per evaluation): an input
    that its registration's sampler draws (``Sampler.matrix``: well-conditioned, symmetric positive definite, a
    gapped spectrum), either one already drawn so (fan-out) or a fresh one. Not a computed value: a sampler
    shapes an input only, and a composition such as ``A·Aᵀ + c·I`` would need a constant the catalogue lacks and
    gives no control of the conditioning or of the eigenvalue gaps. A second operand (``solve``'s right-hand
    side) is any value of shape (n,) or (n, k), or a fresh input."""
    need = _need(prim, 0)
    top = min(g.cfg.max_side, 4)
    ok = [v for v in (f"x{i}" for i in reversed(range(len(g.an.inputs))))
          if len(g.shape(v)) == 2 and g.shape(v)[0] == g.shape(v)[1] and 1 <= g.shape(v)[0] <= top
          and g.an.needs[v] <= {need}]
    a = g.operand(ok, lambda: (lambda n: (n, n))(g.draw(st.integers(1, top))), need)
    g.an.require(a, need)
    if _catalogue.get(prim).arity == 1:
        return g.apply(prim, a)
    n = g.shape(a)[0]
    cands = [v for v in g.values if v != a and 1 <= len(g.shape(v)) <= 2 and g.shape(v)[0] == n
             and math.prod(g.shape(v)) > 0]
    if not cands and not g.room_for_inputs():
        cands = [a]  # solve(A, A) = I: constant (its registration says so), the only program one input allows
    b = g.operand(cands, lambda: (n,) if g.draw(st.booleans()) else (n, g.draw(st.integers(1, g.cfg.max_side))))
    params = {"lower": g.draw(st.booleans())} if "lower" in _catalogue.get(prim).params else {}
    return g.apply(prim, a, b, **params)


_RULES["square"] = _square


def _rule(prim):
    return _RULES[_catalogue.get(prim).rule]


# ---------------------------------------------------------------------------------------------- motifs


def _mlp(g: _Gen, remaining: int):
    """``W_L·act(...act(W_1·x))`` for a vector x (or ``X·W_1·...`` for a batch X): N -> H -> ... -> N."""
    acts = sorted((a for a in g.cfg.prims if _catalogue.get(a).draw.activation is not None),
                  key=lambda a: _catalogue.get(a).draw.activation)
    cands = [v for v in g.values if 1 <= len(g.shape(v)) <= 2 and g.shape(v)[-1] > 0]
    spare = g.cfg.max_inputs - len(g.an.inputs) - (0 if cands else 1)
    depth_max = min(3, spare, (remaining + 1) // 2 if acts else remaining)
    if depth_max < 2:
        raise _NotApplicable("mlp: no room")
    x = g.choose(cands) if cands else g.fresh((g.side(False),))
    depth = g.draw(st.integers(2, depth_max))
    nodes_before = len(g.nodes)
    h = g.draw(st.integers(1, g.cfg.max_side))
    # a relu layer of width < 3 is all zeros often enough (then the next relu sits on its kink) to reject points:
    # a kinked activation needs width 3 at least
    act = g.choose([None] + [a for a in acts if _catalogue.get(a).kink is None or h >= 3])
    batch = len(g.shape(x)) == 2
    n = g.shape(x)[-1]
    for i in range(depth):
        # every node of the chain is kept or dropped by its own draw (dropping is the shrink target), so a
        # failure caused by one activation shrinks out of the motif down to that activation alone
        if g.draw(_KEEP):
            m = g.shape(x)[-1] if batch else g.shape(x)[0]
            out = n if i == depth - 1 else h
            w = g.fresh((m, out) if batch else (out, m))
            x = g.apply("matmul", x, w) if batch else g.apply("matmul", w, x)
        if act and i < depth - 1 and g.draw(_KEEP):
            x = g.apply(act, x)
    if len(g.nodes) == nodes_before:
        raise _NotApplicable("mlp: every node dropped")
    return x


_KEEP = st.integers(0, 9).map(bool)


def _keep(shape, axis):
    return [1 if i == axis else d for i, d in enumerate(shape)]


def _softmax(g: _Gen, remaining: int):
    """``e / sum(e)`` with ``e = exp(x)`` or, stably, ``exp(x - max(x))``; over all entries or the last axis."""
    stable_ok = {"max", "sub"} <= set(g.cfg.prims)
    per_row_ok = "reshape" in g.cfg.prims
    cands = [v for v in g.values if len(g.shape(v)) >= 1 and math.prod(g.shape(v)) > 0 and not g.an.dup[v]]
    if not cands and not g.room_for_inputs():
        raise _NotApplicable("softmax: no operand")
    x = g.choose(cands) if cands else g.fresh((g.side(False),))
    s = g.shape(x)
    axis = None
    if per_row_ok and len(s) >= 2 and g.draw(st.booleans()):
        axis = len(s) - 1
    stable = stable_ok and g.draw(st.booleans())
    cost = 3 + (axis is not None) + stable * (2 + (axis is not None))
    if cost > remaining:
        raise _NotApplicable("softmax: no room")
    z = x
    if stable:
        m = g.apply("max", x, axis=axis)
        if axis is not None:
            m = g.apply("reshape", m, shape=_keep(s, axis))
        z = g.apply("sub", x, m)
    e = g.apply("exp", z)
    t = g.apply("sum", e, axis=axis)
    if axis is not None:
        t = g.apply("reshape", t, shape=_keep(s, axis))
    return g.apply("div", e, t)


def _cross_entropy(g: _Gen, remaining: int):
    """``-log_softmax(logits)[label]`` for a vector or one row of a batch of logits."""
    cands = [v for v in g.values if 1 <= len(g.shape(v)) <= 2 and all(d > 0 for d in g.shape(v))]
    x = g.choose(cands) if cands else g.fresh((g.side(False),))
    s = g.shape(x)
    lp = g.apply("log_softmax", x, axis=-1)
    key = [g.draw(st.integers(0, d - 1)) for d in s]
    picked = g.apply("index", lp, key=key)
    if "neg" in g.cfg.prims and remaining >= 3:
        picked = g.apply("neg", picked)
    return picked


def _logits(g: _Gen, remaining: int):
    """softmax or logsumexp straight over a fresh input: a stable implementation does not notice when the
    points shift such logits far up, one that forgets to subtract the max overflows."""
    if not g.room_for_inputs():
        raise _NotApplicable("logits: no room for an input")
    prim = g.choose(["logsumexp", "softmax"])
    x = g.fresh(g.new_shape(1, min(2, g.cfg.max_dims), True))
    axis = -1 if prim == "softmax" else g.choose([len(g.shape(x)) - 1, None])
    return g.apply(prim, x, axis=axis)


# ---- issue 16: motifs for realistic compositions


def _matrices(g: _Gen, fits=lambda shape: True) -> list:
    """Existing nonempty matrices (rank 2) whose shape ``fits``."""
    return [v for v in g.values if len(g.shape(v)) == 2 and all(d > 0 for d in g.shape(v)) and fits(g.shape(v))]


def _attention(g: _Gen, remaining: int):
    """``softmax(Q·Kᵀ/τ, axis=-1)·V``: Q (n, d), K (m, d), V (m, e), each an existing matrix of fitting shape (Q itself
    first for K: self-attention) or a fresh input. The scale 1/√d is a division by τ, a fresh scalar input (the
    catalogue has no constants; as an input its cotangent is checked too), when ``div`` is allowed and there is room,
    kept or dropped by its own draw (dropping is the shrink target: a failure that does not need it loses it)."""
    q = g.operand(_matrices(g), lambda: (g.side(False), g.side(False)))
    d = g.shape(q)[1]
    k = g.operand(sorted(_matrices(g, lambda s: s[1] == d), key=lambda v: v != q), lambda: (g.side(False), d))
    m = g.shape(k)[0]
    v = g.operand(_matrices(g, lambda s: s[0] == m), lambda: (m, g.side(False)))
    scaled = ("div" in g.cfg.prims and remaining >= 5 and g.room_for_inputs() and g.draw(_KEEP))
    s = g.apply("matmul", q, g.apply("transpose", k))
    if scaled:
        s = g.apply("div", s, g.fresh(()))
    return g.apply("matmul", g.apply("softmax", s, axis=-1), v)


def _layer_norm(g: _Gen, remaining: int):
    """``(x - mean(x)) / sqrt(var(x) + eps)`` over x's last axis (length >= 2), then ``·γ`` and ``+ β`` (each kept by its
    own draw when ``mul`` / ``add`` allow and there is room; existing values of x's last length or fresh inputs). For
    a batch of rows (rank 2) the mean and the variance are reshaped to keep the reduced axis (``keepdims``, when
    ``reshape`` is allowed and there is room). ``eps`` is a scalar input drawn positive (the catalogue has no
    constants; drawn >= 0.25 rather than 1e-5): ``var + eps`` is positive by construction (``var`` is ``NONNEG``),
    so the sqrt and the division are safe whatever x is, a constant row included."""
    reshape_ok = "reshape" in g.cfg.prims and remaining >= 8
    before = set(g.values)  # γ and β are parameters: not a value the motif computes

    def fits(v):
        s = g.shape(v)
        return 1 <= len(s) <= (2 if reshape_ok else 1) and s[-1] >= 2 and all(d > 0 for d in s)
    if g.cfg.max_side < 2 and not any(fits(v) for v in g.values):
        raise _NotApplicable("layer_norm: no axis of length >= 2")
    x = g.operand([v for v in g.values if fits(v)], lambda: (g.draw(st.integers(2, max(2, g.cfg.max_side))),))
    # eps is made positive by the sqrt's need, pulled back through the add (``Analysis.pull_back``)
    eps = g.operand([v for v in g.values if g.shape(v) == () and g.an.can_have(v, POS)], lambda: ())
    s = g.shape(x)
    axis = len(s) - 1

    def keepdims(r):
        return g.apply("reshape", r, shape=_keep(s, axis)) if len(s) == 2 else r
    centred = g.apply("sub", x, keepdims(g.apply("mean", x, axis=axis)))
    spread = g.apply("sqrt", g.apply("add", keepdims(g.apply("var", x, axis=axis, ddof=0)), eps))
    y = g.apply("div", centred, spread)
    for prim in ("mul", "add"):  # γ, then β
        if prim in g.cfg.prims and len(g.nodes) < g.cfg.max_ops and g.draw(_KEEP):
            cands = [v for v in g.values if g.shape(v) == (s[-1],) and v in before and v != x]
            if cands or g.room_for_inputs():
                y = g.apply(prim, y, g.operand(cands, lambda: (s[-1],)))
    return y


def _gaussian_loglik(g: _Gen, remaining: int):
    """The Gaussian log-likelihood of x ~ N(μ, Σ) through the Cholesky factor L = cholesky(Σ), as the deviance
    ``‖L⁻¹(x - μ)‖² + 2·Σ log diag L`` = -2·loglik - n·log 2π (the catalogue has no constants: the factor -1/2 and the
    constant term change no derivative but a scale). Σ (n×n, n <= 4: the oracle's factorisations are O(n³) in
    mpmath) is a fresh input drawn symmetric positive definite by cholesky's sampler, or an input already drawn so;
    x and μ are existing vectors of length n or fresh inputs (μ kept by its own draw when ``sub`` allows and there
    is room; without it x is the residual). ``L⁻¹(x - μ)`` is a ``triangular_solve`` (L well-conditioned: κ(L) =
    √κ(Σ)); ``‖z‖²`` is ``matmul(z, z)``; ``Σ log diag L`` is ``sum(log(diagonal(L)))`` (L's diagonal is positive:
    ``POS_DIAGONAL``) or ``slogdet(L)`` (drawn among those allowed that fit), its doubling ``h + h``."""
    need = _need("cholesky", 0)
    top = min(g.cfg.max_side, 4)
    ok = [v for v in (f"x{i}" for i in reversed(range(len(g.an.inputs))))
          if len(g.shape(v)) == 2 and g.shape(v)[0] == g.shape(v)[1] and 1 <= g.shape(v)[0] <= top
          and g.an.needs[v] <= {need}]
    cov = g.operand(ok, lambda: (lambda n: (n, n))(g.draw(st.integers(1, top))), need)
    g.an.require(cov, need)
    n = g.shape(cov)[0]
    x = g.operand([v for v in g.values if g.shape(v) == (n,)], lambda: (n,))
    # the log-determinant's forms that fit (slogdet first: one node, the shrink target)
    forms = ([False] if "slogdet" in g.cfg.prims and remaining >= 6 else []) + (
        [True] if {"diagonal", "log", "sum"} <= set(g.cfg.prims) and remaining >= 8 else [])
    if not forms:
        raise _NotApplicable("gaussian_loglik: no log-determinant fits")
    diag_ok = g.choose(forms)
    base = 6 + 2 * diag_ok
    if "sub" in g.cfg.prims and base < remaining and g.draw(_KEEP):
        cands = [v for v in g.values if g.shape(v) == (n,) and not _same(g, x, v)]
        if cands or g.room_for_inputs():
            x = g.apply("sub", x, g.operand(cands, lambda: (n,)))
    chol = g.apply("cholesky", cov)
    z = g.apply("triangular_solve", chol, x, lower=True)
    quad = g.apply("matmul", z, z)
    h = (g.apply("sum", g.apply("log", g.apply("diagonal", chol)), axis=None) if diag_ok
         else g.apply("slogdet", chol))
    return g.apply("add", quad, g.apply("add", h, h))


def _least_squares(g: _Gen, remaining: int):
    """The least-squares solution ``x = (AᵀA)⁻¹·Aᵀb`` by the normal equations: ``solve(AᵀA, Aᵀb)``, or (when
    ``cholesky`` and ``triangular_solve`` are allowed, there is room and a draw says so) through the Cholesky factor
    L of AᵀA: ``L⁻ᵀ·(L⁻¹·Aᵀb)``. A (m×n, n <= m <= 4) is an input (existing or fresh: its columns independent almost
    surely, entries bounded away from 0); b is an existing value of shape (m,) or (m, k) other than A, or a fresh one.
    AᵀA is a computed value no sampler can shape: its operands are applied leniently, and the points refuse an
    ill-conditioned AᵀA (solve's and cholesky's domains on the float trace; rare for such A)."""
    top = min(g.cfg.max_side, 4)
    ok = [v for v in (f"x{i}" for i in reversed(range(len(g.an.inputs))))
          if len(g.shape(v)) == 2 and 1 <= g.shape(v)[1] <= g.shape(v)[0] <= top and not g.an.needs[v]]

    def fresh():
        n = g.draw(st.integers(1, top))
        return (g.draw(st.integers(n, top)), n)
    a = g.operand(ok, fresh)
    m = g.shape(a)[0]
    cands = [v for v in g.values if 1 <= len(g.shape(v)) <= 2 and g.shape(v)[0] == m and math.prod(g.shape(v)) > 0
             and not _same(g, a, v)]
    b = g.operand(cands, lambda: (m,) if g.draw(st.booleans()) else (m, g.draw(st.integers(1, g.cfg.max_side))))
    at = g.apply("transpose", a)
    gram, rhs = g.apply("matmul", at, a), g.apply("matmul", at, b)
    if {"cholesky", "triangular_solve"} <= set(g.cfg.prims) and remaining >= 7 and g.draw(st.booleans()):
        chol = g.apply("cholesky", gram, lenient=True)
        y = g.apply("triangular_solve", chol, rhs, lower=True, lenient=True)
        return g.apply("triangular_solve", g.apply("transpose", chol), y, lower=False, lenient=True)
    return g.apply("solve", gram, rhs, lenient=True)


_MOTIF_RULES = {"mlp": _mlp, "softmax": _softmax, "cross_entropy": _cross_entropy, "logits": _logits,
                "attention": _attention, "layer_norm": _layer_norm, "gaussian_loglik": _gaussian_loglik,
                "least_squares": _least_squares}
_MOTIF_MIN = {"mlp": 2, "softmax": 3, "cross_entropy": 2, "logits": 1,
              "attention": 4, "layer_norm": 6, "gaussian_loglik": 6, "least_squares": 4}


# ---------------------------------------------------------------------------------------------- the strategy


def _reaches(nodes, value: str, target: str) -> bool:
    """``target`` is ``value`` or computed from it."""
    live = {value}
    for i, node in enumerate(nodes):
        if live & set(node.args):
            live.add(f"v{i}")
    return target in live


@st.composite
def _functions(draw, cfg: _Config) -> Function:
    return _build(draw, cfg)[1]


def _build(draw, cfg: _Config) -> tuple[_Gen, Function]:
    """The generator's state (its analysis of the values) and the program it built."""
    g = _Gen(draw, cfg)
    more = st.integers(0, cfg.max_ops).map(lambda k: k >= 2)  # shrinks to "stop"
    # the focus is applied unless the shrinker drops it (0, the shrink target, is "no focus"; 15 in 16 draws keep it)
    focused = cfg.focus is not None and draw(st.integers(0, 15)) > 0
    if focused:
        if not g.attempt(_rule(cfg.focus), cfg.focus):
            raise InvalidArgument(f"focus={cfg.focus!r} does not apply under these knobs")
        g.feed = "v0"
    while True:  # at least one step: after a focus, the program is a composition
        try:
            g.step(cfg.max_ops - len(g.nodes))
        except _NotApplicable:
            if not g.nodes:
                raise InvalidArgument(f"no primitive of {list(cfg.prims)} applies under these knobs") from None
            break
        g.feed = None
        if len(g.nodes) >= cfg.max_ops or not draw(more):
            break
    last = f"v{len(g.nodes) - 1}"
    outputs = [last]
    # mostly every value nothing else reads is an output too (no dead code); the shrink target is one output
    # (not when the focus would be dead code: it stays live)
    if len(g.nodes) > 1 and (draw(st.integers(0, 3)) > 0 or focused and not _reaches(g.nodes, "v0", last)):
        used = {a for n in g.nodes for a in n.args}
        outputs = [v for v in g.values[::-1] if v.startswith("v") and v not in used and v != last] + [last]
    return g, Function(tuple(g.an.inputs), tuple(g.nodes), tuple(outputs), cfg.dtype)


# ---- issue 16: scans, sorting, indexing, statistics


def _untied(g: _Gen, prim):
    """Operands a primitive whose repeated entries tie may read (``Draw.repeats_tie``): not repeated or constant
    by construction unless ties are asked for."""
    ties = _catalogue.get(prim).draw.repeats_tie and not g.cfg.ties
    return lambda v: not ties or not (g.an.dup[v] or g.an.const[v])


def _scan(g: _Gen, prim):
    """Along one axis (as ``along_axis``), refusing operands that tie by construction where ties are kinks."""
    ok = _untied(g, prim)
    x = g.primary(prim, accept=lambda v: any(d > 0 for d in g.shape(v)) and ok(v), nonempty=True,
                  fresh=_catalogue.get(prim).special.shiftable)
    if not ok(x):
        raise _NotApplicable(f"{prim} over repeated entries ties")
    axes = [i for i, d in enumerate(g.shape(x)) if d > 0]
    axis = g.choose([-1] + axes if g.shape(x)[-1] > 0 else axes)
    return g.apply(prim, x, axis=axis)


def _top_k(g: _Gen, prim):
    ok = _untied(g, prim)
    x = g.primary(prim, accept=lambda v: len(g.shape(v)) >= 1 and g.shape(v)[-1] > 0 and ok(v), nonempty=True)
    if not ok(x) or g.shape(x)[-1] == 0:
        raise _NotApplicable(f"{prim}: no operand")
    return g.apply(prim, x, k=g.draw(st.integers(1, g.shape(x)[-1])))


def _argmax_take(g: _Gen, prim):
    ok = _untied(g, prim)
    x = g.primary(prim, accept=lambda v: any(d > 0 for d in g.shape(v)) and ok(v), nonempty=True)
    if not ok(x):
        raise _NotApplicable(f"{prim} over repeated entries ties")
    s = g.shape(x)
    # y is not x itself nor a view of it unless ties are asked for: argmax_take(x, x) is max(x), and its cotangent
    # at a tie (the first maximal entry) would meet other conventions (the later entry wins) at the same tie
    # (x itself only when nothing else can be: a program of one input and argmax_take alone)
    cands = [v for v in g.values if g.shape(v) == s and (g.cfg.ties or not _same(g, x, v))]
    y = g.operand(cands, lambda: s) if cands or g.room_for_inputs() else x
    return g.apply(prim, x, y, axis=g.choose([i for i, d in enumerate(s) if d > 0]))


def _moments(g: _Gen, prim):
    """var and std over an axis or every entry, ddof 0 or 1 (n - ddof >= 1); std, kinked at a constant slice, over
    at least two entries and not over repeated or constant values unless ties are asked for."""
    kinked = _catalogue.get(prim).kink is not None and not g.cfg.ties
    least = 2 if kinked else 1
    ok = _untied(g, prim)
    fits = lambda v: any(_count(g.shape(v), a) >= least for a in _axis_options(g.shape(v), True))  # noqa: E731
    cands = [v for v in g.values if fits(v) and ok(v)]
    if cands:
        x = g.primary(prim, accept=lambda v: v in cands)
    elif g.cfg.max_dims >= 1:  # a fresh vector long enough
        x = g.fresh((g.draw(st.integers(least, max(least, g.cfg.max_side))),))
    else:
        raise _NotApplicable(f"{prim}: no operand")
    axis = g.choose([a for a in _axis_options(g.shape(x), True) if _count(g.shape(x), a) >= least])
    n = _count(g.shape(x), axis)
    return g.apply(prim, x, axis=axis, ddof=g.draw(st.integers(0, 1)) if n >= 2 else 0)


def _count(shape, axis) -> int:
    return math.prod(shape) if axis is None else shape[axis]


def _with_axis(g: _Gen, prim):
    """(operand, axis): an operand of rank >= 1 with a nonempty axis, and that axis (-1 first when it fits)."""
    x = g.primary(prim, accept=lambda v: any(d > 0 for d in g.shape(v)), nonempty=True)
    axes = [i for i, d in enumerate(g.shape(x)) if d > 0]
    if not axes:
        raise _NotApplicable(f"{prim}: no nonempty axis")
    return x, g.choose([-1] + axes if g.shape(x)[-1] > 0 else axes)


def _take(g: _Gen, prim):
    """Indices drawn one by one (repeats allowed: the VJP's scatter-add adds them up), as many as max_side."""
    x, axis = _with_axis(g, prim)
    n = g.shape(x)[axis]
    k = g.draw(st.integers(1, g.cfg.max_side))
    return g.apply(prim, x, indices=[g.draw(st.integers(0, n - 1)) for _ in range(k)], axis=axis)


def _scatter_add(g: _Gen, prim):
    x, axis = _with_axis(g, prim)
    size = g.draw(st.integers(1, g.cfg.max_side))
    indices = [g.draw(st.integers(0, size - 1)) for _ in range(g.shape(x)[axis])]
    return g.apply(prim, x, indices=indices, size=size, axis=axis)


def _roll(g: _Gen, prim):
    x, axis = _with_axis(g, prim)
    return g.apply(prim, x, shift=g.draw(st.integers(-g.cfg.max_side, g.cfg.max_side)), axis=axis)


def _tile(g: _Gen, prim):
    x = g.primary(prim)
    reps = [g.draw(st.integers(1, 2)) for _ in g.shape(x)]
    if math.prod(g.shape(x)) * math.prod(reps) > min(4 * g.cfg.max_side ** 2, (4 * g.cfg.max_side) ** g.cfg.max_dims):
        raise _NotApplicable("tile: too large")
    return g.apply(prim, x, reps=reps)


def _repeat(g: _Gen, prim):
    x, axis = _with_axis(g, prim)
    r = g.draw(st.integers(1, 3))
    if g.shape(x)[axis] * r > 4 * g.cfg.max_side:
        raise _NotApplicable("repeat: too long")
    return g.apply(prim, x, repeats=r, axis=axis)


def _pad(g: _Gen, prim):
    """A mode, then [before, after] per axis (0 to 2; reflect at most the axis length - 1)."""
    x = g.primary(prim)
    mode = g.choose(["constant", "reflect", "edge"])
    width = []
    for d in g.shape(x):
        top = 2 if mode == "constant" else min(2, d - 1) if mode == "reflect" else (2 if d else 0)
        width.append([g.draw(st.integers(0, max(top, 0))) for _ in range(2)])
    return g.apply(prim, x, width=width, mode=mode)


_RULES.update({"scan": _scan, "top_k": _top_k, "argmax_take": _argmax_take, "moments": _moments, "take": _take,
               "scatter_add": _scatter_add, "roll": _roll, "tile": _tile, "repeat": _repeat, "pad": _pad})
