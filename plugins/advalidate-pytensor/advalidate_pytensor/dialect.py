"""The PyTensor dialect: each catalogue primitive written with PyTensor's own API (``pytensor.tensor`` as ``pt``,
``pt.special``, ``pt.linalg``).

A rendered function builds a symbolic graph: called on ``pt.tensor`` variables it returns the outputs' variables,
which the backend differentiates with ``pytensor.grad`` (and ``pytensor.gradient.pushforward``) and compiles with
``pytensor.function``.

Every template renders the primitive as the catalogue defines it (NumPy's semantics), with one PyTensor function (and
its constant operands, or a sign flip of its argument where PyTensor's convention differs: ``log1mexp``). A primitive
PyTensor has no function for is left out (:data:`UNSUPPORTED`, with the reason), rather than rendered as a composition
of ours, which would test our code, not PyTensor's.
"""

from __future__ import annotations

from advalidate.plugin import Dialect, VJPScript, call, contraction_axes, subscript, where_positive

__all__ = ["PYTENSOR", "OPS", "UNSUPPORTED", "PREAMBLE"]

PREAMBLE = ("import pytensor\nimport pytensor.tensor as pt\nimport pytensor.tensor.linalg\n"
            "import pytensor.tensor.special\n\npytensor.config.floatX = 'float64'")


def _axis(path: str, **extra):
    """``path(a, axis=axis, ...)`` (``axis`` None: every axis)."""
    more = "".join(f", {k}={v!r}" for k, v in extra.items())
    return lambda a, p: f"{path}({a[0]}, axis={p['axis']!r}{more})"


def _symmetric(x: str) -> str:
    """The symmetric part of ``x``, as the catalogue's cholesky, eigvalsh and sqrtm define their input."""
    return f"(({x} + {x}.T) / 2)"


def _moments(path: str):
    return lambda a, p: f"{path}({a[0]}, axis={p['axis']!r}, ddof={p.get('ddof') or 0!r})"


def _scatter_add(a, p):
    """The catalogue's scatter-add along an axis: ``pt.inc_subtensor`` of zeros (PyTensor's
    ``AdvancedIncSubtensor1``, which adds repeated indices up) with the axis moved first, then back."""
    x, axis, size = a[0], p["axis"], p["size"]
    moved = f"pt.moveaxis({x}, {axis}, 0)"
    return (f"pt.moveaxis(pt.inc_subtensor(pt.zeros(({size}, *{moved}.shape[1:]), dtype={x}.dtype)"
            f"[{list(p['indices'])!r}], {moved}), 0, {axis})")


def _pad(a, p):
    width = [tuple(w) for w in p["width"]]
    return f"pt.pad({a[0]}, {width!r}, mode={p['mode']!r})"


def _argmax_take(a, p):
    axis = p["axis"]
    return (f"pt.squeeze(pt.take_along_axis({a[1]}, pt.expand_dims(pt.argmax({a[0]}, axis={axis}), {axis}), "
            f"axis={axis}), axis={axis})")


def _tuple(v) -> str:
    return repr(tuple(v)) if v is not None else "None"


