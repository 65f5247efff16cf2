"""What a valid operand looks like, and what a primitive's result guarantees.

The strategies track *properties* of every value of a program (:mod:`advalidate.strategies`, ``_analysis``):

- ``POS``: every entry > 0, with a margin; ``NZ``: every entry != 0, with a margin;
- ``UNIT``: every entry in [-1, 1]; ``SMALL``: every entry in [-1.25, 1.25].

A primitive's registration says, per operand, which :class:`Sampler` a valid operand comes from (``sqrt``:
:data:`POSITIVE`; ``div``'s divisor: :data:`NONZERO`; ``tan``: :data:`SMALL_ANGLE`; ``atan2``'s x: positive
unless y is nonzero, an :class:`Unless`; an op defined inside (-1, 1): :data:`INSIDE_UNIT`; a new kind of operand
is a new :class:`Sampler`, with a property name of its own), and which properties its result has given its operands' (its
``props`` function, built from the helpers below). Inputs are drawn bounded away from zero (every input is
``NZ``); an input that an operand with a sampler reads directly (through structural ops only) is drawn by that
sampler. :func:`fixed_point` draws the fixed, well-conditioned points of the conformance and cost checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["POS", "NZ", "UNIT", "SMALL", "Sampler", "Unless", "POSITIVE", "NONZERO", "SMALL_ANGLE", "INSIDE_UNIT",
           "ABOVE_ONE", "OPEN_UNIT", "SAMPLERS",
           "sampler", "fixed_point", "shrinking", "both", "any_has"]

POS, NZ, UNIT, SMALL = "pos", "nz", "unit", "small"


@dataclass(frozen=True)
class Sampler:
    """A kind of valid operand, named by the property it guarantees (``flag``).

    ``positive``: drawn entries are made positive (their absolute value). ``limit``: the campaign's points draw
    magnitudes at most this (special points leave such inputs where they are). ``scale``: the factor the
    fixed points of the conformance and cost checks (magnitudes in [0.4, 1.6]) are multiplied by. ``offset``:
    drawn magnitudes (fixed points' too, after the scale) are moved this far away from zero, |x| + offset
    (arccosh's x > 1)."""

    flag: str
    doc: str
    positive: bool = False
    limit: float | None = None
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        known = SAMPLERS.get(self.flag)
        if known is not None and known != self:
            raise ValueError(f"a different sampler already gives property {self.flag!r}: {known}")
        SAMPLERS[self.flag] = self

    def fixed(self, x: np.ndarray) -> np.ndarray:
        """A fixed point's entries (magnitudes in [0.4, 1.6], random signs) made valid for this sampler."""
        x = (np.abs(x) if self.positive else x) * self.scale
        return x + np.sign(x) * self.offset if self.offset else x


SAMPLERS: dict = {}
"""Samplers by the property they guarantee (the strategies record needs as properties); a sampler joins on creation."""

POSITIVE = Sampler(POS, "positive", positive=True)
NONZERO = Sampler(NZ, "nonzero (every input is drawn bounded away from zero)")
SMALL_ANGLE = Sampler(SMALL, "|x| <= 1.2, so that cos(x) >= 0.36 (tan's poles are at ±pi/2)", limit=1.2, scale=0.8)
INSIDE_UNIT = Sampler("inside-unit", "|x| <= 0.9: inside (-1, 1) with a margin (arcsin, arctanh)", limit=0.9,
                      scale=0.5)
# ---- issue 16: elementwise, activations, special functions
ABOVE_ONE = Sampler("above-one", "x >= 1.25: inside (1, inf) with a margin (arccosh)", positive=True, offset=1.0)
OPEN_UNIT = Sampler("open-unit", "0.25 <= x <= 0.9: inside (0, 1) with a margin (logit, a probability label)",
                    positive=True, limit=0.9, scale=0.5)


@dataclass(frozen=True)
class Unless:
    """``sampler`` unless operand ``other`` has property ``flag`` (then any nonzero value will do):
    ``atan2(y, x)`` needs x > 0 unless y != 0."""

    flag: str
    other: int
    sampler: Sampler

    def need(self, props) -> Sampler | None:
        if props is None or self.other >= len(props) or props[self.other] is None:
            return self.sampler  # strict: the operands' properties are not known
        return None if self.flag in props[self.other] else self.sampler


def sampler(spec, props=None) -> Sampler | None:
    """The sampler an operand spec (a :class:`Sampler`, an :class:`Unless` or None) asks for, given the operands'
    properties ``props`` (a list, None where unknown; None: not known at all, the strict answer)."""
    return spec.need(props) if isinstance(spec, Unless) else spec


def fixed_point(fn, rng: np.random.Generator) -> list[np.ndarray]:
    """A random point of ``fn`` inside every domain and away from kinks for the conformance and cost checks:
    magnitudes uniform in [0.4, 1.6] with random signs, each input made valid for the samplers of the operands
    that read it directly."""
    from .registry import get

    xs = []
    for i, shape in enumerate(fn.inputs):
        x = rng.uniform(0.4, 1.6, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        name = f"x{i}"
        needs = {}
        for node in fn.nodes:
            prim = get(node.prim)
            for j, a in enumerate(node.args):
                s = sampler(prim.operand(j)) if a == name else None
                if s is not None:
                    needs[s.flag] = s
        for s in sorted(needs.values(), key=lambda s: not s.positive):  # the sign first, then the scale
            x = s.fixed(x)
        xs.append(x.astype(fn.dtype))
    return xs


# ---- helpers for ``props`` functions: props(operands' properties, params, operand shapes) -> set


def shrinking(props) -> set:
    """The bound flags a sign flip or a shrinking map keeps."""
    return {p for p in (UNIT, SMALL) if p in props} | ({SMALL} if UNIT in props else set())


def both(args) -> frozenset:
    """The properties every operand has."""
    return frozenset.intersection(*args) if args else frozenset()


def any_has(args, flag) -> bool:
    return any(flag in a for a in args)
