"""Count NumPy work by observing it: a counting ndarray subclass sees every ufunc call.

The unit-cost model (shared by every backend's counter):
- an elementwise op costs the number of elements it produces;
- a reduction costs the number of elements it reads, the ufunc ones (``sum``, ``max``…) and the others
  (``argmax``, ``argmin``, ``nonzero``, ``count_nonzero``) alike; a scan (``cumsum``, ``maximum.accumulate``)
  the elements it reads times its combining op's weight (``logaddexp.accumulate``: 4 per element);
- a sort, an argsort and a gather (``take``, ``take_along_axis``) cost the elements they produce (moves; a
  sort's comparisons are not counted), a scatter-add (``np.add.at``) the elements it adds (its values);
- with ``where=``, only the selected elements count (produced by an elementwise op, read by a reduction);
- a matrix product costs 2·m·n·k;
- a factorisation of an n×n matrix its usual flop count, charged as a whole (``_OPAQUE``): LU 2n³/3 (a solve adds
  2n² per right-hand side column, an inverse costs 2n³, a determinant n more), Cholesky n³/3, a symmetric
  eigensolver 9n³ with eigenvectors and 4n³/3 without, an SVD with U and V 21n³ and 8n³/3 without, a Householder
  QR 4n³/3 for R and as much again for the thin Q;
- data movement that materialises a new array (copy, concatenate, stack, where) costs the elements produced;
- views (reshape, transpose, basic slicing, broadcasting views) cost nothing.
Transcendental functions weigh 1 like any other elementwise op (unit weights). A ufunc that is a
composite of elementary functions counts as its composition (``COMPOSITES``): every libm computes
``pow(a, b)`` as ``exp(b·log a)``, and a one-call ``logaddexp`` is four elementary steps.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

__all__ = ["Counter", "counting", "CountingArray", "CallCounter", "wrap", "unwrap", "charge", "triangular_solve_work"]


class Counter:
    def __init__(self):
        self.work = 0

    def add(self, work: int):
        self.work += int(work)


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


@contextlib.contextmanager
def _uncounted():
    """Run a function whose work is charged as a whole without charging the ufuncs it calls inside."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def _selected(where, shape) -> int:
    """How many of the elements of ``shape`` a ``where=`` mask selects (all of them without a mask)."""
    if where is None or where is True:
        return max(int(np.prod(shape)), 1)
    return int(np.count_nonzero(np.broadcast_to(where, shape)))


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
# functions charged as a whole, their inner calls uncounted: some convert their operand with asarray, so the
# subclass never sees their ufuncs; others reduce in C without a ufunc (count_nonzero without an axis)
_OPAQUE = {
    np.linalg.norm: lambda x, result: 2 * int(np.size(x)) + max(int(np.size(result)), 1),  # x·x, Σ, sqrt
    np.count_nonzero: lambda x, result: max(int(np.size(x)), 1),  # reads every element
    # ---- issue 16: linear algebra factorisations and solves (LAPACK runs on a plain copy: charged as a whole)
    np.linalg.solve: lambda a, result: lu_work(a) + 2 * _side(a) * int(np.size(result)),  # LU, two triangular solves
    np.linalg.inv: lambda a, result: 2 * _side(a) ** 3,  # LU 2n³/3, then the inverse from it 4n³/3
    np.linalg.det: lambda a, result: lu_work(a) + _side(a),  # LU, the product of the pivots
    np.linalg.slogdet: lambda a, result: lu_work(a) + 2 * _side(a),  # LU, the sum of the pivots' logs
    np.linalg.cholesky: lambda a, result: -(-_side(a) ** 3 // 3),  # n³/3
    np.linalg.eigh: lambda a, result: 9 * _side(a) ** 3,  # symmetric QR with eigenvectors (Golub, Van Loan §8.3)
    np.linalg.eigvalsh: lambda a, result: -(-4 * _side(a) ** 3 // 3),  # tridiagonalisation, eigenvalues only
    np.linalg.svd: lambda a, result: 21 * _side(a) ** 3,  # Golub-Reinsch with U and V (Golub, Van Loan §8.6)
}
# ---- issue 16: scans, sorting, indexing, statistics: sorts, argsorts and gathers run in C without a ufunc; each
# costs the elements it produces (a sort is charged as a move, its comparisons not counted, as by every counter)
_OPAQUE.update({f: (lambda x, result: max(int(np.size(result)), 1))
                for f in (np.sort, np.argsort, np.take_along_axis, np.take, np.roll, np.tile, np.repeat, np.pad)})


# ---- issue 16: structural linear algebra. Contractions NumPy runs in C without a ufunc (charged as a whole,
# from all their arguments): a product of two operands costs 2 per term of its sum, 2·(elements produced)·(product
# of the contracted lengths) (as ``matmul``); ``einsum`` costs 2·(product of every letter's length) with two operands,
# the elements read with one operand that sums a letter away, and nothing with one that sums nothing (NumPy returns
# a view: a transpose, a diagonal); ``trace`` reads the diagonal's elements; ``outer`` produces its elements.


def _size_of(x) -> int:
    return int(np.size(x))


def _dot_work(a, b, *rest, result=None, **kw) -> int:
    k = np.shape(a)[-1] if np.ndim(a) and np.ndim(b) else 1
    return 2 * k * max(_size_of(result), 1)


def _tensordot_work(a, b, axes=2, *, result=None) -> int:
    shape = np.shape(a)
    contracted = range(len(shape) - axes, len(shape)) if isinstance(axes, (int, np.integer)) else axes[0]
    contracted = [contracted] if isinstance(contracted, (int, np.integer)) else contracted
    return 2 * max(_size_of(result), 1) * int(np.prod([shape[i] for i in contracted], dtype=np.int64))


def _einsum_work(spec, *operands, result=None, **kw) -> int:
    ins, _, out = str(spec).partition("->")
    sizes = {}
    for subs, x in zip(ins.split(","), operands):
        sizes.update(zip(subs, np.shape(x)))
    every = int(np.prod([sizes[c] for c in sizes], dtype=np.int64))
    if len(operands) >= 2:
        return 2 * max(every, 1) * (len(operands) - 1)
    return max(every, 1) if set(ins) - set(out) - {","} else 0


def _trace_work(x, *rest, result=None, **kw) -> int:
    return max(min(np.shape(x)[-2:]), 1)


def _outer_work(a, b, *rest, result=None, **kw) -> int:
    return max(_size_of(result), 1)  # one product per element (np.outer strips the subclass before multiplying)


_CONTRACTIONS = {np.dot: _dot_work, np.tensordot: _tensordot_work, np.einsum: _einsum_work, np.trace: _trace_work,
                 np.outer: _outer_work}


# ---- issue 16: singular values and QR, by the operand's sides p >= k (Golub and Van Loan §5.2, §5.4.5, §8.6):
# Householder QR 2pk² - 2k³/3 for R and as much again for the thin Q (np.linalg.qr's default mode returns both,
# mode "r" R alone); an SVD's values alone 4pk² - 4k³/3, with U and V 4p²k + 8pk² + 9k³ (a thin U: at most
# 14pk² + 8k³). Told apart by the result: a tuple when the other factors were computed.


def _sides(a) -> tuple[int, int]:
    m, n = (int(d) for d in np.shape(a)[-2:])
    return max(m, n), min(m, n)


def qr_work(a, with_q: bool = True) -> int:
    """The unit cost of a Householder QR of ``a`` (its last two axes): R, and the thin Q when ``with_q``."""
    p, k = _sides(a)
    return (2 if with_q else 1) * -(-(6 * p * k * k - 2 * k ** 3) // 3)


def svd_work(a, with_uv: bool = True, thin: bool = False) -> int:
    """The unit cost of an SVD of ``a`` (its last two axes): the singular values, and U and V when ``with_uv``."""
    p, k = _sides(a)
    if not with_uv:
        return -(-(12 * p * k * k - 4 * k ** 3) // 3)
    full = 4 * p * p * k + 8 * p * k * k + 9 * k ** 3
    return min(full, 14 * p * k * k + 8 * k ** 3) if thin else full


def _batch_of(a) -> int:
    return int(np.prod(np.shape(a)[:-2], dtype=np.int64)) if np.ndim(a) > 2 else 1


def _np_svd_work(a, result) -> int:
    if not isinstance(result, tuple):
        return _batch_of(a) * svd_work(a, with_uv=False)
    u = result[0]
    return _batch_of(a) * svd_work(a, thin=np.shape(u)[-1] < np.shape(u)[-2])


_OPAQUE.update({
    np.linalg.svd: _np_svd_work,
    np.linalg.qr: lambda a, result: _batch_of(a) * qr_work(a, with_q=isinstance(result, tuple)),
})


def _side(a) -> int:
    return int(np.shape(a)[-1]) if np.ndim(a) else 1


def triangular_solve_work(a, b) -> int:
    """The unit cost of solving the n×n triangular ``a`` for the right-hand side ``b``: n² per column of ``b``
    (n per element), as the jaxpr and dispatch counters charge it."""
    return _side(a) * max(int(np.size(b)), 1)


def charge(work: int) -> None:
    """Charge ``work`` to the current counter (if any): for a counter's extension that observes a call NumPy does
    not dispatch (a SciPy LAPACK wrapper)."""
    _charge(work)


def lu_work(a) -> int:
    """The unit cost of an LU factorisation of the n×n ``a``: 2n³/3 (rounded up)."""
    return -(-2 * _side(a) ** 3 // 3)


class CountingArray(np.ndarray):
    """An ndarray whose ufunc calls and materialising moves are charged to the current counter."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raw = [unwrap(x) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(unwrap(x) for x in out)
        if "where" in kwargs:  # a counting mask left in place would dispatch back here, forever
            kwargs["where"] = unwrap(kwargs["where"])
        result = getattr(ufunc, method)(*raw, **kwargs)
        _charge(_ufunc_work(ufunc, method, raw, kwargs.get("where"), result))
        if out is None:
            return _rewrap(result)
        # NumPy's convention: the outputs given are the objects returned
        results = result if isinstance(result, tuple) else (result,)
        given = tuple(o if o is not None else _rewrap(r) for o, r in zip(out, results))
        return given if isinstance(result, tuple) else given[0]

    def __array_function__(self, func, types, args, kwargs):
        if func in _OPAQUE:
            with _uncounted():
                result = super().__array_function__(func, types, args, kwargs)
            _charge(_OPAQUE[func](args[0], result))
        elif func in _CONTRACTIONS:  # ---- issue 16: structural linear algebra
            with _uncounted():
                result = super().__array_function__(func, types, args, kwargs)
            _charge(_CONTRACTIONS[func](*args, result=result, **kwargs))
        else:
            result = super().__array_function__(func, types, args, kwargs)
            if func in _MOVES:
                _charge(int(np.size(result)))
        return _rewrap(result)  # keep observing what is computed from the result (np.concatenate drops subclasses)

    # reductions NumPy runs in C without a ufunc; np.argmax(x) and friends call these methods
    def argmax(self, *args, **kwargs):
        _charge(max(self.size, 1))
        return super().argmax(*args, **kwargs)

    def argmin(self, *args, **kwargs):
        _charge(max(self.size, 1))
        return super().argmin(*args, **kwargs)

    def nonzero(self):
        _charge(max(self.size, 1))
        return super().nonzero()


def _ufunc_work(ufunc, method, raw, where, result) -> int:
    if method == "__call__":
        if ufunc is np.matmul:
            return _matmul_work(raw[0], raw[1], result)
        outs = result if isinstance(result, tuple) else (result,)
        return COMPOSITES.get(ufunc, 1) * sum(_selected(where, np.shape(o)) for o in outs)
    if method == "accumulate":  # a scan: the elements it reads, each combined by the ufunc (a composite weighs more)
        return COMPOSITES.get(ufunc, 1) * _selected(where, np.shape(raw[0]))
    if method in ("reduce", "reduceat"):
        return _selected(where, np.shape(raw[0]))
    if method == "at" and len(raw) >= 3:  # a scatter (np.add.at(target, indices, values)): the values it adds
        return max(int(np.size(raw[2])), 1)
    # outer, at: elements produced or touched
    return max(int(np.size(result if result is not None else raw[0])), 1)


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


class CallCounter:
    """``f`` with a count of how many times it ran: each run of the traced function is one forward pass."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *args):
        self.n += 1
        return self.f(*args)
