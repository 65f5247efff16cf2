"""Shape rules: ``rule(shapes, **params) -> shape``, raising :class:`ShapeError` naming the problem."""

from __future__ import annotations

import math

import numpy as np

from .primitive import ShapeError

__all__ = ["broadcast", "same", "reduce", "reduce_nonempty", "along_axis", "matmul", "transpose", "reshape",
           "broadcast_to", "key_items", "index", "concatenate", "stack"]


def broadcast(shapes, **_):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"shapes {', '.join(map(str, shapes))} do not broadcast") from None


def same(shapes, **_):
    return tuple(shapes[0])


def _axis(shape, axis, allow_none=True):
    if axis is None:
        if not allow_none:
            raise ShapeError("axis must be an integer")
        return None
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeError(f"axis must be an integer or None, got {axis!r}")
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"axis {axis} is out of range for shape {tuple(shape)}")
    return axis % len(shape)


def reduce(shapes, axis=None):
    (shape,) = shapes
    ax = _axis(shape, axis)
    return () if ax is None else tuple(d for i, d in enumerate(shape) if i != ax)


def reduce_nonempty(shapes, axis=None):
    (shape,) = shapes
    ax = _axis(shape, axis)
    n = math.prod(shape) if ax is None else shape[ax]
    if n == 0:
        raise ShapeError(f"reduction over an empty axis of shape {tuple(shape)} has no identity")
    return reduce(shapes, axis)


def along_axis(shapes, axis=-1):
    (shape,) = shapes
    _axis(shape, axis, allow_none=False)
    if len(shape) and shape[axis] == 0:
        raise ShapeError(f"axis {axis} of shape {tuple(shape)} is empty")
    return tuple(shape)


def matmul(shapes):
    a, b = shapes
    if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
        raise ShapeError(f"matmul takes 1-D or 2-D operands, got shapes {tuple(a)} and {tuple(b)}")
    if a[-1] != b[0]:
        raise ShapeError(f"contraction dimensions differ: {tuple(a)} @ {tuple(b)} ({a[-1]} != {b[0]})")
    return tuple(a[:-1]) + tuple(b[1:])


def transpose(shapes, axes=None):
    (shape,) = shapes
    if axes is None:
        return tuple(reversed(shape))
    axes = tuple(axes)
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(f"axes {axes} are not a permutation of the {len(shape)} axes of {tuple(shape)}")
    return tuple(shape[i] for i in axes)


def _dims(shape, what):
    shape = tuple(shape)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ShapeError(f"{what} must be non-negative integers, got {shape}")
    return shape


def reshape(shapes, shape):
    (src,) = shapes
    shape = _dims(shape, "reshape shape")
    if math.prod(shape) != math.prod(src):
        raise ShapeError(f"cannot reshape {tuple(src)} ({math.prod(src)} elements) to {shape} ({math.prod(shape)})")
    return shape


def broadcast_to(shapes, shape):
    (src,) = shapes
    shape = _dims(shape, "broadcast_to shape")
    if len(shape) < len(src) or any(s not in (1, d) for s, d in zip(reversed(src), reversed(shape))):
        raise ShapeError(f"cannot broadcast {tuple(src)} to {shape}")
    return shape


def key_items(key):
    """Validate an index key: a list whose items are an int or a [start, stop, step] triple."""
    items = []
    for item in key:
        if isinstance(item, int) and not isinstance(item, bool):
            items.append(item)
        elif isinstance(item, (list, tuple)) and len(item) == 3 and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in item
        ):
            if item[2] == 0:
                raise ShapeError("slice step must not be zero")
            items.append(slice(*item))
        else:
            raise ShapeError(f"index key items are integers or [start, stop, step] triples, got {item!r}")
    return tuple(items)


def index(shapes, key):
    (shape,) = shapes
    items = key_items(key)
    if len(items) > len(shape):
        raise ShapeError(f"too many indices ({len(items)}) for shape {tuple(shape)}")
    out = []
    for item, d in zip(items, shape):
        if isinstance(item, int):
            if not -d <= item < d:
                raise ShapeError(f"index {item} is out of range for an axis of length {d}")
        else:
            out.append(len(range(*item.indices(d))))
    return tuple(out) + tuple(shape[len(items):])


def concatenate(shapes, axis=0):
    first = shapes[0]
    if len(first) == 0:
        raise ShapeError("cannot concatenate scalars")
    ax = _axis(first, axis, allow_none=False)
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != ax):
            raise ShapeError(f"shapes {', '.join(map(str, shapes))} differ off axis {axis}")
    return tuple(first[:ax]) + (sum(s[ax] for s in shapes),) + tuple(first[ax + 1:])


def stack(shapes, axis=0):
    first = shapes[0]
    if any(tuple(s) != tuple(first) for s in shapes):
        raise ShapeError(f"stack needs equal shapes, got {', '.join(map(str, shapes))}")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -len(first) - 1 <= axis <= len(first):
        raise ShapeError(f"axis {axis!r} is out of range for stacking shape {tuple(first)}")
    ax = axis % (len(first) + 1)
    return tuple(first[:ax]) + (len(shapes),) + tuple(first[ax:])
