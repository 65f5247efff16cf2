"""The tinygrad dialect: each catalogue primitive written with tinygrad's own ``Tensor`` API (tinygrad 0.14).

Every template renders the primitive as the catalogue defines it (NumPy's semantics) with the method a tinygrad user
calls. Three are short compositions of tinygrad methods, written as a tinygrad user writes them, because tinygrad has
no method of that name: ``trace`` (``x.diagonal().sum()``), ``outer`` (``Tensor.einsum('i,j->ij', a, b)``) and
``scatter_add`` (``Tensor.zeros(...).scatter_reduce(axis, index, x, reduce='sum')``); their derivative is tinygrad's
autodiff of that composition. The primitives tinygrad has no method for are left out (:data:`UNSUPPORTED`, each with
its reason), rather than rendered as a composition of ours, which would test our code, not tinygrad's.
"""

from __future__ import annotations

from advalidate.plugin import Dialect, VJPScript, call, key_source

__all__ = ["TINYGRAD", "OPS", "UNSUPPORTED"]


def method(name: str):
    """``a.name(b, c)``: a ``Tensor`` method on the first operand."""
    return lambda a, p: f"{a[0]}.{name}({', '.join(a[1:])})"


def _axis(name: str, kw: str = "axis"):
    """``a.name(axis=axis)`` (``axis`` None: every axis)."""
    return lambda a, p: f"{a[0]}.{name}({kw}={p['axis']!r})"


def _transpose(a, p):
    axes = p["axes"]
    if axes is None:  # NumPy's default: the axes reversed
        return f"{a[0]}.permute(tuple(range({a[0]}.ndim - 1, -1, -1)))"
    return f"{a[0]}.permute({tuple(axes)!r})"


def _tile(a, p):
    """NumPy's ``tile`` is tinygrad's ``repeat`` (PyTorch's), with ``reps`` padded by ones to the operand's rank on the
    left, as NumPy pads them (tinygrad wants at least one per axis)."""
    reps = tuple(p["reps"])
    return f"{a[0]}.repeat((1,) * ({a[0]}.ndim - {len(reps)}) + {reps!r})"


def _take(a, p):
    """``np.take(x, indices, axis)``: tinygrad's advanced indexing by a list along that axis."""
    return f"{a[0]}[(slice(None),) * ({p['axis']} % {a[0]}.ndim) + ({list(p['indices'])!r},)]"


def _scatter_add(a, p):
    """The catalogue's scatter-add along an axis, as tinygrad's ``scatter_reduce(..., reduce='sum')`` into zeros of the
    result's shape, the indices broadcast along the other axes."""
    x, ax, size, idx = a[0], p["axis"], p["size"], list(p["indices"])
    axis = f"{ax} % {x}.ndim"
    return (f"Tensor.zeros(*[{size} if i == {axis} else s for i, s in enumerate({x}.shape)], dtype={x}.dtype)"
            f".scatter_reduce({axis}, Tensor({idx!r}).reshape([-1 if i == {axis} else 1 for i in range({x}.ndim)])"
            f".expand({x}.shape), {x}, reduce='sum')")


def _pad(a, p):
    """``Tensor.pad`` takes a (before, after) pair per axis, as NumPy's ``pad``; NumPy's ``edge`` is tinygrad's
    ``replicate``."""
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}[p["mode"]]
    return f"{a[0]}.pad({tuple(tuple(w) for w in p['width'])!r}, mode={mode!r})"


def _qr_sign(which: str):
    """``Tensor.qr`` with the factors' signs fixed as the primitives define them: R's rows and Q's columns negated
    where R's diagonal is negative."""
    def tpl(a, p):
        diag = "r.diagonal(dim1=-2, dim2=-1)"
        if which == "r":
            return f"(lambda q, r: ({diag} < 0).unsqueeze(-1).where(-r, r))(*{a[0]}.qr())"
        return f"(lambda q, r: ({diag} < 0).unsqueeze(-2).where(-q, q))(*{a[0]}.qr())"
    return tpl


