"""The autograd dialect: each catalogue primitive written with ``autograd.numpy`` and ``autograd.scipy.special``."""

from __future__ import annotations

import inspect

from advalidate.plugin import Dialect, VJPScript, call, sequence, subscript, with_params

from . import forms

__all__ = ["AUTOGRAD"]


def _stack(a, p):
    # anp.stack passes its operands through np.array, which would hide them from advalidate's work counter
    axis = p["axis"]
    return f"anp.concatenate([{', '.join(f'anp.expand_dims({x}, {axis})' for x in a)}], axis={axis})"


def _tuple(v):
    return repr(tuple(v)) if v is not None else "None"


def broadcast_to(a, p):
    # autograd's broadcast_to rule asserts "Can't handle extra leading dims": add them with a reshape first
    shape = _tuple(p["shape"])
    return f"anp.broadcast_to(anp.reshape({a[0]}, (1,) * ({len(p['shape'])} - anp.ndim({a[0]})) + anp.shape({a[0]})), {shape})"


def log_softmax(a, p):
    return f"{a[0]} - ags.logsumexp({a[0]}, axis={p['axis']}, keepdims=True)"


_SAME = ["sqrt", "exp", "expm1", "log", "log1p", "sin", "cos", "tan", "tanh", "sinh", "cosh", "abs", "arctan",
         "arcsinh", "maximum", "minimum", "logaddexp", "hypot", "matmul", "square", "negative"]

OPS = {name: call(f"anp.{name}") for name in _SAME}
OPS["neg"] = OPS.pop("negative")
OPS.update({
    "add": call("anp.add"), "sub": call("anp.subtract"), "mul": call("anp.multiply"), "div": call("anp.divide"),
    "pow": call("anp.power"), "atan2": call("anp.arctan2"),
    "sigmoid": call("ags.expit"), "erf": call("ags.erf"),
    "softplus": lambda a, p: f"anp.logaddexp(0.0, {a[0]})",
    "relu": lambda a, p: f"anp.maximum({a[0]}, 0.0)",
    "where": lambda a, p: f"anp.where({a[0]} > 0, {a[1]}, {a[2]})",
    "sum": with_params("anp.sum"), "mean": with_params("anp.mean"), "max": with_params("anp.max"),
    "prod": with_params("anp.prod"), "logsumexp": with_params("ags.logsumexp"),
    "norm": with_params("anp.linalg.norm"),
    # autograd's rules for these take the shape or axes positionally
    "transpose": lambda a, p: f"anp.transpose({a[0]}, {_tuple(p['axes'])})",
    "reshape": lambda a, p: f"anp.reshape({a[0]}, {_tuple(p['shape'])})",
    "broadcast_to": broadcast_to,
    "index": subscript,
    "concatenate": sequence("anp.concatenate", "axis"), "stack": _stack,
    "softmax": with_params("F.softmax"), "log_softmax": log_softmax,
    # ---- issue 16: structural linear algebra (autograd 1.9.1 has a VJP for each)
    "trace": call("anp.trace"), "diagonal": with_params("anp.diagonal"), "tril": with_params("anp.tril"),
    "triu": with_params("anp.triu"), "outer": call("anp.outer"), "kron": call("anp.kron"),
    "tensordot": lambda a, p: (f"anp.tensordot({a[0]}, {a[1]}, axes="
                               f"{p['axes'] if isinstance(p['axes'], int) else tuple(map(tuple, p['axes']))!r})"),
    "einsum": lambda a, p: f"anp.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- issue 16: linear algebra factorisations and solves (autograd 1.9.1 differentiates solve, inv, det,
    # slogdet, cholesky and eigh, not eigvalsh: eigvalsh is eigh's eigenvalues; its rules read the lower triangle
    # of a symmetric input, which is symmetrized explicitly, as the primitives are defined)
    "solve": call("anp.linalg.solve"), "inv": call("anp.linalg.inv"), "det": call("anp.linalg.det"),
    "slogdet": lambda a, p: f"anp.linalg.slogdet({a[0]})[1]",
    "cholesky": lambda a, p: f"anp.linalg.cholesky(({a[0]} + anp.swapaxes({a[0]}, -1, -2)) / 2)",
    "eigvalsh": lambda a, p: f"anp.linalg.eigh(({a[0]} + anp.swapaxes({a[0]}, -1, -2)) / 2)[0]",
    "triangular_solve": lambda a, p: f"F.solve_triangular({a[0]}, {a[1]}, lower={p['lower']})",
    "sqrtm": lambda a, p: (f"(lambda w, v: anp.dot(v * anp.sqrt(w), anp.transpose(v)))"
                           f"(*anp.linalg.eigh(({a[0]} + anp.swapaxes({a[0]}, -1, -2)) / 2))"),
    # ---- issue 16: scans, sorting, indexing, statistics (autograd 1.9.1 has VJPs for cumsum, sort and min;
    # none for cumprod, maximum.accumulate, logaddexp.accumulate, a top-k or take_along_axis: not supported)
    "cumsum": with_params("anp.cumsum"), "sort": with_params("anp.sort"), "min": with_params("anp.min"),
    "var": with_params("anp.var"), "std": with_params("anp.std"),
    # anp.take and anp.flip have no VJP in autograd 1.9.1 (NotImplementedError), nor has a scatter-add: not supported
    "roll": lambda a, p: f"anp.roll({a[0]}, {p['shift']}, axis={p['axis']})",
    "tile": lambda a, p: f"anp.tile({a[0]}, {tuple(p['reps'])})",
    "repeat": lambda a, p: f"anp.repeat({a[0]}, {p['repeats']}, axis={p['axis']})",
    # anp.pad's VJP asserts mode == "constant" (reflect and edge raise: a known behaviour)
    "pad": lambda a, p: f"anp.pad({a[0]}, {tuple(tuple(w) for w in p['width'])}, mode={p['mode']!r})",
    # ---- issue 16: elementwise, activations, special functions (autograd 1.9.1 has no VJP for cbrt and fmod,
    # and no rsqrt, gelu, silu, mish, elu, selu, leaky_relu, softsign, relu6, hardtanh, xlogy, xlog1py,
    # log_sigmoid or a cross-entropy with logits: those are not supported)
    "arcsin": call("anp.arcsin"), "arccos": call("anp.arccos"), "arctanh": call("anp.arctanh"),
    "arccosh": call("anp.arccosh"), "exp2": call("anp.exp2"), "log2": call("anp.log2"), "log10": call("anp.log10"),
    "reciprocal": call("anp.reciprocal"),
    "int_pow": lambda a, p: f"anp.power({a[0]}, {int(p['n'])})",
    # sign, floor and round are autograd's nograd functions: a zero derivative by design
    "sign": call("anp.sign"), "floor": call("anp.floor"), "round": call("anp.round"),
    "remainder": call("anp.remainder"),
    "clip": lambda a, p: f"anp.clip({a[0]}, {p['lo']!r}, {p['hi']!r})",
    "gammaln": call("ags.gammaln"), "digamma": call("ags.digamma"), "erfc": call("ags.erfc"),
    "erfinv": call("ags.erfinv"), "logit": call("ags.logit"),
    # ---- issue 16: singular values and QR (autograd 1.9.1 differentiates svd, compute_uv=False included, and has
    # no VJP for qr: qr_r and qr_q are not supported)
    "svdvals": lambda a, p: f"anp.linalg.svd({a[0]}, compute_uv=False)",
    # ---- issue 16: bessel: scipy.special.ive(v, x) = iv(v, x)·exp(-|x|), which autograd 1.9.1 differentiates in x
    # (it wraps neither i0e nor i1e; it has no log1mexp)
    "i0e": lambda a, p: f"ags.ive(0, {a[0]})", "i1e": lambda a, p: f"ags.ive(1, {a[0]})",
})

