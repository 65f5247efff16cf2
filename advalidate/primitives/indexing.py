"""Indexing along one axis: gathers with repeated indices (``take``), their adjoint ``scatter_add``, and the
moves ``flip``, ``roll``, ``tile`` and ``repeat``.

Index arrays are parameters (lists of integers the program generator draws), rendered as literal lists in
every dialect. A gather's VJP is a scatter-add (``np.add.at``): repeated indices add their cotangents; a
scatter-add's VJP is a gather. ``flip``, ``roll``, ``tile``, ``repeat`` and ``take`` only move entries
(structural: their results keep what their operands have; ``tile``, ``repeat`` and a ``take`` with repeated
indices repeat entries, so a ``max`` or ``sort`` over them ties by construction). ``scatter_add`` sums entries
and leaves zeros where no index lands: not structural.

Unit costs: a gather, a scatter-add, a roll, a tile and a repeat cost the elements they produce (a scatter-add
the elements of its target); a flip is a view (free), as in every counter.
"""

from __future__ import annotations

import math

import numpy as np

from . import shapes
from ._forms import sum_of_terms
from .primitive import REQUIRED, Draw, Primitive, ShapeError
from .registry import register
from .scans import _back, _last, _scatter_add_last


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _axis_of(shape, axis):
    if len(shape) == 0:
        raise ShapeError("a scalar has no axis to index")
    return shapes._axis(shape, axis, allow_none=False)


def _indices(indices, n, what="indices"):
    if not isinstance(indices, (list, tuple)) or not indices or not all(_int(i) for i in indices):
        raise ShapeError(f"{what} must be a non-empty list of integers, got {indices!r}")
    if not all(0 <= i < n for i in indices):
        raise ShapeError(f"{what} {list(indices)} are not all in [0, {n})")
    return list(indices)


def _replace(shape, ax, length):
    return tuple(shape[:ax]) + (length,) + tuple(shape[ax + 1:])


# ---- take: a gather along an axis


def _take_shape(in_shapes, indices, axis=-1):
    (shape,) = in_shapes
    ax = _axis_of(shape, axis)
    return _replace(shape, ax, len(_indices(indices, shape[ax])))


def take(x, indices, axis=-1):
    return np.take(x, np.asarray(indices, dtype=np.intp), axis=axis)


def _scatter(g, indices, axis, n):
    gl = _last(g, axis)
    index = np.broadcast_to(np.asarray(indices, dtype=np.intp), gl.shape)
    return _back(_scatter_add_last(gl, index, n), axis)


def grad_take(g, ans, x, indices, axis=-1):
    return _scatter(g, indices, axis, x.shape[axis])


# ---- scatter_add: out[..., indices[j], ...] += x[..., j, ...] into an axis of length size


def _scatter_shape(in_shapes, indices, size, axis=-1):
    (shape,) = in_shapes
    ax = _axis_of(shape, axis)
    if not _int(size) or size < 1:
        raise ShapeError(f"size must be a positive integer, got {size!r}")
    idx = _indices(indices, size)
    if len(idx) != shape[ax]:
        raise ShapeError(f"{len(idx)} indices for an axis of length {shape[ax]}")
    return _replace(shape, ax, size)


def scatter_add(x, indices, size, axis=-1):
    return _scatter(x, indices, axis, size)


# ---- roll, tile, repeat


def _roll_shape(in_shapes, shift, axis=-1):
    (shape,) = in_shapes
    _axis_of(shape, axis)
    if not _int(shift):
        raise ShapeError(f"shift must be an integer, got {shift!r}")
    return tuple(shape)


def _tile_shape(in_shapes, reps):
    (shape,) = in_shapes
    if not isinstance(reps, (list, tuple)) or len(reps) != len(shape) or not all(_int(r) and r >= 1 for r in reps):
        raise ShapeError(f"reps must be one positive integer per axis of {tuple(shape)}, got {reps!r}")
    return tuple(d * r for d, r in zip(shape, reps))


def grad_tile(g, ans, x, reps):
    split = [v for d, r in zip(x.shape, reps) for v in (r, d)]
    return np.sum(g.reshape(split), axis=tuple(range(0, 2 * x.ndim, 2)))


