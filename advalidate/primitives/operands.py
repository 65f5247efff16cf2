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
from typing import Callable

import numpy as np

__all__ = ["POS", "NZ", "UNIT", "SMALL", "NONNEG", "POS_DIAGONAL",
           "Sampler", "Unless", "POSITIVE", "NONZERO", "SMALL_ANGLE", "INSIDE_UNIT",
           "SAMPLERS", "WELL_CONDITIONED", "SPD", "SYMMETRIC_GAPPED", "ABOVE_ONE", "OPEN_UNIT",
           "SINGULAR_GAPPED", "sampler", "fixed_point", "shrinking", "both", "any_has"]

POS, NZ, UNIT, SMALL = "pos", "nz", "unit", "small"
# ---- issue 16: motifs (layer norm, a Gaussian log-likelihood): result-only properties, no sampler gives them
NONNEG, POS_DIAGONAL = "nonneg", "pos-diag"
"""``NONNEG``: every entry >= 0 (a variance): added to a ``POS`` value it gives a ``POS`` one (var + eps).
``POS_DIAGONAL``: a square matrix whose diagonal is > 0 with a margin (a Cholesky factor of an SPD operand):
its ``diagonal`` is ``POS`` (log diag L)."""


@dataclass(frozen=True)
class Sampler:
    """A kind of valid operand, named by the property it guarantees (``flag``).

    ``positive``: drawn entries are made positive (their absolute value). ``limit``: the campaign's points draw
    magnitudes at most this (special points leave such inputs where they are). ``scale``: the factor the
    fixed points of the conformance and cost checks (magnitudes in [0.4, 1.6]) are multiplied by.
    ``matrix(x) -> array``: for a square-matrix operand (linear algebra), the map from the drawn entries (after the
    sign and the scale) to a valid matrix (well-conditioned, symmetric positive definite, a spectrum with gaps);
    it runs in float64 and is deterministic, so the point stays a function of the drawn entries (and shrinks
    with them). ``special(x, rng) -> array``: the special operands of such a sampler (near-singular, repeated
    eigenvalues), which ``points(special=True)`` moves one such input to (:mod:`strategies._points`).
    ``offset``: drawn magnitudes (fixed points' too, after the scale) are moved this far away from zero,
    |x| + offset (arccosh's x > 1)."""

    flag: str
    doc: str
    positive: bool = False
    limit: float | None = None
    scale: float = 1.0
    matrix: "Callable[[np.ndarray], np.ndarray] | None" = None
    special: "Callable[[np.ndarray, np.random.Generator], np.ndarray] | None" = None
    offset: float = 0.0

    def __post_init__(self):
        known = SAMPLERS.get(self.flag)
        if known is not None and known != self:
            raise ValueError(f"a different sampler already gives property {self.flag!r}: {known}")
        SAMPLERS[self.flag] = self

    def fixed(self, x: np.ndarray) -> np.ndarray:
        """A fixed point's entries (magnitudes in [0.4, 1.6], random signs) made valid for this sampler."""
        x = (np.abs(x) if self.positive else x) * self.scale
        x = x + np.sign(x) * self.offset if self.offset else x
        return self.make(x)

    def make(self, x: np.ndarray) -> np.ndarray:
        """``matrix(x)`` in ``x``'s dtype for a matrix sampler (``x`` itself otherwise)."""
        if self.matrix is None or np.ndim(x) != 2 or x.shape[0] != x.shape[1] or x.size == 0:
            return x
        return np.asarray(self.matrix(np.asarray(x, np.float64))).astype(np.asarray(x).dtype)


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


# ---- issue 16: linear algebra factorisations and solves: square-matrix samplers (``matrix``: drawn entries ->
# a valid matrix, float64, deterministic; ``special``: the special operands points(special=True) moves to)

def _dominant(x):
    """Strictly diagonally dominant, diagonal signs as drawn: |a_ii| = |x_ii| + sum_j!=i |x_ij| (every drawn entry
    is >= 0.25 in magnitude, so the margin is >= 0.25 per row: nonsingular, and LU needs no pivoting)."""
    a = np.array(x, np.float64)
    off = np.sum(np.abs(a), axis=1) - np.abs(np.diag(a))
    np.fill_diagonal(a, np.where(np.diag(a) < 0, -1.0, 1.0) * (np.abs(np.diag(a)) + off))
    return a


def _spd(x):
    """``X·Xᵀ/n + I/2``: symmetric positive definite, eigenvalues in [1/2, 1/2 + |X|_F²/n]."""
    x = np.asarray(x, np.float64)
    a = x @ x.T / x.shape[0] + 0.5 * np.eye(x.shape[0])
    return (a + a.T) / 2


EIGEN_GAP = 0.5
"""The smallest gap between consecutive eigenvalues of :data:`SYMMETRIC_GAPPED` operands."""


