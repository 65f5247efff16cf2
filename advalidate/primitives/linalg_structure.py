"""Structural linear algebra: ``trace``, ``diagonal``, ``tril``, ``triu``, ``outer``, ``kron``, ``tensordot`` and
``einsum`` (a documented set of contraction patterns, :data:`EINSUM_SPECS`).

Every one is linear or bilinear in its operands: no domain, no kinks. The sums inside them (``trace``, the
contractions of ``tensordot`` and ``einsum``) round like any sum of terms (``rounding``: u times the sum of the
terms' magnitudes), and their VJPs sum products of mixed signs (``magnitude``: the rules on the operands' absolute
values). ``diagonal`` is a view (free in the unit-cost model; its adjoint scatters the cotangent onto a zero matrix);
``tril`` and ``triu`` select entries (a ``where``: the elements produced).

``einsum``'s patterns: a spec is one of :data:`EINSUM_SPECS` (parameter ``spec``; the number of operands follows
from it). Its rules are general for specs whose operands have distinct letters (a letter only in the operand being
differentiated is summed in the forward, so its cotangent is broadcast along it); ``"ii->i"``, the one spec with a
repeated letter, takes the diagonal (its adjoint scatters onto a zero matrix).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from . import shapes as _shapes
from ._forms import sum_of_terms
from .operands import NZ, POS, POS_DIAGONAL, shrinking
from .primitive import REQUIRED, Draw, Primitive, ShapeError
from .registry import register

__all__ = ["EINSUM_SPECS", "parse_spec", "tensordot_axes"]

EINSUM_SPECS = (
    "ij,jk->ik",  # a matrix product
    "ij,j->i",  # a matrix times a vector
    "i,i->",  # a dot product
    "ij,ij->",  # the Frobenius inner product
    "i,j->ij",  # an outer product
    "bij,bjk->bik",  # a batched matrix product (operands of rank 3)
    "ij->ji",  # a transpose
    "ij->i",  # row sums
    "ii->i",  # the diagonal of a square matrix (a repeated letter)
)
"""The contraction patterns ``einsum`` takes (its ``spec``), each a different kind of contraction."""


def _is_mp(x) -> bool:
    return getattr(x, "dtype", None) is not None and x.dtype.kind == "O"


def _mp(x):
    """An object array's int zeros (what sums of no terms and zero fills give) as mpf."""
    return np.asarray(x, dtype=object) + mpmath.mpf(0)


def _matrix_shape(shapes, what):
    (shape,) = shapes
    if len(shape) != 2:
        raise ShapeError(f"{what} takes a 2-D operand, got shape {tuple(shape)}")
    return tuple(shape)