def _repeat_shape(in_shapes, repeats, axis=-1):
    (shape,) = in_shapes
    ax = _axis_of(shape, axis)
    if not _int(repeats) or repeats < 1:
        raise ShapeError(f"repeats must be a positive integer, got {repeats!r}")
    return _replace(shape, ax, shape[ax] * repeats)


def grad_repeat(g, ans, x, repeats, axis=-1):
    gl = _last(g, axis)
    return _back(np.sum(gl.reshape(gl.shape[:-1] + (x.shape[axis], repeats)), axis=-1), axis)


# ---- registrations


def _moves(name, shape_rule, form, *, params, rule, simplicity, **facts):
    return Primitive(name, 1, "structural", shape_rule, form, form, params=params,
                     draw=Draw(simplicity=simplicity, rule=rule, ranks=lambda max_dims: (1, max_dims)), **facts)


def _last_axis(shape):
    return len(shape) - 1


register(_moves("take", _take_shape, take, params={"indices": REQUIRED, "axis": -1}, rule="take", simplicity=56,
                doc="gather along an axis: x[..., indices, ...], indices may repeat (the VJP scatter-adds)",
                vjp=(grad_take,), jvp=lambda ts, ans, x, indices, axis=-1: take(ts[0], indices, axis),
                # may repeat entries (repeated indices; repeats() does not see the params): ties by construction
                repeats=lambda args, in_shapes, shape: True,
                example=lambda shape: ([tuple(shape)], {"indices": [0, shape[-1] - 1, 0, min(1, shape[-1] - 1)],
                                                        "axis": _last_axis(shape)})))
register(Primitive("scatter_add", 1, "indexing", _scatter_shape, scatter_add, scatter_add,
                   params={"indices": REQUIRED, "size": REQUIRED, "axis": -1},
                   doc="zeros of length size along an axis, x's slices added at indices (repeats add up)",
                   vjp=(lambda g, ans, x, indices, size, axis=-1: take(g, indices, axis),),
                   jvp=lambda ts, ans, x, indices, size, axis=-1: scatter_add(ts[0], indices, size, axis),
                   rounding=lambda value, args, params: sum_of_terms(value, args, params, scatter_add),
                   repeats=lambda args, in_shapes, shape: True,  # zeros where no index lands, repeats summed
                   draw=Draw(simplicity=57, rule="scatter_add", ranks=lambda max_dims: (1, max_dims)),
                   example=lambda shape: ([tuple(shape)], {"indices": [i % 2 for i in range(shape[-1])],
                                                           "size": 3, "axis": _last_axis(shape)})))
register(_moves("flip", shapes.along_axis, lambda x, axis=-1: np.flip(x, axis=axis), params={"axis": -1},
                rule="along_axis", simplicity=58, doc="reverse the order along an axis",
                vjp=(lambda g, ans, x, axis=-1: np.flip(g, axis=axis),),
                jvp=lambda ts, ans, x, axis=-1: np.flip(ts[0], axis=axis),
                example=lambda shape: ([tuple(shape)], {"axis": _last_axis(shape)})))
register(_moves("roll", _roll_shape, lambda x, shift, axis=-1: np.roll(x, shift, axis=axis),
                params={"shift": REQUIRED, "axis": -1}, rule="roll", simplicity=59,
                doc="rotate the entries along an axis by shift places",
                vjp=(lambda g, ans, x, shift, axis=-1: np.roll(g, -shift, axis=axis),),
                jvp=lambda ts, ans, x, shift, axis=-1: np.roll(ts[0], shift, axis=axis),
                example=lambda shape: ([tuple(shape)], {"shift": 1, "axis": _last_axis(shape)})))
register(_moves("tile", _tile_shape, lambda x, reps: np.tile(x, tuple(reps)), params={"reps": REQUIRED}, rule="tile",
                simplicity=60, doc="repeat the whole array reps[i] times along axis i (the VJP sums the copies)",
                vjp=(grad_tile,), jvp=lambda ts, ans, x, reps: np.tile(ts[0], tuple(reps)),
                repeats=lambda args, in_shapes, shape: math.prod(shape) > math.prod(in_shapes[0]),
                example=lambda shape: ([tuple(shape)], {"reps": [2] + [1] * (len(shape) - 1)})))
