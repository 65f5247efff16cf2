"""The NumPy reference backend: a reverse-mode tape over the IR, in plain NumPy.

One forward pass records every value; one backward pass visits the nodes in reverse, turns each node's
cotangent into its arguments' cotangents with the rule of its primitive, sums away broadcast dimensions,
and adds cotangents where a value fans out. The work of both passes is counted by observation
(:mod:`advalidate.counting`), so the linear cost of reverse mode can be read off the counts.

Conventions at kinks and ties: ``maximum``/``minimum`` give a tie to their first argument, ``max`` gives
the cotangent to every maximal entry, ``abs``/``relu`` have derivative 0 at 0.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import counting, primitives, xp
from ..evaluate import to_mp, trace
from ..ir import Function
from ..render import VJPScript, render
from .contract import VJP, Backend, Work

__all__ = ["NumpyReference", "VJPS", "mp_vjp"]

VJPS: dict = {}


def defvjp(name, *rules):
    """Register one rule per argument: ``rule(g, ans, *args, **params) -> cotangent`` (None: no dependence).

    A rule runs on float arrays (the tape) and on object arrays of mpf (:func:`mp_vjp`): write its
    transcendental functions with :mod:`advalidate.xp` (``xp.cos``, not ``np.cos``) and its inexact
    constants as :class:`advalidate.xp.Constant`."""
    VJPS[name] = rules


def _expand(g, shape, axis):
    """Broadcast a reduced cotangent back to the operand's shape (a view: free)."""
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _keep(ans, axis):
    return ans if axis is None else np.expand_dims(ans, axis)


_LOG_2_OVER_SQRT_PI = xp.Constant(math.log(2 / math.sqrt(math.pi)), lambda: mpmath.log(2 / mpmath.sqrt(mpmath.pi)))

# ---- elementwise, one argument
defvjp("neg", lambda g, ans, x: -g)
defvjp("square", lambda g, ans, x: g * (2 * x))
defvjp("sqrt", lambda g, ans, x: g / (2 * ans))
defvjp("exp", lambda g, ans, x: g * ans)
defvjp("expm1", lambda g, ans, x: g * (ans + 1))
defvjp("log", lambda g, ans, x: g / x)
defvjp("log1p", lambda g, ans, x: g / (1 + x))
defvjp("sin", lambda g, ans, x: g * xp.cos(x))
defvjp("cos", lambda g, ans, x: -(g * xp.sin(x)))
defvjp("tan", lambda g, ans, x: g * (1 + ans * ans))
defvjp("tanh", lambda g, ans, x: g * (1 - ans * ans))
defvjp("sinh", lambda g, ans, x: g * xp.cosh(x))
defvjp("cosh", lambda g, ans, x: g * xp.sinh(x))
defvjp("arctan", lambda g, ans, x: g / (1 + x * x))
defvjp("arcsinh", lambda g, ans, x: g / xp.cosh(ans))  # cosh(arcsinh x) = sqrt(1 + x^2)
defvjp("sigmoid", lambda g, ans, x: g * (ans * (1 - ans)))
defvjp("softplus", lambda g, ans, x: g * xp.exp(x - ans))  # sigmoid(x) = exp(x - softplus(x))
defvjp("erf", lambda g, ans, x: g * xp.exp(_LOG_2_OVER_SQRT_PI.like(x) - x * x))
defvjp("abs", lambda g, ans, x: g * xp.sign(x))
defvjp("relu", lambda g, ans, x: np.where(x > 0, g, 0))

# ---- elementwise, several arguments (the tape sums away broadcast dimensions)
defvjp("add", lambda g, ans, a, b: g, lambda g, ans, a, b: g)
defvjp("sub", lambda g, ans, a, b: g, lambda g, ans, a, b: -g)
defvjp("mul", lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a)
defvjp("div", lambda g, ans, a, b: g / b, lambda g, ans, a, b: -(g / b * ans))
defvjp("pow", lambda g, ans, a, b: g * ans * b / a, lambda g, ans, a, b: g * ans * xp.log(a))
defvjp("maximum", lambda g, ans, a, b: np.where(a >= b, g, 0), lambda g, ans, a, b: np.where(a >= b, 0, g))
defvjp("minimum", lambda g, ans, a, b: np.where(a <= b, g, 0), lambda g, ans, a, b: np.where(a <= b, 0, g))
defvjp("logaddexp", lambda g, ans, a, b: g * xp.exp(a - ans), lambda g, ans, a, b: g * xp.exp(b - ans))
defvjp("hypot", lambda g, ans, a, b: g / ans * a, lambda g, ans, a, b: g / ans * b)