def _int_param(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{name} must be an integer, got {value!r}")
    return value


# ---- trace and diagonal


def _diagonal_length(m, n, offset):
    return max(0, min(m, n - offset)) if offset >= 0 else max(0, min(m + offset, n))


def _diagonal_index(shape, offset):
    k = _diagonal_length(shape[0], shape[1], offset)
    rows = np.arange(k) + max(-offset, 0)
    return rows, rows + offset


def trace_form(x):
    out = np.trace(x)
    return _mp(out) if _is_mp(x) else out


def _trace_shape(shapes):
    _matrix_shape(shapes, "trace")
    return ()


def grad_trace(g, ans, x):
    out = np.zeros_like(x)  # the cotangent written onto a zero matrix's diagonal: free (an assignment)
    rows, cols = _diagonal_index(x.shape, 0)
    out[rows, cols] = g
    return out


def _diagonal_shape(shapes, offset=0):
    m, n = _matrix_shape(shapes, "diagonal")
    return (_diagonal_length(m, n, _int_param(offset, "offset")),)


def _diagonal_props(args, params, shapes):
    """What the matrix has (a view keeps it), and ``POS`` for the main diagonal of a positive-diagonal one."""
    kept = set(frozenset.intersection(*args))
    if POS_DIAGONAL in kept and params.get("offset", 0) == 0:
        kept |= {POS, NZ}
    return kept


def grad_diagonal(g, ans, x, offset=0):
    out = np.zeros_like(x)
    rows, cols = _diagonal_index(x.shape, offset)
    out[rows, cols] = g
    return out


# ---- tril and triu


def _tri_shape(shapes, k=0):
    (shape,) = shapes
    if len(shape) < 2:
        raise ShapeError(f"tril and triu take operands of rank 2 or more, got shape {tuple(shape)}")
    _int_param(k, "k")
    return tuple(shape)


def _tri_form(lower):
    npf = np.tril if lower else np.triu

    def form(x, k=0):
        if _is_mp(x):  # np.tril fills with the int 0
            mask = np.tri(x.shape[-2], x.shape[-1], k, dtype=bool)
            return np.where(mask if lower else ~np.tri(x.shape[-2], x.shape[-1], k - 1, dtype=bool), x,
                            mpmath.mpf(0))
        return npf(x, k)
    return form


tril_form, triu_form = _tri_form(True), _tri_form(False)


def _zeros_repeat(args, in_shapes, shape):
    return math.prod(shape[-2:]) > 2  # the entries it zeroes tie with each other


# ---- outer and kron


def _outer_shape(shapes):
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        raise ShapeError(f"outer takes 1-D operands, got shapes {tuple(a)} and {tuple(b)}")
    return (a[0], b[0])


def _kron_shape(shapes):
    a, b = shapes
    if len(a) != len(b) or not 1 <= len(a) <= 2:
        raise ShapeError(f"kron takes operands of the same rank, 1 or 2, got shapes {tuple(a)} and {tuple(b)}")
    return tuple(p * q for p, q in zip(a, b))


def _kron_blocks(g, a, b):
    """The cotangent of ``kron(a, b)`` as an array of axes (a0, b0, a1, b1, ...)."""
    return g.reshape(tuple(d for pair in zip(a.shape, b.shape) for d in pair))


def grad_kron_a(g, ans, a, b):
    r = a.ndim
    blocks = _kron_blocks(g, a, b)
    b_spread = b.reshape(tuple(d for i in range(r) for d in (1, b.shape[i])))
    return np.sum(blocks * b_spread, axis=tuple(range(1, 2 * r, 2)))


def grad_kron_b(g, ans, a, b):
    r = a.ndim
    blocks = _kron_blocks(g, a, b)
    a_spread = a.reshape(tuple(d for i in range(r) for d in (a.shape[i], 1)))
    return np.sum(blocks * a_spread, axis=tuple(range(0, 2 * r, 2)))


def _mp_kron(a, b):
    return _mp(np.kron(a, b))


# ---- tensordot


def tensordot_axes(axes, ra, rb):
    """``axes`` (an int n: a's last n axes with b's first n; or a pair of lists) as two lists of axes, checked."""
    if isinstance(axes, bool):
        raise ShapeError(f"axes must be an integer or a pair of lists of axes, got {axes!r}")
    if isinstance(axes, int):
        if not 0 <= axes <= min(ra, rb):
            raise ShapeError(f"axes={axes} contracts more axes than the operands have (ranks {ra} and {rb})")
        return list(range(ra - axes, ra)), list(range(axes))
    try:
        ca, cb = ([int(i) for i in side] for side in axes)
    except (TypeError, ValueError):
        raise ShapeError(f"axes must be an integer or a pair of lists of axes, got {axes!r}") from None
    if len(ca) != len(cb):
        raise ShapeError(f"axes {axes!r}: the two lists differ in length")
    for side, r in ((ca, ra), (cb, rb)):
        if any(not 0 <= i < r for i in side) or len(set(side)) != len(side):
            raise ShapeError(f"axes {axes!r} are not distinct axes of operands of ranks {ra} and {rb}")
    return ca, cb


def _tensordot_shape(shapes, axes=1):
    a, b = shapes
    ca, cb = tensordot_axes(axes, len(a), len(b))
    for i, j in zip(ca, cb):
        if a[i] != b[j]:
            raise ShapeError(f"tensordot of {tuple(a)} and {tuple(b)} over axes {axes!r}: {a[i]} != {b[j]}")
    return tuple(d for i, d in enumerate(a) if i not in ca) + tuple(d for j, d in enumerate(b) if j not in cb)


def _axes_arg(axes):
    return axes if isinstance(axes, int) else tuple(tuple(side) for side in axes)


def tensordot_form(a, b, axes=1):
    out = np.tensordot(a, b, _axes_arg(axes))
    return _mp(out) if _is_mp(out) else out


def grad_tensordot_a(g, ans, a, b, axes=1):
    ca, cb = tensordot_axes(axes, a.ndim, b.ndim)
    fa = [i for i in range(a.ndim) if i not in ca]
    fb = [j for j in range(b.ndim) if j not in cb]
    part = np.tensordot(g, b, (list(range(len(fa), g.ndim)), fb))
    # its axes: a's free axes, then b's contracted ones in increasing order, each standing for its partner in a
    labels = fa + [ca[cb.index(j)] for j in sorted(cb)]
    return np.transpose(part, np.argsort(labels))


def grad_tensordot_b(g, ans, a, b, axes=1):
    ca, cb = tensordot_axes(axes, a.ndim, b.ndim)
    fa = [i for i in range(a.ndim) if i not in ca]
    fb = [j for j in range(b.ndim) if j not in cb]
    part = np.tensordot(a, g, (fa, list(range(len(fa)))))
    labels = [cb[ca.index(i)] for i in sorted(ca)] + fb
    return np.transpose(part, np.argsort(labels))


# ---- einsum


def parse_spec(spec):
    """``"ij,jk->ik"`` -> (["ij", "jk"], "ik"); ShapeError for a spec outside :data:`EINSUM_SPECS`."""
    if spec not in EINSUM_SPECS:
        raise ShapeError(f"einsum spec {spec!r} is not one of the supported patterns {list(EINSUM_SPECS)}")
    ins, out = spec.split("->")
    return ins.split(","), out


def _einsum_shape(shapes, spec):
    ins, out = parse_spec(spec)
    if len(shapes) != len(ins):
        raise ShapeError(f"einsum {spec!r} takes {len(ins)} operand(s), got {len(shapes)}")
    sizes = {}
    for subs, shape in zip(ins, shapes):
        if len(subs) != len(shape):
            raise ShapeError(f"einsum {spec!r}: operand {subs!r} needs rank {len(subs)}, got shape {tuple(shape)}")
        for letter, d in zip(subs, shape):
            if sizes.setdefault(letter, d) != d:
                raise ShapeError(f"einsum {spec!r}: {letter!r} is {sizes[letter]} and {d} in shapes "
                                 f"{', '.join(map(str, shapes))}")
    return tuple(sizes[letter] for letter in out)


def einsum_form(*xs, spec):
    out = np.einsum(spec, *xs)
    return _mp(out) if _is_mp(out) else out


def _einsum_cotangent(i, g, xs, spec):
    ins, out = parse_spec(spec)
    subs = ins[i]
    if len(set(subs)) < len(subs):  # "ii->i": the cotangent onto the diagonal of a zero matrix
        grad = np.zeros_like(xs[i])
        idx = np.arange(xs[i].shape[0])
        grad[idx, idx] = g
        return grad
    others = [s for j, s in enumerate(ins) if j != i]
    named = set(out).union(*others)
    kept = "".join(letter for letter in subs if letter in named)
    operands = [g] + [x for j, x in enumerate(xs) if j != i]
    part = np.einsum(",".join([out] + others) + "->" + kept, *operands)
    if kept != subs:  # a letter summed in this operand alone: the cotangent is the same along it
        part = np.broadcast_to(np.expand_dims(part, tuple(k for k, s in enumerate(subs) if s not in named)),
                               xs[i].shape)
    return part


def grad_einsum(g, ans, *xs, spec):
    return tuple(_einsum_cotangent(i, g, xs, spec) for i in range(len(xs)))


def _jvp_einsum(ts, ans, *xs, spec):
    total = None
    for i, t in enumerate(ts):
        term = np.einsum(spec, *[t if j == i else x for j, x in enumerate(xs)])
        total = term if total is None else total + term
    return total


def _abs(xs):
    return [np.abs(x) for x in xs]


# ---- registrations


def _matrix_example(**params):
    return lambda s: ([tuple(s[-2:]) if len(s) >= 2 else (s[0], s[0])], dict(params))


def _matrix_draw(simplicity, ranks=lambda max_dims: (2, min(2, max_dims)), rank_text="2"):
    return Draw(simplicity=simplicity, rule="matrix", ranks=ranks, rank_text=rank_text)


def _sum_rounding(form):
    return lambda value, args, params: sum_of_terms(value, args, params, form)


register(Primitive(
    "trace", 1, "linalg", _trace_shape, np.trace, trace_form,
    doc="the sum of a matrix's diagonal (rectangular matrices too)",
    vjp=(grad_trace,), jvp=lambda ts, ans, x: trace_form(ts[0]),
    rounding=_sum_rounding(np.trace), draw=_matrix_draw(40), example=_matrix_example()))
register(Primitive(
    "diagonal", 1, "structural", _diagonal_shape, lambda x, offset=0: np.diagonal(x, offset),
    lambda x, offset=0: np.diagonal(x, offset), params={"offset": 0},
    doc="the diagonal of a matrix, ``offset`` above (> 0) or below (< 0) the main one: a view",
    props=_diagonal_props,
    vjp=(grad_diagonal,), jvp=lambda ts, ans, x, offset=0: np.diagonal(ts[0], offset).copy(), free_fan_out=True,
    draw=_matrix_draw(41), example=_matrix_example(offset=1)))
for _name, _form, _doc in (("tril", tril_form, "entries on and below the k-th diagonal kept, the others 0"),
                           ("triu", triu_form, "entries on and above the k-th diagonal kept, the others 0")):
    register(Primitive(
        _name, 1, "linalg", _tri_shape, _form, _form, params={"k": 0}, doc=_doc,
        vjp=((lambda f: lambda g, ans, x, k=0: f(g, k))(_form),),
        jvp=(lambda f: lambda ts, ans, x, k=0: f(ts[0], k))(_form),
        props=lambda a, params, shapes: shrinking(a[0]), repeats=_zeros_repeat,
        draw=_matrix_draw(42 if _name == "tril" else 43, lambda max_dims: (2, max_dims), ">= 2"),
        example=_matrix_example(k=-1 if _name == "tril" else 1)))
register(Primitive(
    "outer", 2, "linalg", _outer_shape, np.outer, np.multiply.outer, doc="the outer product of two vectors",
    vjp=(lambda g, ans, a, b: np.matmul(g, b), lambda g, ans, a, b: np.matmul(a, g)),
    jvp=lambda ts, ans, a, b: np.multiply.outer(ts[0], b) + np.multiply.outer(a, ts[1]),
    magnitude=(lambda g, ans, a, b: np.matmul(g, np.abs(b)), lambda g, ans, a, b: np.matmul(np.abs(a), g)),
    draw=Draw(simplicity=44, rule="pair", ranks=lambda max_dims: (1, 1 if max_dims >= 2 else 0),
              rank_text="1 (and max_dims >= 2: the result is a matrix)"),
    example=lambda shape: ([shape[-1:], shape[:1]], {})))
register(Primitive(
    "kron", 2, "linalg", _kron_shape, np.kron, _mp_kron, doc="the Kronecker product of two operands of rank 1 or 2",
    vjp=(grad_kron_a, grad_kron_b),
    jvp=lambda ts, ans, a, b: np.kron(ts[0], b) + np.kron(a, ts[1]),
    magnitude=(lambda g, ans, a, b: grad_kron_a(g, ans, np.abs(a), np.abs(b)),
               lambda g, ans, a, b: grad_kron_b(g, ans, np.abs(a), np.abs(b))),
    draw=Draw(simplicity=45, rule="pair", ranks=lambda max_dims: (1, min(2, max_dims)), rank_text="1 or 2"),
    example=lambda shape: ([(2,) * min(len(shape), 2), tuple(shape[-2:])] if len(shape) else [(2,), (3,)], {})))
register(Primitive(
    "tensordot", 2, "linalg", _tensordot_shape, tensordot_form, tensordot_form, params={"axes": 1},
    doc="contraction over axes: an int n (a's last n with b's first n) or a pair of lists [[a's], [b's]]",
    vjp=(grad_tensordot_a, grad_tensordot_b),
    jvp=lambda ts, ans, a, b, axes=1: tensordot_form(ts[0], b, axes) + tensordot_form(a, ts[1], axes),
    magnitude=(lambda g, ans, a, b, axes=1: grad_tensordot_a(g, ans, np.abs(a), np.abs(b), axes),
               lambda g, ans, a, b, axes=1: grad_tensordot_b(g, ans, np.abs(a), np.abs(b), axes)),
    rounding=_sum_rounding(tensordot_form),
    draw=Draw(simplicity=46, rule="tensordot", ranks=lambda max_dims: (1, max_dims)),
    example=lambda shape: ([tuple(shape), tuple(shape[::-1])], {"axes": [[len(shape) - 1], [0]]})))
register(Primitive(
    "einsum", None, "linalg", _einsum_shape, einsum_form, einsum_form, params={"spec": REQUIRED},
    doc="one of the contraction patterns of EINSUM_SPECS (the number of operands follows from the spec)",
    vjp=grad_einsum, jvp=_jvp_einsum,
    magnitude=lambda g, ans, *xs, spec: grad_einsum(g, ans, *_abs(xs), spec=spec),
    rounding=_sum_rounding(einsum_form),
    draw=Draw(simplicity=47, rule="einsum", ranks=lambda max_dims: (1, max_dims)),
    example=lambda shape: ([tuple(shape[-2:]), tuple(shape[-2:][::-1])] if len(shape) >= 2 else [shape, shape],
                           {"spec": "ij,jk->ik" if len(shape) >= 2 else "i,i->"})))