register(_moves("repeat", _repeat_shape, lambda x, repeats, axis=-1: np.repeat(x, repeats, axis=axis),
                params={"repeats": REQUIRED, "axis": -1}, rule="repeat", simplicity=61,
                doc="repeat each entry repeats times along an axis (the VJP sums each entry's copies)",
                vjp=(grad_repeat,), jvp=lambda ts, ans, x, repeats, axis=-1: np.repeat(ts[0], repeats, axis=axis),
                repeats=lambda args, in_shapes, shape: math.prod(shape) > math.prod(in_shapes[0]),
                example=lambda shape: ([tuple(shape)], {"repeats": 2, "axis": _last_axis(shape)})))


# ---- pad: constant (zeros), reflect (mirror without repeating the edge), edge (repeat the edge entry)

PAD_MODES = ("constant", "reflect", "edge")


def _pad_shape(in_shapes, width, mode="constant"):
    (shape,) = in_shapes
    if len(shape) == 0:
        raise ShapeError("pad takes an operand of rank >= 1")
    if mode not in PAD_MODES:
        raise ShapeError(f"mode must be one of {PAD_MODES}, got {mode!r}")
    if not isinstance(width, (list, tuple)) or len(width) != len(shape) or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 and all(_int(v) and v >= 0 for v in w) for w in width):
        raise ShapeError(f"width must be one [before, after] pair of non-negative integers per axis, got {width!r}")
    for d, (b, a) in zip(shape, width):
        if mode == "reflect" and max(b, a) > 0 and max(b, a) > d - 1:
            raise ShapeError(f"reflect padding of {max(b, a)} needs an axis longer than that, got {d}")
        if mode == "edge" and d == 0 and b + a:
            raise ShapeError("edge padding of an empty axis")
    return tuple(d + b + a for d, (b, a) in zip(shape, width))


def pad(x, width, mode="constant"):
    width = [tuple(w) for w in width]
    if mode == "constant":
        if x.dtype == object:
            import mpmath

            return np.pad(x, width, mode="constant", constant_values=mpmath.mpf(0))
        return np.pad(x, width, mode="constant")
    return np.pad(x, width, mode=mode)


def _pad_source(d, b, a, mode):
    """For each position of the padded axis, the operand's index it copies (-1: a constant zero)."""
    k = np.arange(-b, d + a)
    if mode == "constant":
        return np.where((k >= 0) & (k < d), k, -1)
    if mode == "edge":
        return np.clip(k, 0, d - 1)
    k = np.abs(k)  # reflect
    return np.where(k >= d, 2 * (d - 1) - k, k)


def grad_pad(g, ans, x, width, mode="constant"):
    for axis, ((b, a), d) in enumerate(zip(width, x.shape)):
        if mode == "constant":
            g = np.take(g, np.arange(b, b + d), axis=axis) if b or a else g
        elif b or a:
            g = _scatter(g, _pad_source(d, b, a, mode), axis, d)
    return g


register(Primitive("pad", 1, "indexing", _pad_shape, pad, pad, params={"width": REQUIRED, "mode": "constant"},
                   doc="pad each axis by [before, after] entries: zeros (constant), a mirror image without the edge "
                       "entry (reflect) or copies of the edge entry (edge); the VJP adds the copies' cotangents",
                   vjp=(grad_pad,), jvp=lambda ts, ans, x, width, mode="constant": pad(ts[0], width, mode),
                   props=lambda a, params, shapes: set() if params["mode"] == "constant" else set(a[0]),
                   repeats=lambda args, in_shapes, shape: math.prod(shape) > math.prod(in_shapes[0]),
                   draw=Draw(simplicity=62, rule="pad", ranks=lambda max_dims: (1, min(max_dims, 3))),
                   example=lambda shape: ([tuple(shape)], {"width": [[1, 1]] * (len(shape) - 1) + [[2, 1]],
                                                           "mode": "reflect"})))
