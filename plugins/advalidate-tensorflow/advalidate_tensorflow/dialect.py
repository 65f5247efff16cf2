"""The TensorFlow dialect: each catalogue primitive written with TensorFlow's own API (``tf.math``, ``tf.nn``,
``tf.linalg``, and ``tf.experimental.numpy`` where only it has NumPy's semantics).

Every template renders the primitive as the catalogue defines it (NumPy's semantics). TensorFlow has no op for
``log1mexp``, ``logit``, ``mish``, ``hardtanh`` and ``cummax``: they are left out (not supported), rather than
rendered as a composition of ours that would test our code, not TensorFlow's.
"""

from __future__ import annotations

from advalidate.plugin import Dialect, VJPScript, call, contraction_axes, key_source

__all__ = ["TENSORFLOW", "OPS"]


def _axis_call(path: str, axis_kw: str = "axis") -> callable:
    """``path(a, axis=axis)`` (``axis`` None: every axis)."""
    return lambda a, p: f"{path}({a[0]}, {axis_kw}={p['axis']!r})"


def _tuple(v) -> str:
    return repr(tuple(v)) if v is not None else "None"


def _as_matrix_rhs(solve: str):
    """A solve whose right-hand side is a vector or a matrix (NumPy's), on TensorFlow's solvers, which take a matrix:
    the vector as one column, the result back in its shape."""
    return lambda a, p: (f"tf.reshape({solve.format(a=a[0], b=f'tf.reshape({a[1]}, ({a[1]}.shape[0], -1))', **p)}, "
                         f"{a[1]}.shape)")


def _symmetric(x: str) -> str:
    """The symmetric part of ``x``, as the catalogue's cholesky, eigvalsh and sqrtm define their input."""
    return f"(({x} + tf.linalg.matrix_transpose({x})) / 2)"


def _pad(a, p):
    """``tf.pad`` for zeros and a mirror image (NumPy's ``reflect`` is TensorFlow's ``REFLECT``); NumPy's ``edge``, which
    ``tf.pad`` lacks, as a gather of the edge entries (``tf.gather`` with clipped indices, axis by axis)."""
    width = [tuple(w) for w in p["width"]]
    if p["mode"] in ("constant", "reflect"):
        return f"tf.pad({a[0]}, {width!r}, mode={p['mode'].upper()!r})"
    out = a[0]
    for axis, (before, after) in enumerate(width):
        if before or after:
            out = (f"tf.gather({out}, tf.clip_by_value(tf.range(-{before}, {out}.shape[{axis}] + {after}), 0, "
                   f"{out}.shape[{axis}] - 1), axis={axis})")
    return out


def _moments(path: str, root: bool):
    """``tf.math.reduce_variance`` (or ``_std``) for ddof 0; for another ddof, which they lack, the variance of
    ``tf.experimental.numpy`` (``tnp.var``, which takes one; its ``std`` does not: the square root of that variance)."""
    def tpl(a, p):
        if not p.get("ddof"):
            return f"{path}({a[0]}, axis={p['axis']!r})"
        var = f"tnp.var({a[0]}, axis={p['axis']!r}, ddof={p['ddof']!r})"
        return f"tf.math.sqrt({var})" if root else var
    return tpl


def _scatter_add(a, p):
    """The catalogue's scatter-add along an axis: ``tf.math.unsorted_segment_sum`` over that axis moved first."""
    axis = p["axis"]
    return (f"tnp.moveaxis(tf.math.unsorted_segment_sum(tnp.moveaxis({a[0]}, {axis}, 0), {list(p['indices'])}, "
            f"{p['size']}), 0, {axis})")


