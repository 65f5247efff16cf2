"""Count NumPy work by observing it: a counting ndarray subclass sees every ufunc call.

The unit-cost model (shared by every backend's counter):
- an elementwise op costs the number of elements it produces;
- a reduction costs the number of elements it reads;
- a matrix product costs 2·m·n·k;
- data movement that materialises a new array (copy, concatenate, stack, where) costs the elements produced;
- views (reshape, transpose, basic slicing, broadcasting views) cost nothing.
Transcendental functions weigh 1 like any other elementwise op (unit weights). A ufunc that is a
composite of elementary functions counts as its composition (``COMPOSITES``): every libm computes
``pow(a, b)`` as ``exp(b·log a)``, and a one-call ``logaddexp`` is four elementary steps.
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import numpy as np

__all__ = ["Counter", "counting", "CountingArray", "wrap", "unwrap"]


class Counter:
    def __init__(self):
        self.work = 0
        self.ops = 0

    def add(self, work: int):
        self.work += int(work)
        self.ops += 1


_current: contextvars.ContextVar[Counter | None] = contextvars.ContextVar("advalidate_counter", default=None)


@contextlib.contextmanager
def counting(counter: Counter | None = None):
    """Count the work of CountingArray operations inside the block into ``counter``."""
    counter = counter or Counter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


def _charge(work):
    c = _current.get()
    if c is not None:
        c.add(work)


def _matmul_work(a, b, out) -> int:
    k = np.shape(a)[-1]
    return 2 * k * max(int(np.size(out)), 1)


COMPOSITES = {
    np.power: 3,  # exp(b * log(a))
    np.logaddexp: 4,  # m + log1p(exp(-|a - b|)): sub, exp, log1p, add
    np.arctan2: 2,  # arctan(y / x) with a quadrant fix
    np.hypot: 4,  # sqrt(a*a + b*b), scaled
}

_MOVES = {np.copy, np.concatenate, np.stack, np.where}
# functions that convert their operand with asarray, so the subclass never sees their ufuncs
_OPAQUE = {np.linalg.norm: lambda x, result: 2 * int(np.size(x)) + max(int(np.size(result)), 1)}  # x·x, Σ, sqrt


class CountingArray(np.ndarray):
    """An ndarray whose ufunc calls and materialising moves are charged to the current counter."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raw = [unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(unwrap(x) for x in kwargs["out"])
        result = getattr(ufunc, method)(*raw, **kwargs)
        if method == "__call__":
            if ufunc is np.matmul:
                _charge(_matmul_work(raw[0], raw[1], result))
            else:
                outs = result if isinstance(result, tuple) else (result,)
                weight = COMPOSITES.get(ufunc, 1)
                _charge(weight * sum(max(int(np.size(o)), 1) for o in outs))
        elif method in ("reduce", "accumulate", "reduceat"):
            _charge(max(int(np.size(raw[0])), 1))
        else:  # outer, at: elements produced or touched
            _charge(max(int(np.size(result if result is not None else raw[0])), 1))
        return _rewrap(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, types, args, kwargs)
        if func in _MOVES:
            _charge(int(np.size(result)))
        elif func in _OPAQUE:
            _charge(_OPAQUE[func](args[0], result))
        return _rewrap(result)  # keep observing what is computed from the result (np.concatenate drops subclasses)


def _rewrap(result):
    if isinstance(result, tuple):
        return tuple(_rewrap(r) for r in result)
    if isinstance(result, np.ndarray):
        return result.view(CountingArray)
    if isinstance(result, np.generic):
        return np.asarray(result).view(CountingArray)
    return result


def wrap(x) -> CountingArray:
    return np.asarray(x).view(CountingArray)


def unwrap(x):
    return x.view(np.ndarray) if isinstance(x, CountingArray) else x


def size(shape) -> int:
    return math.prod(shape)


class CallCounter:
    """``f`` with a count of how many times it ran: each run of the traced function is one forward pass."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *args):
        self.n += 1
        return self.f(*args)
