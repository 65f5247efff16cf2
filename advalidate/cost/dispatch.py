"""Count PyTorch work by observing aten ops: a ``TorchDispatchMode`` around the forward, another around the
VJP (forward under autograd plus ``torch.autograd.grad``). On CPU every op, backward ones included, runs
on the calling thread, so the mode sees all of them.

Weights follow the unit-cost model of :mod:`advalidate.counting` (elements produced for elementwise ops,
elements read for reductions, 2·m·n·k for products). Ops are known by their overload packet's name
(in-place variants like ``masked_fill_`` weigh as their functional form).

``FREE``: views, dtype casts, fills and allocations, and the zero-filled scatter of a slice's cotangent
(NumPy does these with a view, a broadcast or an assignment): ``detach``, ``t``, ``view``, ``expand``,
``alias``, ``permute``, ``slice``, ``select``, ``slice_backward``, ``zeros``, ``scalar_tensor``, ...

``FUSED``: one aten kernel that computes several elementary operations, weighted per element by what it
computes (the formula it implements, beta = 1 and threshold tests included):

=============================== ================================================= ==========
kernel                          computes                                          weight
=============================== ================================================= ==========
tanh_backward(g, y)             g·(1 − y²)                                        3 / elt
sigmoid_backward(g, y)          g·y·(1 − y)                                       3 / elt
threshold_backward(g, x, t)     x > t ? g : 0                                     2 / elt
softplus_backward(g, x)         x > 20 ? g : g·e^x / (e^x + 1)                    6 / elt
hardtanh_backward(g, x)         lo < x < hi ? g : 0                               3 / elt
silu_backward(g, x)             s = σ(x); g·s·(1 + x·(1 − s))                     8 / elt
gelu_backward(g, x)             g·(Φ(x) + x·φ(x)) (erf form)                      9 / elt
_softmax_backward_data(g, y)    y·(g − Σ g·y)                                     4 / input elt
_log_softmax_backward_data      g − e^y·Σ g                                       4 / input elt
softplus(x)                     x > 20 ? x : log1p(e^x)                           4 / elt
_softmax(x)                     e^(x − max) / Σ                                   5 / input elt
_log_softmax(x)                 x − max − log Σ e^(x − max)                       5 / input + 1 / output
logsumexp(x)                    max + log Σ e^(x − max)                           4 / input + 2 / output
linalg_vector_norm(x)           sqrt(Σ x²)                                        2 / input + 1 / output
mean(x)                         Σ x / n                                           1 / input + 1 / output
pow(a, b), atan2, hypot,        as ``counting.COMPOSITES``: exp(b·log a) = 3,     3, 2, 4, 4
logaddexp                       arctan(y/x) = 2, hypot 4, logaddexp 4
pow(x, c) for a constant c      c = 2, 0.5, −1: one op; integer c: repeated       1–…, 3
                                squaring; any other c: 3
addmm / addmv / baddbmm         the product plus the added term                   2mnk + out
gelu(x)                         x·(1 + erf(x/√2))/2 (the tanh form alike)         5 / elt
silu(x)                         x / (1 + e^−x)                                    4 / elt
mish(x), mish_backward(g, x)    x·tanh(log1p(e^x)); g·(t + x·σ(x)·(1 − t²))       4, 10 / elt
elu(x), elu_backward            x > 0 ? s·x : s·α·(e^x − 1); the same test, e^x   4, 4 / elt
leaky_relu(x), its backward     x > 0 ? x : a·x; x > 0 ? g : a·g                  2, 2 / elt
hardtanh(x)                     min(max(x, lo), hi)                               2 / elt
logit(x), logit_backward        log(x / (1 − x)); g / (x·(1 − x))                 3, 3 / elt
special_xlog1py(x, y)           x·log1p(y), as xlogy                              2 / elt
log_sigmoid_forward(x)          min(x, 0) − log1p(e^−|x|) and its buffer e^−|x|  3 / elt of both outputs
log_sigmoid_backward(g, x, b)   g·(x < 0 ? 1 − b/(1 + b) : b/(1 + b)) sign-split  4 / elt
binary_cross_entropy_with_      (1 − y)·z + max(−z, 0) + log(e^−m + e^(−z−m))     8 / elt
logits(z, y)
=============================== ================================================= ==========

An op in no table is charged as elementwise (elements produced) and recorded in ``Tally.unknown``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..backends.contract import Work
from ..counting import CallCounter as _Calls
from .jaxpr import _integer_pow_weight

__all__ = ["FREE", "FUSED", "ALONG", "Tally", "op_work", "counting_ops", "count_work"]

FREE = frozenset({
    "detach", "t", "view", "_unsafe_view", "_reshape_alias", "reshape", "expand", "expand_as", "alias",
    "as_strided", "permute", "transpose", "unsqueeze", "squeeze", "select", "slice", "split", "split_with_sizes",
    "unbind", "narrow", "flip", "lift_fresh", "lift_fresh_copy", "_to_copy", "to", "_copy_from", "copy",
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like",
    "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like", "new_full", "fill", "zero",
    "scalar_tensor", "arange", "slice_backward", "select_backward", "expand_backward", "unsqueeze_backward",
    "squeeze_backward", "permute_backward", "view_as", "_local_scalar_dense", "set_", "resize_",
})
REDUCTIONS = frozenset({"sum", "amax", "amin", "max", "min", "prod", "cumsum", "cumprod", "argmax", "argmin",
                        "any", "all", "cummax", "cummin", "nansum"})
PRODUCTS = frozenset({"mm", "bmm", "mv", "dot", "vdot", "matmul", "outer", "addmm", "addmv", "baddbmm", "addbmm",
                      "addr"})
ELEMENTWISE = frozenset({
    "neg", "abs", "sgn", "sign", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos",
    "tan", "tanh", "sinh", "cosh", "atan", "asinh", "asin", "acos", "acosh", "atanh", "sigmoid", "erf", "erfc",
    "relu", "add", "sub", "rsub", "mul", "div", "maximum", "minimum", "clamp", "clamp_min", "clamp_max",
    "where", "masked_fill", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
    "isnan", "isinf", "isfinite", "cat", "stack", "clone", "contiguous", "square", "floor", "ceil", "round",
    "trunc", "exp2", "log2", "log10", "nan_to_num", "copysign", "heaviside", "index_select", "gather",
    "scatter_add", "index_add", "index_put", "slice_scatter", "select_scatter", "masked_scatter",
    # ---- issue 16: elementwise, activations, special functions
    "fmod", "remainder", "lgamma", "digamma", "polygamma", "erfinv", "bitwise_and",
    # ---- issue 16: bessel
    "special_i0e", "special_i1e",
})
# weight per element produced (elementwise kernels that fuse several operations, and composites)
FUSED = {
    "tanh_backward": 3, "sigmoid_backward": 3, "threshold_backward": 2, "softplus_backward": 6,
    "hardtanh_backward": 3, "silu_backward": 8, "gelu_backward": 9, "softplus": 4,
    "pow": 3, "atan2": 2, "hypot": 4, "logaddexp": 4, "xlogy": 2,
    # ---- issue 16: elementwise, activations, special functions
    "gelu": 5, "silu": 4, "mish": 4, "mish_backward": 10, "elu": 4, "elu_backward": 4, "leaky_relu": 2,
    "leaky_relu_backward": 2, "hardtanh": 2, "logit": 3, "logit_backward": 3, "special_xlog1py": 2,
    "log_sigmoid_forward": 3, "log_sigmoid_backward": 4, "binary_cross_entropy_with_logits": 8,
}
# (weight per input element, weight per output element) for kernels that reduce along a dimension
ALONG = {
    "_softmax_backward_data": (4, 0), "_log_softmax_backward_data": (4, 0), "_softmax": (5, 0),
    "_log_softmax": (5, 1), "logsumexp": (4, 2), "linalg_vector_norm": (2, 1), "norm": (2, 1), "mean": (1, 1),
}
# ---- issue 16: scans, sorting, indexing, statistics. logcumsumexp: a logaddexp per element (4); sort and topk:
# moves (the elements produced, values and indices; comparisons not counted); bitwise ops on masks and scatters:
# elementwise (elements produced)
FUSED.update({"logcumsumexp": 4})
# var and std (one kernel): mean, deviation, square, sum per input element (4), the division (and std's sqrt) per
# output element, as NumPy's np.var composes them
ALONG.update({"var": (4, 1), "std": (4, 2), "var_mean": (4, 2), "std_mean": (4, 3)})
# scatter-adds cost the elements they add (the position of that argument), as np.add.at and jax's scatter-add
SCATTERS = {"index_add": 3, "scatter_add": 3, "index_put": 2}
ELEMENTWISE = ELEMENTWISE | {"bitwise_and", "bitwise_not", "bitwise_or", "scatter", "sort", "topk", "take_along_dim",
                             "scatter_reduce", "index", "roll", "repeat", "repeat_interleave", "index_add",
                             "constant_pad_nd"} | {f"{kind}_pad{d}d{back}" for kind in ("reflection", "replication")
                                                   for d in (1, 2, 3) for back in ("", "_backward")}


# ---- issue 16: structural linear algebra. ``diagonal`` is a view and ``diagonal_backward`` the zero-filled scatter of
# its cotangent (as ``slice_backward``): free; ``tril``, ``triu`` select (elements produced). Ops whose work is not their output's size, by what they touch:
# ``trace`` reads the diagonal's min(m, n) elements; ``index_fill`` writes the filled slices (the index's length
# times the elements of one slice), as an assignment into an array (the rest of the array is untouched).
FREE = FREE | {"diagonal", "diagonal_backward"}
ELEMENTWISE = ELEMENTWISE | {"tril", "triu"}  # a select: the elements produced


def _index_fill_work(args, out) -> int:
    x, dim, index = args[0], args[1], args[2]
    return max(int(index.numel()) * (x.numel() // max(x.shape[dim], 1) if x.dim() else 1), 1)


TOUCHED = {"trace": lambda args, out: max(min(args[0].shape[-2:]), 1), "index_fill": _index_fill_work}


# ---- issue 16: linear algebra factorisations and solves: the unit costs of advalidate.counting (LU 2n³/3, a
# triangular solve n² per right-hand side column, an inverse 2n³, Cholesky n³/3, the symmetric eigensolver 9n³
# with eigenvectors and 4n³/3 without); _linalg_check_errors (reads the info flag) is free, tril/triu and
# diag_embed produce elements
def _n(t) -> int:
    return int(t.shape[-1]) if t.dim() else 1


def _lu(t) -> int:
    return -(-2 * _n(t) ** 3 // 3)


def _batch(t) -> int:
    return int(np.prod(t.shape[:-2])) if t.dim() > 2 else 1


LINALG = {
    "_linalg_solve_ex": lambda args: _batch(args[0]) * _lu(args[0]) + 2 * _n(args[0]) * args[1].numel(),
    "linalg_solve": lambda args: _batch(args[0]) * _lu(args[0]) + 2 * _n(args[0]) * args[1].numel(),
    "linalg_lu_solve": lambda args: 2 * _n(args[0]) * args[2].numel(),
    "linalg_lu_factor_ex": lambda args: _batch(args[0]) * _lu(args[0]),
    "linalg_inv_ex": lambda args: _batch(args[0]) * 2 * _n(args[0]) ** 3,
    "_linalg_det": lambda args: _batch(args[0]) * (_lu(args[0]) + _n(args[0])),
    "_linalg_slogdet": lambda args: _batch(args[0]) * (_lu(args[0]) + 2 * _n(args[0])),
    "linalg_cholesky_ex": lambda args: _batch(args[0]) * -(-_n(args[0]) ** 3 // 3),
    "linalg_solve_triangular": lambda args: _n(args[0]) * args[1].numel(),
    "triangular_solve": lambda args: _n(args[1]) * args[0].numel(),
    "_linalg_eigh": lambda args: _batch(args[0]) * (9 * _n(args[0]) ** 3 if (args[2] if len(args) > 2 else True)
                                                    else -(-4 * _n(args[0]) ** 3 // 3)),
}
FREE = FREE | {"_linalg_check_errors", "diagonal"}
ELEMENTWISE = ELEMENTWISE | {"tril", "triu", "diag_embed", "diagonal_scatter"}


# ---- issue 16: singular values and QR: the unit costs of advalidate.counting (qr_work, svd_work). Whether U and V
# (or Q) were computed is told by the result (empty tensors when not: the mode and compute_uv arguments are not
# passed when they are the defaults)
def _svd_op(args, out) -> int:
    from ..counting import svd_work

    a, u = args[0], out[0]
    if u.numel() == 0:
        return _batch(a) * svd_work(a, with_uv=False)
    return _batch(a) * svd_work(a, thin=u.shape[-1] < u.shape[-2])


def _qr_op(args, out) -> int:
    from ..counting import qr_work

    return _batch(args[0]) * qr_work(args[0], with_q=out[0].numel() > 0)


TOUCHED = {**TOUCHED, "_linalg_svd": _svd_op, "linalg_qr": _qr_op}


@dataclass
class Tally:
    """The work of the aten ops seen, by op name, and the names no table knows."""

    work: int = 0
    by_op: Counter = field(default_factory=Counter)
    unknown: set = field(default_factory=set)

    def charge(self, name: str, work: int):
        self.work += int(work)
        self.by_op[name] += int(work)


def _numel(x) -> int:
    import torch

    if isinstance(x, torch.Tensor):
        return x.numel()
    if isinstance(x, (tuple, list)):
        return sum(_numel(t) for t in x)
    return 0


def _pow_scalar_weight(c) -> int:
    c = float(c)
    if c in (0.5, -1.0, 1.0):
        return 1
    if c == -0.5:
        return 1  # rsqrt
    if c.is_integer():
        return _integer_pow_weight(int(c))
    return 3


def op_work(name: str, args, out) -> tuple[int, bool]:
    """The work of one aten op under the unit-cost model, and whether its name is in a table."""
    import torch

    produced = max(_numel(out), 1)
    if name in FREE:
        return 0, True
    if name in TOUCHED:
        return TOUCHED[name](args, out), True
    if name in LINALG:
        return int(LINALG[name](args)), True
    if name in PRODUCTS:
        a = args[1] if name in ("addmm", "addmv", "baddbmm", "addbmm", "addr") else args[0]
        k = a.shape[-1] if isinstance(a, torch.Tensor) and a.dim() else 1
        if name in ("outer", "addr"):
            k = 1
        return 2 * produced * k + (produced if name.startswith("add") else 0), True
    if name in ALONG:
        per_in, per_out = ALONG[name]
        return per_in * _numel(args[0]) + per_out * produced, True
    if name in REDUCTIONS and isinstance(args[0], torch.Tensor) and (len(args) > 1 or _numel(out) < args[0].numel()
                                                                     or name in ("sum", "amax", "amin", "prod")):
        return max(args[0].numel(), 1), True
    if name == "pow" and len(args) > 1 and not isinstance(args[1], torch.Tensor):
        return _pow_scalar_weight(args[1]) * produced, True
    if name == "pow" and not isinstance(args[0], torch.Tensor):
        return 3 * produced, True
    if name in SCATTERS and len(args) > SCATTERS[name] and isinstance(args[SCATTERS[name]], torch.Tensor):
        return max(_numel(args[SCATTERS[name]]), 1), True  # a scatter-add: the elements it adds
    if name in FUSED:
        return FUSED[name] * produced, True
    return produced, name in ELEMENTWISE or name in REDUCTIONS


def counting_ops(tally: Tally):
    """A TorchDispatchMode that adds the work of every aten op run inside it to ``tally``."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Counting(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            name = name[:-1] if name.endswith("_") and not name.startswith("_") else name
            work, known = op_work(name, args, out)
            tally.charge(name, work)
            if not known:
                tally.unknown.add(name)
            return out

    return _Counting()


