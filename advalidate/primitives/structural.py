"""Structural primitives: they move entries and compute nothing (their results keep what their operands have)."""

from __future__ import annotations

import math

import numpy as np

from . import shapes
from .primitive import REQUIRED, Draw, Primitive
from .registry import register


def structural(name, shape_rule, form, *, simplicity, rule, params=None, ranks=None, rank_text=">= 1", **facts):
    """A structural primitive: the same form on float and on mpf object arrays."""
    return Primitive(name, None if rule in ("concatenate", "stack") else 1, "structural", shape_rule, form, form,
                     params=params or {}, draw=Draw(simplicity=simplicity, rule=rule, ranks=ranks, rank_text=rank_text),
                     **facts)


def index_fn(x, key):
    return x[shapes.key_items(key)]


def grad_index(g, ans, x, key):
    out = np.zeros_like(x)
    out[shapes.key_items(key)] = g
    return out


def grad_concatenate(g, ans, *xs, axis=0):
    bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return tuple(np.split(g, bounds, axis=axis))


def _transpose_back(g, ans, x, axes=None):
    return np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes))


def _grows(args, in_shapes, shape):
    return math.prod(shape) > math.prod(in_shapes[0])


def _repeated(args, in_shapes, shape):
    return len(set(args)) < len(args)


def _rank1(max_dims):
    return 1, max_dims


register(structural("transpose", shapes.transpose, lambda x, axes=None: np.transpose(x, axes), simplicity=22,
                    rule="transpose", params={"axes": None},
                    vjp=(_transpose_back,), jvp=lambda ts, ans, x, axes=None: np.transpose(ts[0], axes),
                    example=lambda shape: ([shape], {"axes": list(reversed(range(len(shape))))})))
register(structural("reshape", shapes.reshape, lambda x, shape: np.reshape(x, tuple(shape)), simplicity=21,
                    rule="reshape", params={"shape": REQUIRED},
                    vjp=(lambda g, ans, x, shape: np.reshape(g, x.shape),),
                    jvp=lambda ts, ans, x, shape: np.reshape(ts[0], tuple(shape)),
                    example=lambda shape: ([shape], {"shape": [shape[-1], *shape[:-1]]})))
register(structural("broadcast_to", shapes.broadcast_to,
                    lambda x, shape: np.copy(np.broadcast_to(x, tuple(shape), subok=True)), simplicity=24,
                    rule="broadcast_to", params={"shape": REQUIRED},
                    vjp=(lambda g, ans, x, shape: g,),  # the tape sums the broadcast dimensions away
                    jvp=lambda ts, ans, x, shape: np.broadcast_to(ts[0], tuple(shape)).copy(),
                    repeats=_grows, free_fan_out=True,
                    example=lambda shape: ([shape], {"shape": [2, *shape]})))
register(structural("index", shapes.index, index_fn, simplicity=23, rule="index", params={"key": REQUIRED},
                    ranks=_rank1, doc="basic indexing: integers and [start, stop, step] slices, steps positive or negative",
                    vjp=(grad_index,), jvp=lambda ts, ans, x, key: index_fn(ts[0], key), free_fan_out=True,
                    example=lambda shape: ([shape], {"key": [[0, max(1, shape[0] - 1), 1]]
                                                     + ([1] if len(shape) > 1 else [])})))
register(structural("concatenate", shapes.concatenate, lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                    simplicity=25, rule="concatenate", params={"axis": 0}, ranks=_rank1,
                    vjp=grad_concatenate,  # variadic: one rule returning every operand's cotangent
                    jvp=lambda ts, ans, *xs, axis=0: np.concatenate(ts, axis=axis), repeats=_repeated,
                    example=lambda shape: ([shape, shape], {"axis": len(shape) - 1})))
register(structural("stack", shapes.stack, lambda *xs, axis=0: np.stack(xs, axis=axis), simplicity=26,
                    rule="stack", params={"axis": 0}, ranks=lambda max_dims: (0, max_dims - 1),
                    rank_text="max_dims - 1 or less for its operands (the result gains an axis)",
                    vjp=lambda g, ans, *xs, axis=0: tuple(np.moveaxis(g, axis, 0)),
                    jvp=lambda ts, ans, *xs, axis=0: np.stack(ts, axis=axis), repeats=_repeated,
                    example=lambda shape: ([shape, shape], {"axis": min(1, len(shape))})))