OPS = {
    # ---- elementwise
    "neg": call("pt.neg"), "square": call("pt.sqr"), "sqrt": call("pt.sqrt"), "exp": call("pt.exp"),
    "expm1": call("pt.expm1"), "log": call("pt.log"), "log1p": call("pt.log1p"), "sin": call("pt.sin"),
    "cos": call("pt.cos"), "tan": call("pt.tan"), "tanh": call("pt.tanh"), "sinh": call("pt.sinh"),
    "cosh": call("pt.cosh"), "arctan": call("pt.arctan"), "arcsinh": call("pt.arcsinh"), "erf": call("pt.erf"),
    "abs": call("pt.abs"), "arcsin": call("pt.arcsin"), "arccos": call("pt.arccos"), "arctanh": call("pt.arctanh"),
    "arccosh": call("pt.arccosh"), "exp2": call("pt.exp2"), "log2": call("pt.log2"), "log10": call("pt.log10"),
    "reciprocal": call("pt.reciprocal"),
    "int_pow": lambda a, p: f"pt.pow({a[0]}, {int(p['n'])})",
    "sign": call("pt.sign"), "floor": call("pt.floor"),
    "round": lambda a, p: f"pt.round({a[0]}, mode='half_to_even')",
    "gammaln": call("pt.gammaln"), "digamma": call("pt.digamma"), "erfc": call("pt.erfc"),
    "erfinv": call("pt.erfinv"), "logit": call("pt.special.logit"),
    # PyTensor's exponentially scaled Bessel function of the first kind, ive(v, x), at orders 0 and 1
    "i0e": lambda a, p: f"pt.ive(0, {a[0]})", "i1e": lambda a, p: f"pt.ive(1, {a[0]})",
    # PyTensor's log1mexp(x) is log(1 - exp(x)) for x < 0; the catalogue's is log(1 - exp(-x)) for x > 0
    "log1mexp": lambda a, p: f"pt.log1mexp(-{a[0]})",
    # ---- nn
    "sigmoid": call("pt.sigmoid"), "softplus": call("pt.softplus"),
    "softmax": _axis("pt.special.softmax"), "log_softmax": _axis("pt.special.log_softmax"),
    "clip": lambda a, p: f"pt.clip({a[0]}, {p['lo']!r}, {p['hi']!r})",
    # ---- binary
    "add": call("pt.add"), "sub": call("pt.sub"), "mul": call("pt.mul"), "div": call("pt.true_div"),
    "pow": call("pt.pow"), "maximum": call("pt.maximum"), "minimum": call("pt.minimum"),
    "logaddexp": call("pt.logaddexp"), "atan2": call("pt.arctan2"), "where": where_positive("pt.where"),
    "remainder": call("pt.mod"), "xlogy": call("pt.special.xlogy"), "xlog1py": call("pt.special.xlog1py"),
    # ---- reductions (axis None: every axis)
    "sum": _axis("pt.sum"), "mean": _axis("pt.mean"), "max": _axis("pt.max"), "min": _axis("pt.min"),
    "prod": _axis("pt.prod"), "logsumexp": _axis("pt.logsumexp"), "norm": _axis("pt.linalg.norm"),
    "var": _moments("pt.var"), "std": _moments("pt.std"),
    # ---- linear algebra
    "matmul": call("pt.matmul"),
    "solve": call("pt.linalg.solve"),
    "triangular_solve": lambda a, p: f"pt.linalg.solve_triangular({a[0]}, {a[1]}, lower={p['lower']!r})",
    "inv": call("pt.linalg.inv"), "det": call("pt.linalg.det"),
    "slogdet": lambda a, p: f"pt.linalg.slogdet({a[0]})[1]",
    "cholesky": lambda a, p: f"pt.linalg.cholesky({_symmetric(a[0])})",
    "eigvalsh": lambda a, p: f"pt.linalg.eigvalsh({_symmetric(a[0])})",
    "sqrtm": lambda a, p: (f"(lambda w, v: pt.matmul(v * pt.sqrt(w), v.T))"
                           f"(*pt.linalg.eigh({_symmetric(a[0])}))"),
    "svdvals": lambda a, p: f"pt.linalg.svd({a[0]}, compute_uv=False)",
    # the QR factors' signs fixed as the primitives define them: R's rows and Q's columns negated where R's diagonal
    # is negative
    "qr_r": lambda a, p: (f"(lambda q, r: pt.where((pt.diagonal(r) < 0)[:, None], -r, r))"
                          f"(*pt.linalg.qr({a[0]}, mode='reduced'))"),
    "qr_q": lambda a, p: (f"(lambda q, r: pt.where(pt.diagonal(r) < 0, -q, q))"
                          f"(*pt.linalg.qr({a[0]}, mode='reduced'))"),
    "trace": call("pt.trace"),
    "tril": lambda a, p: f"pt.tril({a[0]}, k={p['k']})", "triu": lambda a, p: f"pt.triu({a[0]}, k={p['k']})",
    "outer": call("pt.outer"), "kron": call("pt.linalg.kron"),
    "tensordot": lambda a, p: f"pt.tensordot({a[0]}, {a[1]}, axes={contraction_axes(p['axes'], list)})",
    "einsum": lambda a, p: f"pt.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- structural
    "transpose": lambda a, p: f"pt.transpose({a[0]}, {_tuple(p['axes'])})",
    "reshape": lambda a, p: f"pt.reshape({a[0]}, {_tuple(p['shape'])})",
    "broadcast_to": lambda a, p: f"pt.broadcast_to({a[0]}, {_tuple(p['shape'])})",
    "index": subscript,
    "concatenate": lambda a, p: f"pt.concatenate([{', '.join(a)}], axis={p['axis']})",
    "stack": lambda a, p: f"pt.stack([{', '.join(a)}], axis={p['axis']})",
    "diagonal": lambda a, p: f"pt.diagonal({a[0]}, offset={p['offset']})",
    "take": lambda a, p: f"pt.take({a[0]}, {list(p['indices'])!r}, axis={p['axis']})",
    "flip": lambda a, p: f"pt.flip({a[0]}, axis={p['axis']!r})",
    "roll": lambda a, p: f"pt.roll({a[0]}, {p['shift']!r}, axis={p['axis']!r})",
    "tile": lambda a, p: f"pt.tile({a[0]}, {_tuple(p['reps'])})",
    "repeat": lambda a, p: f"pt.repeat({a[0]}, {p['repeats']!r}, axis={p['axis']})",
    # ---- scans, sorting, indexing
    "cumsum": _axis("pt.cumsum"), "cumprod": _axis("pt.cumprod"), "sort": _axis("pt.sort"),
    "argmax_take": _argmax_take, "scatter_add": _scatter_add, "pad": _pad,
}