def _gapped(x, gap=EIGEN_GAP):
    """The eigenvectors of ``(X + Xᵀ)/2`` with its eigenvalues spread so that consecutive ones are >= ``gap``
    apart (each moved up as little as that needs)."""
    x = np.asarray(x, np.float64)
    lam, v = np.linalg.eigh((x + x.T) / 2)
    for k in range(1, lam.size):
        lam[k] = max(lam[k], lam[k - 1] + gap)
    a = (v * lam) @ v.T
    return (a + a.T) / 2


def _with_spectrum(a, change):
    """``a`` with its singular values (or a symmetric ``a``'s eigenvalues) changed by ``change(values)``."""
    if np.allclose(a, a.T, rtol=0, atol=0):
        lam, v = np.linalg.eigh(a)
        b = (v * change(lam)) @ v.T
        return (b + b.T) / 2
    u, s, vt = np.linalg.svd(a)
    return (u * change(s)) @ vt


def _near_singular(x, rng, pivot=True):
    """Special: the smallest singular value (eigenvalue) ``10^-k`` of the largest, k in [4, 14]; or (``pivot``) a
    zero pivot (a_11 = 0 with the rest dominant, still nonsingular)."""
    a = np.asarray(x, np.float64)
    if pivot and a.shape[0] > 1 and rng.random() < 0.25:
        a = a.copy()
        a[0, 0] = 0.0
        return a
    eps = 10.0 ** -rng.uniform(4, 14)

    def change(s):
        s = s.copy()
        k = int(np.argmin(np.abs(s)))
        s[k] = np.sign(s[k] + (s[k] == 0)) * eps * np.max(np.abs(s))
        return s
    return _with_spectrum(a, change)


def _repeated(x, rng):
    """Special: two consecutive eigenvalues made equal (the kink of eigenvalue functions) or 10^-k apart
    relatively (k in [4, 15]); for a positive definite operand, half the time near-singular instead."""
    a = np.asarray(x, np.float64)
    if a.shape[0] < 2 or rng.random() < 0.25:
        return _near_singular(a, rng, pivot=False) if a.shape[0] > 1 else a
    k = int(rng.integers(a.shape[0] - 1))
    rel = 0.0 if rng.random() < 0.5 else 10.0 ** -rng.uniform(4, 15)

    def change(lam):
        lam = lam.copy()
        lam[k + 1] = lam[k] + rel * abs(lam[k])
        return lam
    return _with_spectrum(a, change)


WELL_CONDITIONED = Sampler("square", "a well-conditioned square matrix (strictly diagonally dominant)",
                           matrix=_dominant, special=_near_singular)
SPD = Sampler("spd", "a symmetric positive definite matrix (X·Xᵀ/n + I/2)", positive=False, matrix=_spd,
              special=lambda x, rng: _repeated(x, rng) if rng.random() < 0.5 else _near_singular(x, rng, pivot=False))
SYMMETRIC_GAPPED = Sampler("sym-gap", f"a symmetric matrix whose consecutive eigenvalues are >= {EIGEN_GAP} apart",
                           matrix=_gapped, special=_repeated)


# ---- issue 16: linear algebra: singular values and QR

SINGULAR_GAP = 0.5
"""The smallest gap between consecutive singular values of :data:`SINGULAR_GAPPED` operands, and the smallest
singular value's distance from 0."""


def _singular_gapped(x, gap=SINGULAR_GAP):
    """``X`` with its singular values spread so that the smallest is >= ``gap`` and consecutive ones are >= ``gap``
    apart (each moved up as little as that needs; the singular vectors kept)."""
    x = np.asarray(x, np.float64)
    u, s, vt = np.linalg.svd(x)
    s = s[::-1].copy()  # ascending
    s[0] = max(s[0], gap)
    for k in range(1, s.size):
        s[k] = max(s[k], s[k - 1] + gap)
    return (u * s[::-1]) @ vt


def _singular_special(x, rng):
    """Special: two consecutive singular values made equal (a kink of the singular values) or 10^-k apart
    relatively (k in [4, 15]); or the smallest one 0 (rank-deficient: σ_min = |.| there, a kink) or 10^-k of the
    largest (k in [4, 14])."""
    a = np.asarray(x, np.float64)
    u, s, vt = np.linalg.svd(a)
    s = s.copy()
    if a.shape[0] < 2 or rng.random() < 0.5:
        s[-1] = 0.0 if rng.random() < 0.5 else 10.0 ** -rng.uniform(4, 14) * s[0]
    else:
        k = int(rng.integers(s.size - 1))
        rel = 0.0 if rng.random() < 0.5 else 10.0 ** -rng.uniform(4, 15)
        s[k + 1] = s[k] * (1 - rel)
    return (u * s) @ vt


SINGULAR_GAPPED = Sampler("sv-gap", f"a square matrix whose singular values are >= {SINGULAR_GAP} apart and from 0",
                          matrix=_singular_gapped, special=_singular_special)
