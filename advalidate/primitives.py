"""The primitive catalogue: one entry per primitive.

An entry states the mathematics of a primitive, independently of any AD library:
its arity and static parameters, its shape rule, its float NumPy form, its mpmath form (used by the
oracle), where it is defined (``domain``) and where it is not differentiable (``kink``).

``domain(*args, **params)`` and ``kink(*args, **params)`` return a *gap* array: for ``domain`` the
point is inside the open domain where the gap is > 0; for ``kink`` the gap is the distance to the
nearest point where the primitive is not differentiable (0 on the kink or tie). Both work on float
arrays and on object arrays of mpmath numbers.

Backends map the same names to their own functions (see ``advalidate.render``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import mpmath
import numpy as np

from . import xp

__all__ = ["Primitive", "CATALOGUE", "FAMILIES", "get", "ShapeError"]


class ShapeError(ValueError):
    """A shape rule refused its operands; the message says why (the IR adds the node)."""


@dataclass(frozen=True)
class Primitive:
    name: str
    arity: int | None  # None: variadic (at least one argument)
    family: str  # elementwise, binary, reduction, linalg, structural, nn
    shape: Callable[..., tuple]  # shape(shapes: list[tuple], **params) -> tuple
    np: Callable[..., Any]  # float form: np(*arrays, **params) -> array of the same dtype
    mp: Callable[..., Any]  # mpmath form on object arrays of mpf
    params: dict = field(default_factory=dict)  # name -> default (params without default: required)
    domain: Callable[..., Any] | None = None
    kink: Callable[..., Any] | None = None
    doc: str = ""

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


REQUIRED = object()

# ---------------------------------------------------------------- shape rules


def _broadcast(shapes, **_):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"shapes {', '.join(map(str, shapes))} do not broadcast") from None


def _same(shapes, **_):
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


def _reduce(shapes, axis=None):
    (shape,) = shapes
    ax = _axis(shape, axis)
    return () if ax is None else tuple(d for i, d in enumerate(shape) if i != ax)


def _reduce_nonempty(shapes, axis=None):
    (shape,) = shapes
    ax = _axis(shape, axis)
    n = math.prod(shape) if ax is None else shape[ax]
    if n == 0:
        raise ShapeError(f"reduction over an empty axis of shape {tuple(shape)} has no identity")
    return _reduce(shapes, axis)


def _along_axis(shapes, axis=-1):
    (shape,) = shapes
    _axis(shape, axis, allow_none=False)
    if len(shape) and shape[axis] == 0:
        raise ShapeError(f"axis {axis} of shape {tuple(shape)} is empty")
    return tuple(shape)


def _matmul(shapes):
    a, b = shapes
    if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
        raise ShapeError(f"matmul takes 1-D or 2-D operands, got shapes {tuple(a)} and {tuple(b)}")
    if a[-1] != b[0]:
        raise ShapeError(f"contraction dimensions differ: {tuple(a)} @ {tuple(b)} ({a[-1]} != {b[0]})")
    return tuple(a[:-1]) + tuple(b[1:])


def _transpose(shapes, axes=None):
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


def _reshape(shapes, shape):
    (src,) = shapes
    shape = _dims(shape, "reshape shape")
    if math.prod(shape) != math.prod(src):
        raise ShapeError(f"cannot reshape {tuple(src)} ({math.prod(src)} elements) to {shape} ({math.prod(shape)})")
    return shape


def _broadcast_to(shapes, shape):
    (src,) = shapes
    shape = _dims(shape, "broadcast_to shape")
    if len(shape) < len(src) or any(s not in (1, d) for s, d in zip(reversed(src), reversed(shape))):
        raise ShapeError(f"cannot broadcast {tuple(src)} to {shape}")
    return shape


def _key_items(key):
    """Validate an index key: a list whose items are an int or a [start, stop, step] triple."""
    items = []
    for item in key:
        if isinstance(item, int) and not isinstance(item, bool):
            items.append(item)
        elif isinstance(item, (list, tuple)) and len(item) == 3 and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in item
        ):
            if item[2] is not None and item[2] <= 0:
                raise ShapeError(f"slice step must be positive, got {item[2]}")
            items.append(slice(*item))
        else:
            raise ShapeError(f"index key items are integers or [start, stop, step] triples, got {item!r}")
    return tuple(items)


def _index(shapes, key):
    (shape,) = shapes
    items = _key_items(key)
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


def _concatenate(shapes, axis=0):
    first = shapes[0]
    if len(first) == 0:
        raise ShapeError("cannot concatenate scalars")
    ax = _axis(first, axis, allow_none=False)
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != ax):
            raise ShapeError(f"shapes {', '.join(map(str, shapes))} differ off axis {axis}")
    return tuple(first[:ax]) + (sum(s[ax] for s in shapes),) + tuple(first[ax + 1:])


def _stack(shapes, axis=0):
    first = shapes[0]
    if any(tuple(s) != tuple(first) for s in shapes):
        raise ShapeError(f"stack needs equal shapes, got {', '.join(map(str, shapes))}")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -len(first) - 1 <= axis <= len(first):
        raise ShapeError(f"axis {axis!r} is out of range for stacking shape {tuple(first)}")
    ax = axis % (len(first) + 1)
    return tuple(first[:ax]) + (len(shapes),) + tuple(first[ax:])


# ---------------------------------------------------------------- mpmath helpers

NAN = mpmath.mpf("nan")


def _ew(fn, nin, domain=None):
    """An array-level mpmath form from a scalar one; NaN where the domain gap is not positive."""
    if domain is None:
        return np.frompyfunc(fn, nin, 1)
    guarded = np.frompyfunc(lambda ok, *a: fn(*a) if ok else NAN, nin + 1, 1)
    return lambda *args: guarded(domain(*args) > 0, *args)


_mp_exp = np.frompyfunc(mpmath.exp, 1, 1)
_mp_log = np.frompyfunc(mpmath.log, 1, 1)
_mp_sqrt = np.frompyfunc(mpmath.sqrt, 1, 1)


def _mp_sum(x, axis=None):
    return np.sum(x, axis=axis) + mpmath.mpf(0)  # np.sum of an empty object array is the int 0


def _mp_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.asarray(m + _mp_log(np.sum(_mp_exp(x - m), axis=axis, keepdims=True)), dtype=object)  # 0-d: an mpf
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))


def _mp_softmax(x, axis=-1):
    e = _mp_exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_logaddexp(a, b):
    m = max(a, b)
    return m + mpmath.log(mpmath.exp(a - m) + mpmath.exp(b - m))


# ---------------------------------------------------------------- float forms (dtype-preserving)

_erf = np.frompyfunc(math.erf, 1, 1)


def _np_erf(x):
    out = _erf(x)  # a ufunc: the work counter sees it
    # frompyfunc returns a Python float for 0-d input
    return out.astype(x.dtype) if isinstance(out, np.ndarray) else np.asarray(out, dtype=np.asarray(x).dtype)


def _np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(x, axis=-1):
    # (x - m) - log(sum(exp(x - m))), as jax and torch compute it: x - logsumexp(x) would round the large
    # logsumexp first (an error of u·|x|, 1e-13 at logits of 1000) and cancel it against x
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _norm(x, axis=None):
    return np.sqrt(np.sum(x * x, axis=axis))


def _mp_norm(x, axis=None):
    return _mp_sqrt(np.sum(x * x, axis=axis) + mpmath.mpf(0))


def _index_fn(x, key):
    return x[_key_items(key)]


def _relu(x):
    return np.maximum(x, 0)


def _where(p, x, y):
    return np.where(p > 0, x, y)


# ---------------------------------------------------------------- gap functions (domain and kinks)


def _positive(x, *_):
    return x


def _abs_arg(x, *_):
    return np.abs(x)


def _tie(a, b):
    return np.abs(a - b)


def _second(a, b):
    return b


def _second_abs(a, b):
    return np.abs(b)


def _tan_domain(x):
    return np.abs(xp.cos(x))


def _atan2_domain(y, x):
    # atan2 jumps across the negative x axis (y = 0, x < 0) and is singular at the origin
    return np.where(x > 0, np.abs(x) + np.abs(y), np.abs(y))


def _hypot_kink(a, b):
    return np.maximum(np.abs(a), np.abs(b))


def _where_kink(p, x, y):
    return np.abs(p) + 0 * (x + y)


def _max_kink(x, axis=None):
    """Gap between the largest and second largest entries of each reduced slice (0 on a tie)."""
    flat = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
    if flat.shape[-1] < 2:
        return np.array([np.inf])
    ordered = np.sort(flat, axis=-1)
    return ordered[..., -1] - ordered[..., -2]


def _norm_kink(x, axis=None):
    return np.sqrt(np.sum(x * x, axis=axis)) if not xp.is_mp(x) else _mp_norm(x, axis)


# ---------------------------------------------------------------- the table

_E = "elementwise"
_B = "binary"


def _unary(name, npf, mpf, domain=None, kink=None, family=_E, doc=""):
    return Primitive(name, 1, family, _same, npf, _ew(mpf, 1, domain), domain=domain, kink=kink, doc=doc)


def _binary(name, npf, mpf, domain=None, kink=None, doc=""):
    return Primitive(name, 2, _B, _broadcast, npf, _ew(mpf, 2, domain), domain=domain, kink=kink, doc=doc)


_ENTRIES = [
    # --- elementwise, one argument
    _unary("neg", np.negative, lambda x: -x),
    _unary("square", np.square, lambda x: x * x),
    _unary("sqrt", np.sqrt, mpmath.sqrt, domain=_positive, doc="defined and smooth for x > 0"),
    _unary("exp", np.exp, mpmath.exp),
    _unary("expm1", np.expm1, mpmath.expm1),
    _unary("log", np.log, mpmath.log, domain=_positive),
    _unary("log1p", np.log1p, mpmath.log1p, domain=lambda x: 1 + x),
    _unary("sin", np.sin, mpmath.sin),
    _unary("cos", np.cos, mpmath.cos),
    _unary("tan", np.tan, mpmath.tan, domain=_tan_domain, doc="poles where cos(x) = 0"),
    _unary("tanh", np.tanh, mpmath.tanh),
    _unary("sinh", np.sinh, mpmath.sinh),
    _unary("cosh", np.cosh, mpmath.cosh),
    _unary("arctan", np.arctan, mpmath.atan),
    _unary("arcsinh", np.arcsinh, mpmath.asinh),
    _unary("sigmoid", _np_sigmoid, _mp_sigmoid, family="nn"),
    _unary("softplus", lambda x: np.logaddexp(0, x), lambda x: _mp_logaddexp(mpmath.mpf(0), x), family="nn"),
    _unary("erf", _np_erf, mpmath.erf),
    _unary("abs", np.abs, abs, kink=_abs_arg, doc="kink at 0"),
    _unary("relu", _relu, lambda x: x if x > 0 else mpmath.mpf(0), kink=_abs_arg, family="nn", doc="kink at 0"),
    # --- elementwise, two or three arguments (broadcasting)
    _binary("add", np.add, lambda a, b: a + b),
    _binary("sub", np.subtract, lambda a, b: a - b),
    _binary("mul", np.multiply, lambda a, b: a * b),
    _binary("div", np.divide, lambda a, b: a / b, domain=_second_abs, doc="pole at b = 0"),
    _binary("pow", np.power, mpmath.power, domain=lambda a, b: a, doc="positive base only"),
    _binary("maximum", np.maximum, max, kink=_tie, doc="tie at a = b"),
    _binary("minimum", np.minimum, min, kink=_tie, doc="tie at a = b"),
    _binary("logaddexp", np.logaddexp, _mp_logaddexp),
    _binary("hypot", np.hypot, mpmath.hypot, kink=_hypot_kink, doc="cone at the origin"),
    _binary("atan2", np.arctan2, mpmath.atan2, domain=_atan2_domain, doc="jump across y = 0, x < 0; singular at 0"),
    Primitive("where", 3, _B, _broadcast, _where, _ew(lambda p, x, y: x if p > 0 else y, 3),
              kink=_where_kink, doc="where(p > 0, x, y); a jump at p = 0; no derivative in p"),
    # --- reductions
    Primitive("sum", 1, "reduction", _reduce, np.sum, _mp_sum, params={"axis": None}),
    Primitive("mean", 1, "reduction", _reduce_nonempty, np.mean,
              lambda x, axis=None: _mp_sum(x, axis) / (x.size if axis is None else x.shape[axis]),
              params={"axis": None}),
    Primitive("max", 1, "reduction", _reduce_nonempty, np.max, np.max, params={"axis": None},
              kink=_max_kink, doc="tie between the two largest entries"),
    Primitive("logsumexp", 1, "reduction", _reduce_nonempty, _np_logsumexp, _mp_logsumexp, params={"axis": None}),
    Primitive("prod", 1, "reduction", _reduce, np.prod, lambda x, axis=None: np.prod(x, axis=axis) * mpmath.mpf(1),
              params={"axis": None}),
    Primitive("norm", 1, "reduction", _reduce, _norm, _mp_norm, params={"axis": None},
              kink=_norm_kink, doc="L2 norm; kink at the zero vector"),
    # --- linear algebra
    Primitive("matmul", 2, "linalg", _matmul, np.matmul, np.matmul, doc="1-D or 2-D operands"),
    # --- structural
    Primitive("transpose", 1, "structural", _transpose, lambda x, axes=None: np.transpose(x, axes),
              lambda x, axes=None: np.transpose(x, axes), params={"axes": None}),
    Primitive("reshape", 1, "structural", _reshape, lambda x, shape: np.reshape(x, tuple(shape)),
              lambda x, shape: np.reshape(x, tuple(shape)), params={"shape": REQUIRED}),
    Primitive("broadcast_to", 1, "structural", _broadcast_to,
              lambda x, shape: np.copy(np.broadcast_to(x, tuple(shape), subok=True)),
              lambda x, shape: np.broadcast_to(x, tuple(shape)).copy(), params={"shape": REQUIRED}),
    Primitive("index", 1, "structural", _index, _index_fn, _index_fn, params={"key": REQUIRED},
              doc="basic indexing: integers and [start, stop, step] slices with positive steps"),
    Primitive("concatenate", None, "structural", _concatenate, lambda *xs, axis=0: np.concatenate(xs, axis=axis),
              lambda *xs, axis=0: np.concatenate(xs, axis=axis), params={"axis": 0}),
    Primitive("stack", None, "structural", _stack, lambda *xs, axis=0: np.stack(xs, axis=axis),
              lambda *xs, axis=0: np.stack(xs, axis=axis), params={"axis": 0}),
    # --- neural-network compositions
    Primitive("softmax", 1, "nn", _along_axis, _np_softmax, _mp_softmax, params={"axis": -1}),
    Primitive("log_softmax", 1, "nn", _along_axis, _np_log_softmax,
              lambda x, axis=-1: x - _mp_logsumexp(x, axis=axis, keepdims=True), params={"axis": -1}),
]

CATALOGUE: dict[str, Primitive] = {p.name: p for p in _ENTRIES}
FAMILIES: dict[str, list[str]] = {}
for _p in _ENTRIES:
    FAMILIES.setdefault(_p.family, []).append(_p.name)


def get(name: str) -> Primitive:
    """The catalogue entry for ``name``; KeyError naming close matches when unknown."""
    try:
        return CATALOGUE[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(name), CATALOGUE, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise KeyError(f"unknown primitive {name!r}{hint}") from None


class numpy_forms:
    """The float forms that NumPy lacks, under readable names (used by rendered NumPy source)."""

    sigmoid = staticmethod(_np_sigmoid)
    softplus = staticmethod(CATALOGUE["softplus"].np)
    erf = staticmethod(_np_erf)
    relu = staticmethod(_relu)
    logsumexp = staticmethod(_np_logsumexp)
    norm = staticmethod(_norm)
    softmax = staticmethod(_np_softmax)
    log_softmax = staticmethod(_np_log_softmax)


def register(primitive: Primitive) -> Primitive:
    """Add ``primitive`` to the catalogue (the one registration catalogue entries and users' ops share).
    ValueError when its name is taken."""
    if primitive.name in CATALOGUE:
        raise ValueError(f"a primitive named {primitive.name!r} is already in the catalogue")
    CATALOGUE[primitive.name] = primitive
    FAMILIES.setdefault(primitive.family, []).append(primitive.name)
    return primitive