OPS = {
    # ---- elementwise
    "neg": call("tf.math.negative"), "square": call("tf.math.square"), "sqrt": call("tf.math.sqrt"),
    "exp": call("tf.math.exp"), "expm1": call("tf.math.expm1"), "log": call("tf.math.log"),
    "log1p": call("tf.math.log1p"), "sin": call("tf.math.sin"), "cos": call("tf.math.cos"), "tan": call("tf.math.tan"),
    "tanh": call("tf.math.tanh"), "sinh": call("tf.math.sinh"), "cosh": call("tf.math.cosh"),
    "arctan": call("tf.math.atan"), "arcsinh": call("tf.math.asinh"), "erf": call("tf.math.erf"),
    "abs": call("tf.math.abs"), "arcsin": call("tf.math.asin"), "arccos": call("tf.math.acos"),
    "arctanh": call("tf.math.atanh"), "arccosh": call("tf.math.acosh"), "exp2": call("tnp.exp2"),
    "log2": call("tnp.log2"), "log10": call("tnp.log10"), "reciprocal": call("tf.math.reciprocal"),
    "rsqrt": call("tf.math.rsqrt"), "cbrt": call("tnp.cbrt"),
    "int_pow": lambda a, p: f"tf.math.pow({a[0]}, {int(p['n'])})",
    "sign": call("tf.math.sign"), "floor": call("tf.math.floor"), "round": call("tf.math.round"),
    "gammaln": call("tf.math.lgamma"), "digamma": call("tf.math.digamma"), "erfc": call("tf.math.erfc"),
    "erfinv": call("tf.math.erfinv"), "i0e": call("tf.math.special.bessel_i0e"),
    "i1e": call("tf.math.special.bessel_i1e"),
    # ---- nn
    "sigmoid": call("tf.math.sigmoid"), "softplus": call("tf.math.softplus"), "relu": call("tf.nn.relu"),
    "softmax": _axis_call("tf.nn.softmax"), "log_softmax": _axis_call("tf.nn.log_softmax"),
    "gelu": lambda a, p: f"tf.nn.gelu({a[0]}, approximate=False)",
    "gelu_tanh": lambda a, p: f"tf.nn.gelu({a[0]}, approximate=True)",
    "silu": call("tf.nn.silu"), "elu": call("tf.nn.elu"), "selu": call("tf.nn.selu"),
    "leaky_relu": lambda a, p: f"tf.nn.leaky_relu({a[0]}, alpha={p['slope']!r})",
    "softsign": call("tf.nn.softsign"), "relu6": call("tf.nn.relu6"),
    "clip": lambda a, p: f"tf.clip_by_value({a[0]}, {p['lo']!r}, {p['hi']!r})",
    "log_sigmoid": call("tf.math.log_sigmoid"),
    # its operands broadcast (NumPy's rule); TensorFlow's op wants one shape
    "bce_with_logits": lambda a, p: (f"tf.nn.sigmoid_cross_entropy_with_logits(labels={a[1]} + tf.zeros_like({a[0]}), "
                                     f"logits={a[0]} + tf.zeros_like({a[1]}))"),
    # ---- binary
    "add": call("tf.math.add"), "sub": call("tf.math.subtract"), "mul": call("tf.math.multiply"),
    "div": call("tf.math.truediv"), "pow": call("tf.math.pow"), "maximum": call("tf.math.maximum"),
    "minimum": call("tf.math.minimum"), "logaddexp": call("tnp.logaddexp"), "hypot": call("tnp.hypot"),
    "atan2": call("tf.math.atan2"), "where": lambda a, p: f"tf.where({a[0]} > 0, {a[1]}, {a[2]})",
    "fmod": call("tf.truncatemod"), "remainder": call("tf.math.floormod"), "xlogy": call("tf.math.xlogy"),
    "xlog1py": call("tf.math.xlog1py"),
    # ---- reductions (axis None: every axis)
    "sum": _axis_call("tf.math.reduce_sum"), "mean": _axis_call("tf.math.reduce_mean"),
    "max": _axis_call("tf.math.reduce_max"), "min": _axis_call("tf.math.reduce_min"),
    "prod": _axis_call("tf.math.reduce_prod"), "logsumexp": _axis_call("tf.math.reduce_logsumexp"),
    "norm": lambda a, p: f"tf.norm({a[0]}, ord='euclidean', axis={p['axis']!r})",
    "var": _moments("tf.math.reduce_variance", root=False), "std": _moments("tf.math.reduce_std", root=True),
    # ---- linear algebra (NumPy's matmul on 1-D operands: tf.experimental.numpy's)
    "matmul": call("tnp.matmul"),
    "solve": _as_matrix_rhs("tf.linalg.solve({a}, {b})"),
    "triangular_solve": _as_matrix_rhs("tf.linalg.triangular_solve({a}, {b}, lower={lower})"),
    "inv": call("tf.linalg.inv"), "det": call("tf.linalg.det"),
    "slogdet": lambda a, p: f"tf.linalg.slogdet({a[0]})[1]",
    "cholesky": lambda a, p: f"tf.linalg.cholesky({_symmetric(a[0])})",
    "eigvalsh": lambda a, p: f"tf.linalg.eigvalsh({_symmetric(a[0])})",
    "sqrtm": lambda a, p: (f"(lambda w, v: tf.linalg.matmul(v * tf.math.sqrt(w), v, transpose_b=True))"
                           f"(*tf.linalg.eigh({_symmetric(a[0])}))"),
    "svdvals": lambda a, p: f"tf.linalg.svd({a[0]}, compute_uv=False)",
    # the QR factors' signs fixed as the primitives define them: R's rows and Q's columns negated where R's diagonal
    # is negative
    "qr_r": lambda a, p: (f"(lambda q, r: tf.where((tf.linalg.diag_part(r) < 0)[:, None], -r, r))"
                          f"(*tf.linalg.qr({a[0]}))"),
    "qr_q": lambda a, p: f"(lambda q, r: tf.where(tf.linalg.diag_part(r) < 0, -q, q))(*tf.linalg.qr({a[0]}))",
    "trace": call("tf.linalg.trace"),
    "tril": lambda a, p: f"tnp.tril({a[0]}, k={p['k']})", "triu": lambda a, p: f"tnp.triu({a[0]}, k={p['k']})",
    "outer": call("tnp.outer"), "kron": call("tnp.kron"),
    "tensordot": lambda a, p: f"tf.tensordot({a[0]}, {a[1]}, axes={contraction_axes(p['axes'], list)})",
    "einsum": lambda a, p: f"tf.einsum({p['spec']!r}, {', '.join(a)})",
    # ---- structural
    "transpose": lambda a, p: f"tf.transpose({a[0]}, perm={None if p['axes'] is None else list(p['axes'])!r})",
    "reshape": lambda a, p: f"tf.reshape({a[0]}, {_tuple(p['shape'])})",
    "broadcast_to": lambda a, p: f"tf.broadcast_to({a[0]}, {_tuple(p['shape'])})",
    "index": lambda a, p: f"{a[0]}[{key_source(p['key'])}]",
    "concatenate": lambda a, p: f"tf.concat([{', '.join(a)}], axis={p['axis']})",
    "stack": lambda a, p: f"tf.stack([{', '.join(a)}], axis={p['axis']})",
    "diagonal": lambda a, p: f"tf.linalg.diag_part({a[0]}, k={p['offset']})",
    "take": lambda a, p: f"tf.gather({a[0]}, {list(p['indices'])}, axis={p['axis']})",
    "flip": lambda a, p: f"tf.reverse({a[0]}, [{p['axis']}])",
    "roll": lambda a, p: f"tf.roll({a[0]}, shift={p['shift']!r}, axis={p['axis']!r})",
    "tile": lambda a, p: f"tnp.tile({a[0]}, {_tuple(p['reps'])})",
    "repeat": lambda a, p: f"tf.repeat({a[0]}, {p['repeats']!r}, axis={p['axis']})",
    # ---- scans, sorting, indexing
    "cumsum": _axis_call("tf.math.cumsum"), "cumprod": _axis_call("tf.math.cumprod"),
    "logcumsumexp": _axis_call("tf.math.cumulative_logsumexp"),
    "sort": _axis_call("tf.sort"), "top_k": lambda a, p: f"tf.math.top_k({a[0]}, k={p['k']}).values",
    "argmax_take": lambda a, p: (f"tf.squeeze(tnp.take_along_axis({a[1]}, tf.expand_dims(tf.math.argmax({a[0]}, "
                                 f"axis={p['axis']}), {p['axis']}), axis={p['axis']}), axis={p['axis']})"),
    "scatter_add": _scatter_add, "pad": _pad,
}