_VJP = '''def vjp(f, xs, vs):
    """autograd.make_vjp of f over the tuple of inputs (a traced tuple of outputs: one backward pass for all)."""
    pullback, outputs = make_vjp(lambda xs: ag_tuple(f(*xs)))(tuple(xs))
    grads = pullback(tuple(vs))
    return [np.asarray(o) for o in outputs], [np.asarray(g) for g in grads]
'''

# the compositions of forms.py the rendered source calls as F.name, inlined so that a script needs only autograd
_HELPERS = "import types\n\n\n" + "".join(inspect.getsource(getattr(forms, name)) + "\n\n" for name in forms.__all__) \
    + f"F = types.SimpleNamespace({', '.join(f'{n}={n}' for n in forms.__all__)})  # advalidate_autograd.forms\n"

_JVP = '''def jvp(f, xs, ws):
    """autograd.make_jvp of f over the tuple of inputs xs, along the tangents ws."""
    from autograd import make_jvp

    outputs, tangents = make_jvp(lambda xs: ag_tuple(f(*xs)))(tuple(xs))(tuple(ws))
    return [np.asarray(o) for o in outputs], [np.asarray(t) for t in tangents]
'''

_HVP = '''def hvp(f, xs, vs, us, method):
    """H_v·u, the Hessian of <vs, f> at xs times us: forward-over-reverse is autograd.make_jvp along us of the
    pullback of vs that autograd.make_vjp builds; reverse-over-reverse is make_vjp of that same map, pulled back along
    us. f's outputs are kept from the inner pass (their values)."""
    from autograd import make_jvp
    from autograd.tracer import getval

    seen = []

    def pullback(xs):
        pull, outputs = make_vjp(lambda xs: ag_tuple(f(*xs)))(xs)
        seen.append(tuple(getval(o) for o in getval(outputs)))
        return pull(tuple(vs))

    if method == "forward-over-reverse":
        _, hvps = make_jvp(pullback)(tuple(xs))(tuple(us))
    else:
        pull2, _ = make_vjp(pullback)(tuple(xs))
        hvps = pull2(tuple(us))
    return [np.asarray(o) for o in seen[0]], [np.asarray(h) for h in hvps]
'''

SCRIPT = VJPScript(
    requires="autograd (with scipy)",
    imports=("import autograd.numpy as anp\nimport autograd.scipy.special as ags\nfrom autograd import make_vjp\n"
             "from autograd.builtins import tuple as ag_tuple"),
    vjp=lambda backend: _VJP, helpers=_HELPERS, describe="autograd.make_vjp",
    version='__import__("importlib.metadata").metadata.version("autograd")',
    jvp=lambda backend: _JVP, jvp_describe="autograd.make_jvp",
    hvp=lambda backend: _HVP, hvp_describe={"forward-over-reverse": "autograd.make_jvp of a make_vjp pullback",
                                            "reverse-over-reverse": "autograd.make_vjp of a make_vjp pullback"})

AUTOGRAD = Dialect("autograd", "import autograd.numpy as anp\nimport autograd.scipy.special as ags\n"
                   "from advalidate_autograd import forms as F", OPS, SCRIPT)