OPS = {
    # ---- elementwise
    "neg": method("neg"), "square": method("square"), "sqrt": method("sqrt"), "exp": method("exp"),
    "log": method("log"), "sin": method("sin"), "cos": method("cos"), "tan": method("tan"), "tanh": method("tanh"),
    "sinh": method("sinh"), "cosh": method("cosh"), "arctan": method("atan"), "arcsinh": method("asinh"),
    "erf": method("erf"), "abs": method("abs"), "arcsin": method("asin"), "arccos": method("acos"),
    "arctanh": method("atanh"), "arccosh": method("acosh"), "exp2": method("exp2"), "log2": method("log2"),
    "log10": method("log10"), "reciprocal": method("reciprocal"), "rsqrt": method("rsqrt"),
    "int_pow": lambda a, p: f"{a[0]}.pow({int(p['n'])})",
    "sign": method("sign"), "floor": method("floor"), "round": method("round"),
    # ---- nn
    "sigmoid": method("sigmoid"), "softplus": method("softplus"), "relu": method("relu"),
    "softmax": _axis("softmax"), "log_softmax": _axis("log_softmax"),
    "gelu": lambda a, p: f"{a[0]}.gelu(approximate='none')",
    "gelu_tanh": lambda a, p: f"{a[0]}.gelu(approximate='tanh')",
    "silu": method("silu"), "mish": method("mish"), "elu": method("elu"), "selu": method("selu"),
    "leaky_relu": lambda a, p: f"{a[0]}.leaky_relu(neg_slope={p['slope']!r})",
    "softsign": method("softsign"), "relu6": method("relu6"), "hardtanh": method("hardtanh"),
    "clip": lambda a, p: f"{a[0]}.clip({p['lo']!r}, {p['hi']!r})",
    "log_sigmoid": method("logsigmoid"),
    "bce_with_logits": lambda a, p: f"{a[0]}.binary_crossentropy_logits({a[1]}, reduction='none')",
    # ---- binary
    "add": method("add"), "sub": method("sub"), "mul": method("mul"), "div": method("div"), "pow": method("pow"),
    "maximum": method("maximum"), "minimum": method("minimum"), "logaddexp": method("logaddexp"),
    "where": lambda a, p: f"({a[0]} > 0).where({a[1]}, {a[2]})",
    "fmod": method("fmod"), "remainder": method("mod"),
    # ---- reductions (axis None: every axis)
    "sum": _axis("sum"), "mean": _axis("mean"), "max": _axis("max"), "min": _axis("min"), "prod": _axis("prod"),
    "logsumexp": _axis("logsumexp"),
    "var": lambda a, p: f"{a[0]}.var(axis={p['axis']!r}, correction={p['ddof']!r})",
    "std": lambda a, p: f"{a[0]}.std(axis={p['axis']!r}, correction={p['ddof']!r})",
    # ---- linear algebra
    "matmul": method("matmul"),
    "svdvals": lambda a, p: f"{a[0]}.svd(full_matrices=False)[1]",
    "qr_r": _qr_sign("r"), "qr_q": _qr_sign("q"),
    "trace": lambda a, p: f"{a[0]}.diagonal().sum()",
    "tril": lambda a, p: f"{a[0]}.tril({p['k']})", "triu": lambda a, p: f"{a[0]}.triu({p['k']})",
    "outer": lambda a, p: f"Tensor.einsum('i,j->ij', {a[0]}, {a[1]})",
    "einsum": lambda a, p: f"Tensor.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- structural
    "transpose": _transpose,
    "reshape": lambda a, p: f"{a[0]}.reshape({tuple(p['shape'])!r})",
    "broadcast_to": lambda a, p: f"{a[0]}.expand({tuple(p['shape'])!r})",
    "index": lambda a, p: f"{a[0]}[{key_source(p['key'])}]",
    "concatenate": lambda a, p: f"{a[0]}.cat({''.join(x + ', ' for x in a[1:])}dim={p['axis']})",
    "stack": lambda a, p: f"{a[0]}.stack({''.join(x + ', ' for x in a[1:])}dim={p['axis']})",
    "diagonal": lambda a, p: f"{a[0]}.diagonal(offset={p['offset']})",
    "take": _take,
    "flip": lambda a, p: f"{a[0]}.flip({p['axis']!r})",
    "roll": lambda a, p: f"{a[0]}.roll({p['shift']!r}, {p['axis']!r})",
    "tile": _tile,
    "repeat": lambda a, p: f"{a[0]}.repeat_interleave({p['repeats']!r}, dim={p['axis']})",
    # ---- scans, sorting, indexing
    "cumsum": _axis("cumsum"), "cumprod": _axis("cumprod"),
    "cummax": lambda a, p: f"{a[0]}.cummax({p['axis']})[0]",
    "logcumsumexp": _axis("logcumsumexp"),
    "sort": lambda a, p: f"{a[0]}.sort(dim={p['axis']})[0]",
    "top_k": lambda a, p: f"{a[0]}.topk({p['k']})[0]",
    "argmax_take": lambda a, p: (f"{a[1]}.gather({p['axis']}, {a[0]}.argmax(axis={p['axis']}, keepdim=True))"
                                 f".squeeze({p['axis']})"),
    "scatter_add": _scatter_add, "pad": _pad,
}