_NO_ACTIVATION = ("PyTensor 3.0 has no {} op: pytensor.tensor's activations are sigmoid, softplus, softmax and "
                  "log_softmax (Theano's nnet module, with relu and friends, is gone)")

UNSUPPORTED = {
    "rsqrt": "pytensor.tensor has no rsqrt op (1/sqrt(x) is two ops, reciprocal and sqrt, each checked)",
    "cbrt": "pytensor.tensor has no real cube-root op (pt.pow(x, 1/3) is NaN for x < 0)",
    "hypot": "pytensor.tensor has no hypot op",
    "fmod": "pytensor.tensor has no C fmod: pt.mod is Python's % (the sign of the divisor), the catalogue's remainder",
    "cummax": "pytensor.tensor has no cumulative maximum (its CumOp scans are cumsum and cumprod)",
    "logcumsumexp": "pytensor.tensor has no logcumsumexp (its CumOp scans are cumsum and cumprod)",
    "top_k": "PyTensor 3.0 has no top-k op (pytensor.tensor.sort has sort and argsort only)",
    "bce_with_logits": "PyTensor 3.0 has no binary cross-entropy op",
    "log_sigmoid": "PyTensor has no log_sigmoid op (its rewrites turn log(sigmoid(x)) into -softplus(-x), "
                   "ops checked on their own)",
    "relu": "PyTensor has no relu op: users write pt.maximum(x, 0), the catalogue's maximum, checked on its own",
    "relu6": "PyTensor has no relu6 op: it is pt.clip(x, 0, 6), the catalogue's clip, checked on its own",
    "hardtanh": "PyTensor has no hardtanh op: it is pt.clip(x, -1, 1), the catalogue's clip, checked on its own",
    **{name: _NO_ACTIVATION.format(name) for name in
       ("gelu", "gelu_tanh", "silu", "mish", "elu", "selu", "leaky_relu", "softsign")},
}
"""The catalogue primitives PyTensor has no function for, with the reason."""

_VJP = '''def vjp(f, xs, vs):
    """pytensor.grad of sum_i <vs_i, f_i> (every output at once; the cotangents are inputs of the compiled function),
    compiled by pytensor.function in mode {mode!r}, run at xs."""
    dtype = str(xs[0].dtype)
    x_vars = [pt.tensor(f"x{{i}}", dtype=dtype, shape=np.shape(x)) for i, x in enumerate(xs)]
    outputs = list(f(*x_vars))
    v_vars = [pt.tensor(f"c{{i}}", dtype=dtype, shape=np.shape(v)) for i, v in enumerate(vs)]
    cost = pt.add(*[(v * y).sum() for v, y in zip(v_vars, outputs)])
    grads = pytensor.grad(cost, x_vars, disconnected_inputs="ignore", return_disconnected="zero")
    fn = pytensor.function([*x_vars, *v_vars], [*outputs, *grads], mode={mode!r}, on_unused_input="ignore")
    values = fn(*xs, *vs)
    return values[:len(outputs)], values[len(outputs):]
'''