def grad_atan2(g, ans, y, x):
    q = g / (x * x + y * y)
    return q * x, -(q * y)


VJPS["atan2"] = grad_atan2  # one rule for both arguments: they share q
defvjp("where", None, lambda g, ans, p, x, y: np.where(p > 0, g, 0), lambda g, ans, p, x, y: np.where(p > 0, 0, g))

# ---- reductions


def grad_max(g, ans, x, axis=None):
    return np.where(x == _keep(ans, axis), _expand(_keep(g, axis), x.shape, None), 0)


def grad_prod(g, ans, x, axis=None):
    """Product of the other entries, from exclusive cumulative products (exact at zeros)."""
    flat = x.reshape(-1) if axis is None else np.moveaxis(x, axis, -1)
    left = np.ones_like(flat)
    right = np.ones_like(flat)
    left[..., 1:] = np.cumprod(flat[..., :-1], axis=-1)
    right[..., :-1] = np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1]
    gg = g.reshape(1) if axis is None else np.expand_dims(g, -1)
    others = (left * right) * gg
    return others.reshape(x.shape) if axis is None else np.moveaxis(others, -1, axis)


defvjp("sum", lambda g, ans, x, axis=None: _expand(g, x.shape, axis))
defvjp("mean", lambda g, ans, x, axis=None: _expand(g / (x.size if axis is None else x.shape[axis]), x.shape, axis))
defvjp("max", grad_max)
defvjp("logsumexp", lambda g, ans, x, axis=None: _keep(g, axis) * xp.exp(x - _keep(ans, axis)))
defvjp("prod", grad_prod)
defvjp("norm", lambda g, ans, x, axis=None: x / _keep(ans, axis) * _keep(g, axis))

# ---- linear algebra


def grad_matmul_a(g, ans, a, b):
    if b.ndim == 1:
        return np.multiply.outer(g, b) if a.ndim == 2 else g * b
    return np.matmul(g, b.T) if a.ndim == 2 else np.matmul(b, g)


def grad_matmul_b(g, ans, a, b):
    if a.ndim == 1:
        return np.multiply.outer(a, g) if b.ndim == 2 else g * a
    return np.matmul(a.T, g) if b.ndim == 2 else np.matmul(g, a)


defvjp("matmul", grad_matmul_a, grad_matmul_b)

# ---- structural


def grad_index(g, ans, x, key):
    out = np.zeros_like(x)
    out[primitives._key_items(key)] = g
    return out


def grad_concatenate(g, ans, *xs, axis=0):
    bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return tuple(np.split(g, bounds, axis=axis))


def _transpose_back(g, ans, x, axes=None):
    return np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes))


defvjp("transpose", _transpose_back)
defvjp("reshape", lambda g, ans, x, shape: np.reshape(g, x.shape))
defvjp("broadcast_to", lambda g, ans, x, shape: g)  # the tape sums the broadcast dimensions away
defvjp("index", grad_index)
VJPS["concatenate"] = grad_concatenate  # variadic: one rule returning every argument's cotangent
VJPS["stack"] = lambda g, ans, *xs, axis=0: tuple(np.moveaxis(g, axis, 0))

# ---- neural-network compositions
defvjp("softmax", lambda g, ans, x, axis=-1: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)))
defvjp("log_softmax", lambda g, ans, x, axis=-1: g - xp.exp(ans) * np.sum(g, axis=axis, keepdims=True))


# ---------------------------------------------------------------- the tape


def unbroadcast(g, shape):
    """Sum ``g`` over the dimensions that broadcasting added to an operand of ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g.reshape(shape)


def forward(fn: Function, inputs, perturb=None) -> dict:
    """Evaluate every value of ``fn`` (the recording pass). ``perturb(node, value, args)``, when given, may
    replace each node's value before later nodes use it (the error model uses it to measure rounding sensitivity)."""
    values = {name: counting.wrap(np.asarray(x, dtype=fn.dtype)) for name, x in zip(fn.input_names, inputs)}
    for name, node in fn.named_nodes():
        prim = primitives.get(node.prim)
        out = prim.np(*(values[a] for a in node.args), **prim.check_params(node.kwargs))
        out = np.asarray(out, dtype=fn.dtype)
        if perturb is not None:
            out = perturb(node, out, [values[a] for a in node.args])
        values[name] = counting.wrap(out)
    return values