_VJP = '''def vjp(f, xs, vs):
    """tf.GradientTape over f at xs, pulled back along vs (every output at once){how}."""
    xs = [tf.constant(x) for x in xs]
    vs = [tf.constant(v) for v in vs]

    def run(xs, vs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            outputs = f(*xs)
        grads = tape.gradient(list(outputs), xs, output_gradients=vs,
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
        # a gather's gradient comes as tf.IndexedSlices: dense, as the backend makes it
        return outputs, [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]

    outputs, grads = {run}(xs, vs)
    return [o.numpy() for o in outputs], [g.numpy() for g in grads]
'''

_JVP = '''def jvp(f, xs, ws):
    """tf.autodiff.ForwardAccumulator over f at xs along ws{how}."""
    xs = [tf.constant(x) for x in xs]
    ws = [tf.constant(w) for w in ws]

    def run(xs, ws):
        with tf.autodiff.ForwardAccumulator(xs, ws) as acc:
            outputs = f(*xs)
        tangents = [acc.jvp(o, unconnected_gradients=tf.UnconnectedGradients.ZERO) for o in outputs]
        # a segment sum's tangent comes as tf.IndexedSlices: dense, as the backend makes it
        return outputs, [tf.convert_to_tensor(t) if isinstance(t, tf.IndexedSlices) else t for t in tangents]

    outputs, tangents = {run}(xs, ws)
    return [o.numpy() for o in outputs], [t.numpy() for t in tangents]
'''