_JVP = '''def jvp(f, xs, ws):
    """pytensor.gradient.pushforward of f's symbolic graph along ws (PyTensor's default: two pullbacks), compiled by
    pytensor.function in mode {mode!r}, run at xs."""
    from pytensor.gradient import pushforward
    dtype = str(xs[0].dtype)
    x_vars = [pt.tensor(f"x{{i}}", dtype=dtype, shape=np.shape(x)) for i, x in enumerate(xs)]
    w_vars = [pt.tensor(f"w{{i}}", dtype=dtype, shape=np.shape(w)) for i, w in enumerate(ws)]
    outputs = list(f(*x_vars))
    tangents = pushforward(outputs, x_vars, w_vars, disconnected_outputs="ignore", return_disconnected="zero")
    fn = pytensor.function([*x_vars, *w_vars], [*outputs, *tangents], mode={mode!r}, on_unused_input="ignore")
    values = fn(*xs, *ws)
    return values[:len(outputs)], values[len(outputs):]
'''

_HVP = '''def hvp(f, xs, vs, us, method):
    """H_v·u, the Hessian of <vs, f> at xs times us: forward-over-reverse is pytensor.gradient.pushforward along us
    of pytensor.grad of <vs, f>; reverse-over-reverse is pytensor.grad of <us, that gradient>. Compiled by
    pytensor.function in mode {mode!r}."""
    from pytensor.gradient import pushforward
    dtype = str(xs[0].dtype)
    x_vars = [pt.tensor(f"x{{i}}", dtype=dtype, shape=np.shape(x)) for i, x in enumerate(xs)]
    v_vars = [pt.tensor(f"c{{i}}", dtype=dtype, shape=np.shape(v)) for i, v in enumerate(vs)]
    u_vars = [pt.tensor(f"u{{i}}", dtype=dtype, shape=np.shape(u)) for i, u in enumerate(us)]
    outputs = list(f(*x_vars))
    cost = pt.add(*[(v * y).sum() for v, y in zip(v_vars, outputs)])
    grads = pytensor.grad(cost, x_vars, disconnected_inputs="ignore", return_disconnected="zero")
    if method == "forward-over-reverse":
        hvps = pushforward(grads, x_vars, u_vars, disconnected_outputs="ignore", return_disconnected="zero")
    else:
        cost = pt.add(*[(u * g).sum() for u, g in zip(u_vars, grads)])
        hvps = pytensor.grad(cost, x_vars, disconnected_inputs="ignore", return_disconnected="zero")
    fn = pytensor.function([*x_vars, *v_vars, *u_vars], [*outputs, *hvps], mode={mode!r}, on_unused_input="ignore")
    values = fn(*xs, *vs, *us)
    return values[:len(outputs)], values[len(outputs):]
'''

_OPERATIONS = '''def operations(f, xs, vs):
    """The Apply nodes of the graph pytensor.function compiled for f and its gradient (mode {mode!r})."""
    dtype = str(xs[0].dtype)
    x_vars = [pt.tensor(f"x{{i}}", dtype=dtype, shape=np.shape(x)) for i, x in enumerate(xs)]
    outputs = list(f(*x_vars))
    v_vars = [pt.tensor(f"c{{i}}", dtype=dtype, shape=np.shape(v)) for i, v in enumerate(vs)]
    cost = pt.add(*[(v * y).sum() for v, y in zip(v_vars, outputs)])
    grads = pytensor.grad(cost, x_vars, disconnected_inputs="ignore", return_disconnected="zero")
    fn = pytensor.function([*x_vars, *v_vars], [*outputs, *grads], mode={mode!r}, on_unused_input="ignore")
    pytensor.dprint(fn)
'''


def _script(template: str):
    def source(backend) -> str:
        return template.format(mode=getattr(backend, "mode", "NUMBA"))
    return source


SCRIPT = VJPScript(
    requires="pytensor",
    imports=PREAMBLE,
    vjp=_script(_VJP), describe="pytensor.grad of <v, f>, compiled by pytensor.function",
    version="pytensor.__version__",
    operations=_script(_OPERATIONS),
    jvp=_script(_JVP), jvp_describe="pytensor.gradient.pushforward, compiled by pytensor.function",
    hvp=_script(_HVP),
    hvp_describe={"forward-over-reverse": "pytensor.gradient.pushforward of pytensor.grad",
                  "reverse-over-reverse": "pytensor.grad of pytensor.grad"})

PYTENSOR = Dialect("pytensor", PREAMBLE, OPS, SCRIPT)