def count_work(f, inputs, cotangents, vjp=None) -> Work:
    """The work of ``f`` alone (under ``no_grad``) and of ``vjp(f, xs, vs)``, from the aten ops they run.

    ``f`` takes tensors and returns a tuple of outputs; ``inputs`` and ``cotangents`` are NumPy arrays; ``vjp`` is the
    very function the backend runs for the values it checks (``torch_backend.reverse_mode``, ``forward_mode``, or a
    method of ``SECOND_ORDER``; default: ``reverse_mode``): the work is counted on that code, not on a copy.
    ``forward_passes`` is how many times ``f`` ran inside ``vjp``.
    """
    import torch

    if vjp is None:
        from ..backends.torch_backend import reverse_mode as vjp

    plain = [torch.from_numpy(np.array(x)) for x in inputs]
    forward = Tally()
    with torch.no_grad(), counting_ops(forward):
        f(*plain)
    xs = [torch.from_numpy(np.array(x)).requires_grad_(True) for x in inputs]
    vs = [torch.from_numpy(np.array(v)) for v in cotangents]
    both = Tally()
    counted = _Calls(f)
    with torch.enable_grad(), counting_ops(both):
        _, derivatives = vjp(counted, xs, vs)
    # what the counted run computed: advalidate checks that it is what the checked run computed (contract: work)
    values = [None if d is None else d.detach().numpy(force=True).copy() for d in derivatives]
    return Work(forward=forward.work, vjp=both.work, forward_passes=counted.n, values=values)
