"""Programs the cost checks run: one small example per catalogue primitive, a few compositions, and the
families of the scaling sweeps (input size n, output size m), including the seed's matrix chain."""

from __future__ import annotations


from .. import builder, primitives
from ..builder import Builder
from ..ir import Function

__all__ = ["single", "point", "catalogue", "composed", "FAMILIES", "matrix_chain", "seed_chain"]

def single(name: str, shape=(8, 16)) -> Function:
    """A one-node program applying catalogue primitive ``name`` to inputs of ``shape`` (its registration's
    example)."""
    return builder.single(name, shape)


def point(fn: Function, rng, prim: str | None = None):
    """Inputs inside every domain and away from kinks (|x| in [0.4, 1.6], each made valid for the operands that read
    it: :func:`advalidate.primitives.fixed_point`), and unit-scale cotangents. ``prim`` is not needed any more (the
    program's registrations say it) and kept for callers that pass it."""
    xs = primitives.fixed_point(fn, rng)
    vs = [rng.standard_normal(s).astype(fn.dtype) for s in fn.output_shapes]
    return xs, vs


def catalogue(shape=(8, 16), names=None):
    """``[(name, function)]``: one example per catalogue primitive."""
    return [(name, single(name, shape)) for name in (names or primitives.CATALOGUE)]


def composed() -> list[tuple[str, Function]]:
    """A few compositions mixing families: an MLP layer with softmax, a normalised feature, a gated sum."""
    out = []
    b = Builder()
    x, w, c = b.input(32), b.input(16, 32), b.input(16)
    out.append(("mlp-softmax", b.build(b.log_softmax(b.add(b.matmul(w, b.tanh(x)), c)))))
    b = Builder()
    x, y = b.input(8, 24), b.input(8, 24)
    h = b.hypot(b.sin(x), b.exp(b.mul(y, x)))
    out.append(("normalised", b.build(b.div(h, b.norm(h)), b.logsumexp(b.square(x), axis=1))))
    b = Builder()
    x, y, p = b.input(64), b.input(64), b.input(64)
    g = b.where(p, b.sigmoid(x), b.softplus(y))
    out.append(("gated", b.build(b.sum(b.mul(g, b.arctan(b.sub(x, y)))), b.relu(b.pow(b.abs(x), b.cos(y))))))
    return out


def matrix_chain(n: int, m: int, hidden: int = 16) -> Function:
    """``f(x, A1, A2, A3) = A3 · tanh(A2 · tanh(A1 · x))``: input x of size n, output of size m."""
    b = Builder()
    x, a1, a2, a3 = b.input(n), b.input(hidden, n), b.input(hidden, hidden), b.input(m, hidden)
    return b.build(b.matmul(a3, b.tanh(b.matmul(a2, b.tanh(b.matmul(a1, x))))))


def seed_chain(n: int, hidden: int = 16) -> Function:
    """The seed question: ``f = f3∘f2∘f1`` with matrices N×H, H×H, H×N (H fixed): R^N -> R^N."""
    return matrix_chain(n, n, hidden)


def _outer_tanh(n: int, m: int) -> Function:
    """``out_i = Σ_j tanh(y_i · x_j)``: work ∝ m·n."""
    b = Builder()
    x, y = b.input(1, n), b.input(m, 1)
    return b.build(b.sum(b.tanh(b.mul(y, x)), axis=1))


def _softmax_layer(n: int, m: int) -> Function:
    """``softmax(W · sin(x))`` with W of shape m×n."""
    b = Builder()
    x, w = b.input(n), b.input(m, n)
    return b.build(b.softmax(b.matmul(w, b.sin(x))))


FAMILIES = {"matrix-chain": matrix_chain, "outer-tanh": _outer_tanh, "softmax-layer": _softmax_layer}