def backward(fn: Function, values: dict, cotangents, rules_table=None, dtype=None) -> list[np.ndarray]:
    """Propagate the output cotangents back to the inputs (the reverse pass), with ``rules_table``
    (default: ``VJPS``), in ``dtype`` (default: ``fn.dtype``; ``object`` for mpf values and cotangents)."""
    rules_table = VJPS if rules_table is None else rules_table
    dtype = fn.dtype if dtype is None else dtype
    ct: dict = {}

    def accumulate(name, g):
        g = unbroadcast(g, fn.shapes[name])
        ct[name] = ct[name] + g if name in ct else g

    for name, v in zip(fn.outputs, cotangents):
        accumulate(name, counting.wrap(np.asarray(v, dtype=dtype)))
    for name, node in reversed(list(fn.named_nodes())):
        g = ct.pop(name, None)
        if g is None:
            continue
        prim = primitives.get(node.prim)
        params = prim.check_params(node.kwargs)
        args = [values[a] for a in node.args]
        rules = rules_table[node.prim]
        ans = values[name]
        if callable(rules):
            parts = rules(g, ans, *args, **params)
        else:
            parts = [None if rule is None else rule(g, ans, *args, **params) for rule in rules]
        for arg, part in zip(node.args, parts):
            if part is not None:
                accumulate(arg, counting.wrap(np.asarray(part, dtype=dtype)))
    return [counting.unwrap(ct[x]) if x in ct else np.zeros(s, dtype=dtype)
            for x, s in zip(fn.input_names, fn.inputs)]


def mp_vjp(fn: Function, inputs, cotangents, prec: int, rules_table=None) -> tuple[dict, list[np.ndarray]]:
    """The same reverse pass on exact values: the forward pass with the catalogue's mpmath forms and the
    backward pass with the same rules on object arrays of mpf, at ``prec`` bits. Returns every value of the
    forward pass by name and the VJP per input (object arrays; entries a rule set to 0 may be the int 0).

    The error model uses it to tell a right formula that lost digits in floating point from a wrong one."""
    with mpmath.workprec(prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
        grads = backward(fn, values, [to_mp(np.broadcast_to(np.asarray(v, np.float64), s))
                                      for v, s in zip(cotangents, fn.output_shapes)], rules_table, dtype=object)
    return values, grads


def _tape_function(fn: Function) -> str:
    numpy = "\n".join(("# " + line).rstrip() for line in render(fn, "numpy", preamble=False).rstrip().splitlines())
    return (f"# f in NumPy (what the tape computes, for reading):\n{numpy}\n\n"
            f"# the tape runs advalidate's IR of f\nf = Function.from_json({fn.to_json()!r})\n")


def _tape_vjp(backend) -> str | None:
    """The VJP call of ``type(backend)`` (a subclass of the tape calls its own ``vjp``); None for a class the script
    cannot import (defined in ``__main__`` or inside a function)."""
    cls = type(backend)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None
    top = cls.__qualname__.split(".")[0]
    return (f"from {cls.__module__} import {top}\n\n\n"
            f"def vjp(f, xs, vs):\n"
            f"    \"\"\"advalidate's reverse-mode tape ({cls.__qualname__}.vjp) on its IR of f.\"\"\"\n"
            f"    result = {cls.__qualname__}().vjp(f, xs, vs)\n"
            f"    return result.outputs, result.grads\n")


class NumpyReference(Backend):
    """advalidate's own reverse-mode tape in NumPy: the canonical linear-time VJP."""

    name = "numpy-ref"
    version = np.__version__
    dtypes = ("float64", "float32")
    primitives = VJPS
    # how a finding's bug-report script calls the tape (advalidate.bugreport); a subclass's script calls its own vjp
    vjp_script = VJPScript(requires="advalidate (the tape is advalidate's own: this script imports it)",
                           imports="from advalidate.ir import Function", vjp=_tape_vjp, function=_tape_function,
                           describe="advalidate's reverse-mode tape", version="np.__version__")

    def vjp(self, fn: Function, inputs, cotangents) -> VJP:
        with np.errstate(all="ignore"):
            values = forward(fn, inputs)
            grads = backward(fn, values, cotangents)
        return VJP([np.array(counting.unwrap(values[o])) for o in fn.outputs], [np.array(g) for g in grads])

    def work(self, fn: Function, inputs, cotangents) -> Work:
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                values = forward(fn, inputs)
            with counting.counting() as bwd:
                backward(fn, values, cotangents)
        return Work(forward=fwd.work, vjp=fwd.work + bwd.work, forward_passes=1)