_NO_METHOD = "tinygrad 0.14's Tensor has no {what}"
UNSUPPORTED = {
    "expm1": _NO_METHOD.format(what="expm1 (x.exp() - 1 cancels near 0: it is not expm1)"),
    "log1p": _NO_METHOD.format(what="log1p ((1 + x).log() rounds x away near 0: it is not log1p)"),
    "cbrt": _NO_METHOD.format(what="cube root"),
    "gammaln": _NO_METHOD.format(what="lgamma"), "digamma": _NO_METHOD.format(what="digamma"),
    "erfc": _NO_METHOD.format(what="erfc (1 - x.erf() cancels for large x: it is not erfc)"),
    "erfinv": _NO_METHOD.format(what="erfinv"), "logit": _NO_METHOD.format(what="logit"),
    "i0e": _NO_METHOD.format(what="Bessel function"), "i1e": _NO_METHOD.format(what="Bessel function"),
    "log1mexp": _NO_METHOD.format(what="log1mexp"),
    "hypot": _NO_METHOD.format(what="hypot"), "atan2": _NO_METHOD.format(what="atan2"),
    "xlogy": _NO_METHOD.format(what="xlogy"), "xlog1py": _NO_METHOD.format(what="xlog1py"),
    "norm": _NO_METHOD.format(what="norm"),
    "solve": _NO_METHOD.format(what="linear solve (no LU factorisation in tinygrad)"),
    "triangular_solve": _NO_METHOD.format(what="triangular solve"),
    "inv": _NO_METHOD.format(what="matrix inverse"), "det": _NO_METHOD.format(what="determinant"),
    "slogdet": _NO_METHOD.format(what="log-determinant"), "cholesky": _NO_METHOD.format(what="Cholesky factorisation"),
    "eigvalsh": _NO_METHOD.format(what="eigendecomposition"),
    "sqrtm": _NO_METHOD.format(what="matrix square root (nor an eigendecomposition to build one)"),
    "kron": _NO_METHOD.format(what="kron"), "tensordot": _NO_METHOD.format(what="tensordot"),
}
"""The catalogue primitives tinygrad has no method for, with the reason."""

_VJP = '''def vjp(f, xs, vs):
    """Tensor.gradient of <vs, f(xs)> (one backward pass over every output) on tinygrad's {device} device."""
    # a 0-d array would be a constant UOp, and two equal ones the same UOp: a 1-element buffer reshaped to ()
    tensor = lambda x: Tensor(x) if x.ndim else Tensor(x.reshape(1)).reshape(())
    xs = [tensor(x) for x in xs]
    vs = [tensor(v) for v in vs]
    outputs = f(*xs)
    grads = sum((o * v).sum() for o, v in zip(outputs, vs)).gradient(*xs)
    Tensor.realize(*outputs, *grads)
    return [o.numpy() for o in outputs], [g.numpy() for g in grads]
'''

_OPERATIONS = '''def operations(f, xs, vs):
    """The kernels tinygrad schedules for forward plus VJP: each kernel's ops, as tinygrad's own UOps."""
    tensor = lambda x: Tensor(x) if x.ndim else Tensor(x.reshape(1)).reshape(())
    xs = [tensor(x) for x in xs]
    vs = [tensor(v) for v in vs]
    outputs = f(*xs)
    grads = sum((o * v).sum() for o, v in zip(outputs, vs)).gradient(*xs)
    for call in Tensor.schedule_linear(*outputs, *grads).src:
        print(call.src[0])
'''


def _vjp(backend) -> str:
    return _VJP.format(device=getattr(backend, "device", "CPU"))


SCRIPT = VJPScript(
    requires="tinygrad (and a C compiler, clang, for its CPU device)",
    imports="from tinygrad import Tensor, dtypes",
    vjp=_vjp, describe="Tensor.gradient", version="__import__('tinygrad').__version__",
    operations=lambda backend: _OPERATIONS)

TINYGRAD = Dialect("tinygrad", "from tinygrad import Tensor, dtypes", OPS, SCRIPT)
