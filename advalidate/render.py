"""Render a Function as runnable Python source for a library ("dialect").

A dialect is one table: catalogue name -> a template taking the argument names and the params and
returning an expression. Backends built on a dialect execute exactly the source they would print,
so a finding's reproduction is the code that was checked.

A user's op (:mod:`advalidate.extend`) brings callables, not templates: its templates live in
:data:`EXTENSIONS` (dialect name -> op name -> template), call the op from the user's module by name, and carry
the line importing that module (``template.imports``), which :func:`render` adds below the preamble.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from . import primitives
from .ir import Function

__all__ = ["Dialect", "DIALECTS", "EXTENSIONS", "VJPScript", "Template", "render", "compile_function", "key_source",
           "call", "with_params", "sequence", "subscript", "where_positive", "contraction_axes"]

Template = Callable[[list, dict], str]


@dataclass(frozen=True)
class VJPScript:
    """What a finding's bug-report script (:mod:`advalidate.bugreport`) needs from a library, beyond the function.

    A dialect carries one in ``Dialect.vjp_script`` (a backend without a dialect may set ``vjp_script`` on itself);
    a third-party backend provides its own the same way. Without one, the script prints the function in NumPy,
    the oracle's value and the value advalidate recorded, and says that the VJP call is the backend's to supply.

    ``requires``: what the script needs installed besides NumPy (named in its header).
    ``imports``: the lines after ``import numpy as np``: the imports of the rendered function and any setup the
    library needs first (JAX's float64 switch).
    ``vjp(backend) -> str``: source defining ``vjp(f, xs, vs) -> (outputs, grads)``: ``xs`` and ``vs`` lists of
    NumPy arrays (the point and the cotangent, in the function's dtype), the result the library's own values as
    NumPy arrays, not cast or repaired, computed as the backend computes them (so the script prints the very
    value of the finding). It may return None where it cannot say (the script then falls back as above).
    ``helpers``: source defining ``F``, included when the rendered function calls ``F.`` (compositions the
    library lacks, inlined so that the script needs only the library).
    ``function(fn) -> str``: optional, source defining ``f`` (default: the dialect's rendering of ``fn``).
    ``describe``: how the script's header names the VJP call (``jax.vjp``).
    ``version``: an expression the script prints as the library's version, evaluated live (``jax.__version__``).
    ``operations(backend) -> str``: optional, source defining ``operations(f, xs, vs)`` that prints the library's own
    record of what its VJP runs (JAX: the jaxpr of forward plus VJP), shown by the script of a cost-bound finding.
    ``jvp(backend) -> str``: optional, source defining ``jvp(f, xs, ws) -> (outputs, tangents)``, the library's forward
    mode as the backend runs it (a forward-mode finding's script; without it the script prints the recorded J·w);
    ``jvp_describe``: how the header names it (``jax.jvp``).
    ``hvp(backend) -> str``: optional, source defining ``hvp(f, xs, vs, us, method) -> (outputs, hvps)``, the library's
    Hessian-vector product ``H_v·u`` (the Hessian of ``<vs, f>`` at xs times the direction ``us``, one array per
    input) by ``method`` (one of :data:`advalidate.backends.contract.HVP_METHODS` the backend has), computed as the
    backend computes it (a second-order finding's script; without it the script prints the recorded H_v·u);
    ``hvp_describe``: how the header names it, a string or a mapping method -> string.
    """

    requires: str
    imports: str
    vjp: Callable[[object], "str | None"]
    helpers: str = ""
    function: "Callable[[Function], str] | None" = None
    describe: str = ""
    version: str = ""
    operations: "Callable[[object], str] | None" = None
    jvp: "Callable[[object], str | None] | None" = None
    jvp_describe: str = ""
    hvp: "Callable[[object], str | None] | None" = None
    hvp_describe: "str | Mapping[str, str]" = ""


@dataclass(frozen=True)
class Dialect:
    name: str
    preamble: str  # imports the rendered body needs
    ops: dict  # catalogue name -> Template
    vjp_script: VJPScript | None = None  # how a bug-report script computes the library's VJP (advalidate.bugreport)
    fallback: "Callable[[str], Template] | None" = None  # the template of a registered primitive without one in ops

    def template(self, prim: str) -> "Template | None":
        """The template for ``prim``: the dialect's own, the one a user's op registered for this dialect, else the
        fallback's (None without one)."""
        tpl = self.ops.get(prim)
        if tpl is None:
            tpl = EXTENSIONS.get(self.name, {}).get(prim)
        if tpl is None and self.fallback is not None:
            tpl = self.fallback(prim)
        return tpl

    def missing(self) -> list[str]:
        return sorted(p for p in primitives.CATALOGUE if self.template(p) is None)


# users' ops (advalidate.extend): dialect name -> op name -> template (with an ``imports`` tuple of source lines)
EXTENSIONS: dict[str, dict[str, Template]] = {}


def key_source(key) -> str:
    """``[[0, 3, 1], 2]`` -> ``0:3:1, 2`` (a subscript, with empty parts where a bound is None): the ``index``
    primitive's ``key`` param as stored, each item an int or a ``[start, stop, step]`` triple (a ``slice`` too)."""
    parts = []
    for item in key:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            parts.append(str(int(item)))
            continue
        if isinstance(item, slice):
            item = (item.start, item.stop, item.step)
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"key_source: {item!r} in {key!r} is neither an int nor a [start, stop, step] triple")
        start, stop, step = ("" if v is None else str(v) for v in item)
        parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
    return ", ".join(parts) if parts else "()"


def call(path: str) -> Template:
    """``path(a, b, ...)`` for an op without params."""
    return lambda a, p: f"{path}({', '.join(a)})"


def with_params(path: str, rename: dict | None = None, drop_none=True) -> Template:
    """``path(a, key=value, ...)``, params renamed (axis -> dim) and None ones dropped."""
    rename = rename or {}

    def tpl(a, p):
        kws = [f"{rename.get(k, k)}={tuple(v) if isinstance(v, list) else v!r}"
               for k, v in p.items() if not (drop_none and v is None)]
        return f"{path}({', '.join(list(a) + kws)})"

    return tpl


def sequence(path: str, axis_kw: str) -> Template:
    """``path([a, b, ...], axis_kw=axis)`` (concatenate, stack)."""
    return lambda a, p: f"{path}([{', '.join(a)}], {axis_kw}={p['axis']})"


def subscript(a, p):
    """``a[key]``, the ``index`` primitive's template in every NumPy-like dialect."""
    return f"{a[0]}[{key_source(p['key'])}]"


def where_positive(path):
    """``path(a > 0, b, c)``: the catalogue's ``where`` selects where its first operand is positive."""
    return lambda a, p: f"{path}({a[0]} > 0, {a[1]}, {a[2]})"


def contraction_axes(axes, seq=tuple) -> str:
    """``tensordot``'s axes as source: an int as it is, a pair of lists as a pair of ``seq`` (tuples; torch: lists)."""
    return repr(axes) if isinstance(axes, int) else repr(seq(seq(side) for side in axes))


_SAME_NAMES = ["sqrt", "exp", "expm1", "log", "log1p", "sin", "cos", "tan", "tanh", "sinh", "cosh", "abs",
               "maximum", "minimum", "logaddexp", "hypot", "matmul", "square"]


def _common(mod: str, extra: dict) -> dict:
    ops = {name: call(f"{mod}.{name}") for name in _SAME_NAMES}
    ops.update(index=subscript)
    ops.update(extra)
    return ops


# ---- the VJP calls of the bug-report scripts (advalidate.bugreport), as the backends make them

def _jax_vjp(backend) -> str:
    jit = bool(getattr(backend, "jit", False))
    run = "jax.jit(run)" if jit else "run"
    how = "forward and backward compiled together by jax.jit" if jit else "eager"
    return f'''def vjp(f, xs, vs):
    """jax.vjp of f at xs, its pullback applied to the cotangents vs ({how})."""
    def run(xs, vs):
        outputs, pullback = jax.vjp(f, *xs)
        return outputs, pullback(tuple(vs))

    outputs, grads = {run}([jnp.asarray(x) for x in xs], [jnp.asarray(v) for v in vs])
    return [np.asarray(o) for o in outputs], [np.asarray(g) for g in grads]
'''


def _jax_jvp(backend) -> str:
    jit = bool(getattr(backend, "jit", False))
    run = "jax.jit(run)" if jit else "run"
    return f'''def jvp(f, xs, ws):
    """jax.jvp of f at xs along the tangents ws ({'compiled by jax.jit' if jit else 'eager'})."""
    def run(xs, ws):
        return jax.jvp(f, tuple(xs), tuple(ws))

    outputs, tangents = {run}([jnp.asarray(x) for x in xs], [jnp.asarray(w) for w in ws])
    return [np.asarray(o) for o in outputs], [np.asarray(t) for t in tangents]
'''


def _jax_hvp(backend) -> str:
    jit = bool(getattr(backend, "jit", False))
    run = "jax.jit(run)" if jit else "run"
    how = "compiled by jax.jit, f and both derivatives together" if jit else "eager"
    return f'''def hvp(f, xs, vs, us, method):
    """H_v·u, the Hessian of <vs, f> at xs times us ({how}): forward-over-reverse is jax.jvp along us of the VJP
    x -> jax.vjp(f, *x)[1](vs); reverse-over-reverse is jax.vjp of that same map, pulled back along us. f's outputs
    ride along as the auxiliary value."""
    def run(xs, vs, us):
        def pullback(xs):
            outputs, pull = jax.vjp(f, *xs)
            return pull(tuple(vs)), outputs

        if method == "forward-over-reverse":
            _, hvps, outputs = jax.jvp(pullback, (tuple(xs),), (tuple(us),), has_aux=True)
        else:
            _, pull2, outputs = jax.vjp(pullback, tuple(xs), has_aux=True)
            (hvps,) = pull2(tuple(us))
        return outputs, hvps

    outputs, hvps = {run}([jnp.asarray(x) for x in xs], [jnp.asarray(v) for v in vs], [jnp.asarray(u) for u in us])
    return [np.asarray(o) for o in outputs], [np.asarray(h) for h in hvps]
'''


_JAX_OPERATIONS = '''def operations(f, xs, vs):
    """The jaxpr of forward plus VJP: the operations jax runs (advalidate counts its work on this jaxpr)."""
    def run(xs, vs):
        outputs, pullback = jax.vjp(f, *xs)
        return outputs, pullback(tuple(vs))

    print(jax.make_jaxpr(run)([jnp.asarray(x) for x in xs], [jnp.asarray(v) for v in vs]))
'''


JAX_SCRIPT = VJPScript(
    requires="jax",
    imports=("import jax\n"
             "jax.config.update(\"jax_enable_x64\", True)  # float64, as advalidate runs JAX (else it computes in float32)\n"
             "import jax.numpy as jnp\nimport jax.scipy.special"),
    vjp=_jax_vjp, describe="jax.vjp", version="jax.__version__", operations=lambda backend: _JAX_OPERATIONS,
    jvp=_jax_jvp, jvp_describe="jax.jvp",
    hvp=_jax_hvp, hvp_describe={"forward-over-reverse": "jax.jvp of the pullback of jax.vjp",
                                "reverse-over-reverse": "jax.vjp of the pullback of jax.vjp"})

_TORCH_VJP = '''def vjp(f, xs, vs):
    """torch.autograd.grad of f's outputs with respect to the inputs xs (leaf tensors), grad_outputs vs."""
    xs = [torch.tensor(x, requires_grad=True) for x in xs]
    outputs = f(*xs)
    pairs = [(o, torch.from_numpy(v)) for o, v in zip(outputs, vs) if o.requires_grad]
    grads = [None] * len(xs)
    if pairs:
        grads = torch.autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs], allow_unused=True)
    # an input no output depends on gets None from torch: its gradient is zeros
    return ([o.detach().numpy() for o in outputs],
            [np.zeros(x.shape, dtype=x.detach().numpy().dtype) if g is None else g.detach().numpy()
             for x, g in zip(xs, grads)])
'''

_TORCH_JVP = '''def jvp(f, xs, ws):
    """torch.func.jvp of f at xs along the tangents ws (forward-mode AD with dual tensors)."""
    outputs, tangents = torch.func.jvp(lambda *a: tuple(f(*a)), tuple(torch.from_numpy(x) for x in xs),
                                       tuple(torch.from_numpy(w) for w in ws))
    return [o.detach().numpy() for o in outputs], [t.detach().numpy() for t in tangents]
'''

_TORCH_HVP = '''def hvp(f, xs, vs, us, method):
    """H_v·u, the Hessian of <vs, f> at xs times us: forward-over-reverse is torch.func.jvp along us of the pullback of
    vs by torch.func.vjp (on detached inputs; f's outputs ride along as the auxiliary value); reverse-over-reverse is
    double backward, J^T v by torch.autograd.grad(create_graph=True), then torch.autograd.grad of it along us. An
    input H_v·u does not reach gets zeros."""
    vs = [torch.from_numpy(v) for v in vs]
    us = [torch.from_numpy(u) for u in us]
    xs = [torch.tensor(x, requires_grad=True) for x in xs]
    if method == "forward-over-reverse":
        def pullback(*xs):
            outputs, pull = torch.func.vjp(lambda *a: tuple(f(*a)), *xs)
            return tuple(pull(tuple(vs))), outputs

        _, hvps, outputs = torch.func.jvp(pullback, tuple(x.detach() for x in xs), tuple(us), has_aux=True)
    else:
        outputs = f(*xs)
        hvps = [None] * len(xs)
        pairs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
        if pairs:
            gs = torch.autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs], create_graph=True,
                                     allow_unused=True)
            terms = [(g, u) for g, u in zip(gs, us) if g is not None and g.requires_grad]
            if terms:
                hvps = torch.autograd.grad([g for g, _ in terms], xs, grad_outputs=[u for _, u in terms],
                                           allow_unused=True)

    def numpy(t):  # a ZeroTensor (double backward's known zero) refuses .numpy() without force: its zeros
        zero = getattr(t, "_is_zerotensor", None)
        return t.detach().numpy(force=bool(zero and zero()))

    return ([o.detach().numpy() for o in outputs],
            [np.zeros(x.shape, dtype=x.detach().numpy().dtype) if h is None else numpy(h) for x, h in zip(xs, hvps)])
'''

TORCH_SCRIPT = VJPScript(requires="torch", imports="import torch\nimport torch.func", vjp=lambda backend: _TORCH_VJP,
                         describe="torch.autograd.grad", version="torch.__version__",
                         jvp=lambda backend: _TORCH_JVP, jvp_describe="torch.func.jvp",
                         hvp=lambda backend: _TORCH_HVP,
                         hvp_describe={"forward-over-reverse": "torch.func.jvp of torch.func.vjp",
                                       "reverse-over-reverse": "double backward: torch.autograd.grad of "
                                                               "torch.autograd.grad(create_graph=True)"})


_NP = "np"
NUMPY = Dialect("numpy", "import numpy as np\nfrom advalidate.primitives import numpy_forms as F", _common(_NP, {
    "neg": call("np.negative"), "add": call("np.add"), "sub": call("np.subtract"), "mul": call("np.multiply"),
    "div": call("np.divide"), "pow": call("np.power"), "atan2": call("np.arctan2"),
    "arctan": call("np.arctan"), "arcsinh": call("np.arcsinh"),
    "sigmoid": call("F.sigmoid"), "softplus": call("F.softplus"), "erf": call("F.erf"), "relu": call("F.relu"),
    "where": where_positive("np.where"),
    "sum": with_params("np.sum"), "mean": with_params("np.mean"), "max": with_params("np.max"), "prod": with_params("np.prod"),
    "logsumexp": with_params("F.logsumexp"), "norm": with_params("F.norm"),
    "transpose": with_params("np.transpose"), "reshape": with_params("np.reshape"), "broadcast_to": with_params("np.broadcast_to"),
    "concatenate": sequence("np.concatenate", "axis"), "stack": sequence("np.stack", "axis"),
    "softmax": with_params("F.softmax"), "log_softmax": with_params("F.log_softmax"),
}), fallback=lambda name: with_params(f"F.{name}"))  # any other registered primitive: its float form

JAX = Dialect("jax", "import jax\nimport jax.numpy as jnp\nimport jax.scipy.special", _common("jnp", {
    "neg": call("jnp.negative"), "add": call("jnp.add"), "sub": call("jnp.subtract"), "mul": call("jnp.multiply"),
    "div": call("jnp.divide"), "pow": call("jnp.power"), "atan2": call("jnp.arctan2"),
    "arctan": call("jnp.arctan"), "arcsinh": call("jnp.arcsinh"),
    "sigmoid": call("jax.nn.sigmoid"), "softplus": call("jax.nn.softplus"), "erf": call("jax.scipy.special.erf"),
    "relu": call("jax.nn.relu"), "where": where_positive("jnp.where"),
    "sum": with_params("jnp.sum"), "mean": with_params("jnp.mean"), "max": with_params("jnp.max"), "prod": with_params("jnp.prod"),
    "logsumexp": with_params("jax.scipy.special.logsumexp"), "norm": with_params("jnp.linalg.norm"),
    "transpose": with_params("jnp.transpose"), "reshape": with_params("jnp.reshape"), "broadcast_to": with_params("jnp.broadcast_to"),
    "concatenate": sequence("jnp.concatenate", "axis"), "stack": sequence("jnp.stack", "axis"),
    "softmax": with_params("jax.nn.softmax"), "log_softmax": with_params("jax.nn.log_softmax"),
    # ---- issue 16: structural linear algebra
    "trace": call("jnp.trace"), "diagonal": with_params("jnp.diagonal"), "tril": with_params("jnp.tril"), "triu": with_params("jnp.triu"),
    "outer": call("jnp.outer"), "kron": call("jnp.kron"),
    "tensordot": lambda a, p: f"jnp.tensordot({a[0]}, {a[1]}, axes={contraction_axes(p['axes'])})",
    "einsum": lambda a, p: f"jnp.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- issue 16: linear algebra factorisations and solves (jnp.linalg symmetrizes cholesky's and eigvalsh's
    # input by default, symmetrize_input=True: the primitives' own definition)
    "solve": call("jnp.linalg.solve"), "inv": call("jnp.linalg.inv"), "det": call("jnp.linalg.det"),
    "slogdet": lambda a, p: f"jnp.linalg.slogdet({a[0]})[1]", "cholesky": call("jnp.linalg.cholesky"),
    "eigvalsh": call("jnp.linalg.eigvalsh"),
    # (jax.scipy.linalg is loaded by jax.scipy.special's import)
    "triangular_solve": lambda a, p: f"jax.scipy.linalg.solve_triangular({a[0]}, {a[1]}, lower={p['lower']})",
    "sqrtm": lambda a, p: f"(lambda w, v: (v * jnp.sqrt(w)) @ v.T)(*jnp.linalg.eigh({a[0]}))",
    # ---- issue 16: scans, sorting, indexing, statistics
    "cumsum": with_params("jnp.cumsum"), "cumprod": with_params("jnp.cumprod"),
    "cummax": lambda a, p: f"jax.lax.cummax({a[0]}, axis={p['axis']} % {a[0]}.ndim)",
    "logcumsumexp": lambda a, p: f"jax.lax.cumlogsumexp({a[0]}, axis={p['axis']} % {a[0]}.ndim)",
    "sort": with_params("jnp.sort"), "top_k": lambda a, p: f"jax.lax.top_k({a[0]}, {p['k']})[0]", "min": with_params("jnp.min"),
    "argmax_take": lambda a, p: (f"jnp.squeeze(jnp.take_along_axis({a[1]}, jnp.expand_dims(jnp.argmax({a[0]}, "
                                 f"axis={p['axis']}), {p['axis']}), axis={p['axis']}), {p['axis']})"),
    "var": with_params("jnp.var"), "std": with_params("jnp.std"),
    "take": lambda a, p: f"jnp.take({a[0]}, jnp.array({list(p['indices'])}), axis={p['axis']})",
    "scatter_add": lambda a, p: (f"jnp.zeros({a[0]}.shape[:{p['axis']} % {a[0]}.ndim] + ({p['size']},) + "
                                 f"{a[0]}.shape[{p['axis']} % {a[0]}.ndim + 1:], {a[0]}.dtype)"
                                 f".at[(slice(None),) * ({p['axis']} % {a[0]}.ndim) + (jnp.array({list(p['indices'])}),)]"
                                 f".add({a[0]})"),
    "flip": with_params("jnp.flip"), "roll": lambda a, p: f"jnp.roll({a[0]}, {p['shift']}, axis={p['axis']})",
    "tile": lambda a, p: f"jnp.tile({a[0]}, {tuple(p['reps'])})",
    "repeat": lambda a, p: f"jnp.repeat({a[0]}, {p['repeats']}, axis={p['axis']})",
    "pad": lambda a, p: f"jnp.pad({a[0]}, {tuple(tuple(w) for w in p['width'])}, mode={p['mode']!r})",
    # ---- issue 16: elementwise, activations, special functions
    "arcsin": call("jnp.arcsin"), "arccos": call("jnp.arccos"), "arctanh": call("jnp.arctanh"),
    "arccosh": call("jnp.arccosh"), "exp2": call("jnp.exp2"), "log2": call("jnp.log2"), "log10": call("jnp.log10"),
    "reciprocal": call("jnp.reciprocal"), "rsqrt": call("jax.lax.rsqrt"), "cbrt": call("jnp.cbrt"),
    "int_pow": lambda a, p: f"jnp.power({a[0]}, {int(p['n'])})",
    "sign": call("jnp.sign"), "floor": call("jnp.floor"), "round": call("jnp.round"),
    "fmod": call("jnp.fmod"), "remainder": call("jnp.remainder"),
    "gelu": lambda a, p: f"jax.nn.gelu({a[0]}, approximate=False)",
    "gelu_tanh": lambda a, p: f"jax.nn.gelu({a[0]}, approximate=True)",
    "silu": call("jax.nn.silu"), "mish": call("jax.nn.mish"), "elu": call("jax.nn.elu"), "selu": call("jax.nn.selu"),
    "leaky_relu": lambda a, p: f"jax.nn.leaky_relu({a[0]}, negative_slope={p['slope']!r})",
    "softsign": call("jax.nn.soft_sign"), "relu6": call("jax.nn.relu6"), "hardtanh": call("jax.nn.hard_tanh"),
    "clip": lambda a, p: f"jnp.clip({a[0]}, {p['lo']!r}, {p['hi']!r})",
    "gammaln": call("jax.scipy.special.gammaln"), "digamma": call("jax.scipy.special.digamma"),
    "erfc": call("jax.scipy.special.erfc"), "erfinv": call("jax.scipy.special.erfinv"),
    "xlogy": call("jax.scipy.special.xlogy"), "xlog1py": call("jax.scipy.special.xlog1py"),
    "logit": call("jax.scipy.special.logit"), "log_sigmoid": call("jax.nn.log_sigmoid"),
    # ---- issue 16: singular values and QR (the QR factors' signs fixed as the primitives define them: R's rows
    # and Q's columns negated where R's diagonal is negative)
    "svdvals": call("jnp.linalg.svdvals"),
    "qr_r": lambda a, p: f"(lambda q, r: jnp.where((jnp.diagonal(r) < 0)[:, None], -r, r))(*jnp.linalg.qr({a[0]}))",
    "qr_q": lambda a, p: f"(lambda q, r: jnp.where(jnp.diagonal(r) < 0, -q, q))(*jnp.linalg.qr({a[0]}))",
    # ---- issue 16: bessel (jax.nn.log1mexp: log(1 - exp(-x)), x > 0)
    "i0e": call("jax.scipy.special.i0e"), "i1e": call("jax.scipy.special.i1e"), "log1mexp": call("jax.nn.log1mexp"),
}), JAX_SCRIPT)


def _torch_reduce(path: str) -> Template:
    return lambda a, p: f"{path}({a[0]})" if p["axis"] is None else f"{path}({a[0]}, dim={p['axis']})"


def _torch_logsumexp(a, p):
    if p["axis"] is None:
        return f"torch.logsumexp({a[0]}.reshape(-1), dim=0)"
    return f"torch.logsumexp({a[0]}, dim={p['axis']})"


def _torch_transpose(a, p):
    axes = p["axes"]
    # torch.permute with a tuple: Tensor.permute() with no dims (a 0-d tensor) raises
    dims = f"tuple(reversed(range({a[0]}.dim())))" if axes is None else str(tuple(axes))
    return f"torch.permute({a[0]}, {dims})"


def _torch_index(a, p):
    """Basic indexing; torch refuses negative slice steps, so an axis sliced downwards is flipped first
    (``torch.flip``, a view in the unit-cost model) and sliced upwards with the mirrored bounds (start and stop
    non-negative or None, as the generator draws them)."""
    x, key = a[0], p["key"]
    flips, parts = [], []
    for i, item in enumerate(key):
        if isinstance(item, int) or item[2] is None or item[2] > 0:
            parts.append(key_source([item]))
            continue
        start, stop, step = item
        if (start is not None and start < 0) or (stop is not None and stop < 0):
            raise ValueError(f"torch index template: negative bounds with a negative step are not rendered: {item}")
        flips.append(i)
        lo = "" if start is None else f"max({x}.shape[{i}] - 1 - {start}, 0)"
        hi = "" if stop is None else f"max({x}.shape[{i}] - 1 - {stop}, 0)"
        parts.append(f"{lo}:{hi}:{-step}")
    base = f"torch.flip({x}, {tuple(flips)})" if flips else x
    return f"{base}[{', '.join(parts) if parts else '()'}]"


def _torch_pad(a, p):
    # torch.nn.functional.pad takes (before, after) pairs from the last axis backwards, and pads non-constant modes
    # over the trailing axes of a batched input: one leading axis of length 1 is added and removed
    flat = tuple(v for w in reversed(p["width"]) for v in w)
    mode = {"edge": "replicate"}.get(p["mode"], p["mode"])
    return f"torch.nn.functional.pad({a[0]}[None], {flat}, mode={mode!r})[0]"


TORCH = Dialect("torch", "import torch", _common("torch", {
    "neg": call("torch.neg"), "add": call("torch.add"), "sub": call("torch.sub"), "mul": call("torch.mul"),
    "div": call("torch.div"), "pow": call("torch.pow"), "atan2": call("torch.atan2"),
    "arctan": call("torch.atan"), "arcsinh": call("torch.asinh"),
    "sigmoid": call("torch.sigmoid"), "softplus": call("torch.nn.functional.softplus"), "erf": call("torch.erf"),
    "relu": call("torch.relu"), "where": where_positive("torch.where"),
    "sum": _torch_reduce("torch.sum"), "mean": _torch_reduce("torch.mean"), "max": _torch_reduce("torch.amax"),
    "prod": _torch_reduce("torch.prod"), "logsumexp": _torch_logsumexp,
    "norm": _torch_reduce("torch.linalg.vector_norm"),
    "transpose": _torch_transpose, "reshape": lambda a, p: f"torch.reshape({a[0]}, {tuple(p['shape'])})",
    "broadcast_to": lambda a, p: f"torch.broadcast_to({a[0]}, {tuple(p['shape'])})",
    "concatenate": sequence("torch.cat", "dim"), "stack": sequence("torch.stack", "dim"),
    "softmax": lambda a, p: f"torch.softmax({a[0]}, dim={p['axis']})",
    "log_softmax": lambda a, p: f"torch.log_softmax({a[0]}, dim={p['axis']})",
    # ---- issue 16: structural linear algebra
    "trace": call("torch.trace"), "diagonal": with_params("torch.diagonal"),
    "tril": with_params("torch.tril", {"k": "diagonal"}), "triu": with_params("torch.triu", {"k": "diagonal"}),
    "outer": call("torch.outer"), "kron": call("torch.kron"),
    "tensordot": lambda a, p: f"torch.tensordot({a[0]}, {a[1]}, dims={contraction_axes(p['axes'], list)})",
    "einsum": lambda a, p: f"torch.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- issue 16: linear algebra factorisations and solves (torch.linalg reads one triangle of a symmetric
    # input: cholesky and eigvalsh symmetrize it explicitly, as the primitives are defined)
    "solve": call("torch.linalg.solve"), "inv": call("torch.linalg.inv"), "det": call("torch.linalg.det"),
    "slogdet": lambda a, p: f"torch.linalg.slogdet({a[0]})[1]",
    "cholesky": lambda a, p: f"torch.linalg.cholesky(({a[0]} + {a[0]}.mT) / 2)",
    "eigvalsh": lambda a, p: f"torch.linalg.eigvalsh(({a[0]} + {a[0]}.mT) / 2)",
    # torch.linalg.solve_triangular takes a matrix right-hand side only: a vector as one column
    "triangular_solve": lambda a, p: (f"torch.linalg.solve_triangular({a[0]}, {a[1]}.reshape({a[1]}.shape[0], -1), "
                                      f"upper={not p['lower']}).reshape({a[1]}.shape)"),
    "sqrtm": lambda a, p: f"(lambda w, v: (v * torch.sqrt(w)) @ v.mT)(*torch.linalg.eigh(({a[0]} + {a[0]}.mT) / 2))",
    # ---- issue 16: scans, sorting, indexing, statistics
    "cumsum": lambda a, p: f"torch.cumsum({a[0]}, dim={p['axis']})",
    "cumprod": lambda a, p: f"torch.cumprod({a[0]}, dim={p['axis']})",
    "cummax": lambda a, p: f"torch.cummax({a[0]}, dim={p['axis']}).values",
    "logcumsumexp": lambda a, p: f"torch.logcumsumexp({a[0]}, dim={p['axis']})",
    "sort": lambda a, p: f"torch.sort({a[0]}, dim={p['axis']}).values",
    "top_k": lambda a, p: f"torch.topk({a[0]}, {p['k']}).values", "min": _torch_reduce("torch.amin"),
    "argmax_take": lambda a, p: (f"torch.squeeze(torch.gather({a[1]}, {p['axis']}, torch.argmax({a[0]}, "
                                 f"dim={p['axis']}, keepdim=True)), {p['axis']})"),
    "var": lambda a, p: f"torch.var({a[0]}, dim={p['axis']}, correction={p['ddof']})",
    "std": lambda a, p: f"torch.std({a[0]}, dim={p['axis']}, correction={p['ddof']})",
    "take": lambda a, p: f"torch.index_select({a[0]}, {p['axis']}, torch.tensor({list(p['indices'])}))",
    "scatter_add": lambda a, p: (f"torch.zeros({a[0]}.shape[:{p['axis']} % {a[0]}.dim()] + ({p['size']},) + "
                                 f"{a[0]}.shape[{p['axis']} % {a[0]}.dim() + 1:], dtype={a[0]}.dtype)"
                                 f".index_add({p['axis']}, torch.tensor({list(p['indices'])}), {a[0]})"),
    "flip": lambda a, p: f"torch.flip({a[0]}, ({p['axis']},))",
    "roll": lambda a, p: f"torch.roll({a[0]}, {p['shift']}, {p['axis']})",
    "tile": lambda a, p: f"torch.tile({a[0]}, {tuple(p['reps'])})",
    "repeat": lambda a, p: f"torch.repeat_interleave({a[0]}, {p['repeats']}, dim={p['axis']})",
    "pad": _torch_pad, "index": _torch_index,
    # ---- issue 16: elementwise, activations, special functions
    "arcsin": call("torch.asin"), "arccos": call("torch.acos"), "arctanh": call("torch.atanh"),
    "arccosh": call("torch.acosh"), "exp2": call("torch.exp2"), "log2": call("torch.log2"), "log10": call("torch.log10"),
    "reciprocal": call("torch.reciprocal"), "rsqrt": call("torch.rsqrt"),
    "int_pow": lambda a, p: f"torch.pow({a[0]}, {int(p['n'])})",
    "sign": call("torch.sign"), "floor": call("torch.floor"), "round": call("torch.round"),
    "fmod": call("torch.fmod"), "remainder": call("torch.remainder"),
    "gelu": call("torch.nn.functional.gelu"),
    "gelu_tanh": lambda a, p: f"torch.nn.functional.gelu({a[0]}, approximate='tanh')",
    "silu": call("torch.nn.functional.silu"), "mish": call("torch.nn.functional.mish"),
    "elu": call("torch.nn.functional.elu"), "selu": call("torch.nn.functional.selu"),
    "leaky_relu": lambda a, p: f"torch.nn.functional.leaky_relu({a[0]}, negative_slope={p['slope']!r})",
    "softsign": call("torch.nn.functional.softsign"), "relu6": call("torch.nn.functional.relu6"),
    "hardtanh": call("torch.nn.functional.hardtanh"),
    "clip": lambda a, p: f"torch.clamp({a[0]}, {p['lo']!r}, {p['hi']!r})",
    "gammaln": call("torch.special.gammaln"), "digamma": call("torch.special.digamma"),
    "erfc": call("torch.special.erfc"), "erfinv": call("torch.special.erfinv"),
    "xlogy": call("torch.special.xlogy"), "xlog1py": call("torch.special.xlog1py"),
    "logit": call("torch.special.logit"), "log_sigmoid": call("torch.nn.functional.logsigmoid"),
    "bce_with_logits": lambda a, p: (f"torch.nn.functional.binary_cross_entropy_with_logits("
                                     f"*torch.broadcast_tensors({a[0]}, {a[1]}), reduction='none')"),
    # ---- issue 16: singular values and QR (the QR factors' signs fixed as the primitives define them)
    "svdvals": call("torch.linalg.svdvals"),
    "qr_r": lambda a, p: (f"(lambda q, r: torch.where((torch.diagonal(r) < 0)[:, None], -r, r))"
                          f"(*torch.linalg.qr({a[0]}))"),
    "qr_q": lambda a, p: f"(lambda q, r: torch.where(torch.diagonal(r) < 0, -q, q))(*torch.linalg.qr({a[0]}))",
    # ---- issue 16: bessel (torch has no log1mexp)
    "i0e": call("torch.special.i0e"), "i1e": call("torch.special.i1e"),
}), TORCH_SCRIPT)


DIALECTS = {d.name: d for d in (NUMPY, JAX, TORCH)}


def _dialect(dialect) -> Dialect:
    if isinstance(dialect, Dialect):
        return dialect
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise KeyError(f"unknown dialect {dialect!r}; known: {sorted(DIALECTS)}") from None


def render(fn: Function, dialect="numpy", name: str = "f", preamble: bool = True) -> str:
    """Python source defining ``name(x0, x1, ...)`` that returns the tuple of outputs."""
    d = _dialect(dialect)
    body, imports = [], {}
    for vname, node in fn.named_nodes():
        params = primitives.get(node.prim).check_params(node.kwargs)
        tpl = d.template(node.prim)
        if tpl is None:
            raise KeyError(f"dialect {d.name!r} has no template for {node.prim!r}")
        imports.update(dict.fromkeys(getattr(tpl, "imports", ())))
        body.append(f"    {vname} = {tpl(list(node.args), params)}")
    head = "\n".join([d.preamble, *imports]) if preamble else "\n".join(imports)
    lines = [head, "", ""] if head else []
    lines.append(f"def {name}({', '.join(fn.input_names)}):")
    lines += body
    lines.append(f"    return ({', '.join(fn.outputs)},)")
    return "\n".join(lines) + "\n"


def compile_function(fn: Function, dialect="numpy", name: str = "f"):
    """Execute the rendered source and return the function it defines (its source in ``__source__``)."""
    source = render(fn, dialect, name)
    namespace: dict = {}
    exec(compile(source, f"<advalidate {fn.hash} {_dialect(dialect).name}>", "exec"), namespace)
    func = namespace[name]
    func.__source__ = source
    return func