_HVP = '''def hvp(f, xs, vs, us, method):
    """H_v·u, the Hessian of <vs, f> at xs times us{how}: forward-over-reverse is a ForwardAccumulator along us
    around the GradientTape that pulls vs back; reverse-over-reverse is a GradientTape around that one, pulled back
    along us."""
    zero = tf.UnconnectedGradients.ZERO
    xs = [tf.constant(x) for x in xs]
    vs = [tf.constant(v) for v in vs]
    us = [tf.constant(u) for u in us]

    def forward_over_reverse(xs, vs, us):
        with tf.autodiff.ForwardAccumulator(xs, us) as acc:
            with tf.GradientTape() as tape:
                tape.watch(xs)
                outputs = f(*xs)
            grads = tape.gradient(list(outputs), xs, output_gradients=vs, unconnected_gradients=zero)
            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        hvps = [acc.jvp(g, unconnected_gradients=zero) for g in grads]
        return outputs, [tf.convert_to_tensor(h) if isinstance(h, tf.IndexedSlices) else h for h in hvps]

    def reverse_over_reverse(xs, vs, us):
        with tf.GradientTape() as outer:
            outer.watch(xs)
            with tf.GradientTape() as tape:
                tape.watch(xs)
                outputs = f(*xs)
            grads = tape.gradient(list(outputs), xs, output_gradients=vs, unconnected_gradients=zero)
            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        hvps = outer.gradient(grads, xs, output_gradients=us, unconnected_gradients=zero)
        return outputs, [tf.convert_to_tensor(h) if isinstance(h, tf.IndexedSlices) else h for h in hvps]

    run = {{"forward-over-reverse": forward_over_reverse, "reverse-over-reverse": reverse_over_reverse}}[method]
    outputs, hvps = {run}(xs, vs, us)
    return [o.numpy() for o in outputs], [h.numpy() for h in hvps]
'''


def _script(template: str, run: str):
    def source(backend) -> str:
        inside = bool(getattr(backend, "function", False))
        how = ", inside tf.function (traced into a graph, then run)" if inside else ", eager"
        wrapped = f"tf.function({run}, autograph=False)" if inside else run
        return template.format(how=how, run=wrapped)
    return source


SCRIPT = VJPScript(
    requires="tensorflow (tensorflow-cpu)",
    imports="import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp",
    vjp=_script(_VJP, "run"), describe="tf.GradientTape",
    version="tf.__version__",
    jvp=_script(_JVP, "run"), jvp_describe="tf.autodiff.ForwardAccumulator",
    hvp=_script(_HVP, "run"),
    hvp_describe={"forward-over-reverse": "tf.autodiff.ForwardAccumulator around a tf.GradientTape",
                  "reverse-over-reverse": "a tf.GradientTape around a tf.GradientTape"})

TENSORFLOW = Dialect("tensorflow", "import tensorflow as tf\nimport tensorflow.experimental.numpy as tnp", OPS, SCRIPT)

