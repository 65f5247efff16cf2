"""Planted custom-VJP mistakes: a user's own ops with hand-written VJPs, right and wrong.

Three numerically careful ops a user writes for themselves, each as a ``jax.custom_vjp`` and as a
``torch.autograd.Function``:

- ``softplus(x) = log(1 + e^x)``, computed as ``max(x, 0) + log1p(e^-|x|)``; VJP ``g·sigmoid(x)``;
- ``log1mexp(x) = log(1 - e^-x)`` for ``x > 0``, computed with ``expm1`` below 1.5 and ``log1p`` above; VJP
  ``g / expm1(x)`` (Mächler's rule switches at ``ln 2``, but ``jnp.log1p`` is up to 128 ulps off on (-0.414,
  -0.358), which ``log1p(-e^-x)`` reaches for x in (0.88, 1.03): the right op written so failed ``check_op`` on
  jax, 1.01x the tolerance through ``atan2(log1mexp(x), x)``; ``log(-expm1(-x))`` stays within 3 ulps up to 1.5,
  as in ``examples/log1mexp_ops.py``);
- ``logaddexp(x, y) = log(e^x + e^y)`` with NumPy broadcasting, computed as ``max + log1p(e^-|x - y|)``;
  VJP ``g·e^(x - out) = g·sigmoid(x - y)`` and ``g·sigmoid(y - x)``, each summed back to its operand's shape.

Each planted mistake is one backward rule that differs from the right one in the way people get it wrong
(the docstring of each entry says how, and what it costs). A backward rule is written once, against an
array namespace ``xp`` (``jax.numpy`` or ``torch``), and bound into both libraries' mechanisms by
:func:`jax_op` and :func:`torch_op`, so the jax and the torch op of one entry carry the same mistake.

``PLANTED`` maps an entry's name to a :class:`Planted`: the op's mathematics, the two implementations and
the verdict expected of a checker per library (a finding kind, or None where the op is right). Two entries
are right by the library's grace rather than by their author: see ``broadcast-not-summed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mpmath

__all__ = ["Planted", "PLANTED", "OPS", "register", "jax_op", "torch_op"]



# ---------------------------------------------------------------- the mathematics (the oracle's side)


@dataclass(frozen=True)
class Op:
    """An op's mathematics: name, arity, scalar mpmath form, and the open interval each operand lives in."""

    name: str
    arity: int
    mp: Callable
    domain: tuple  # (low, high) per operand, None for unbounded
    broadcasting: bool = False


OPS = {
    "softplus": Op("softplus", 1, lambda x: mpmath.log1p(mpmath.exp(x)), ((None, None),)),
    "log1mexp": Op("log1mexp", 1, lambda x: mpmath.log(-mpmath.expm1(-x)), ((0.0, None),)),
    "logaddexp": Op("logaddexp", 2, lambda x, y: mpmath.log(mpmath.exp(x) + mpmath.exp(y)),
                    ((None, None), (None, None)), broadcasting=True),
}


# ---------------------------------------------------------------- the forwards, careful in every library


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus_forward(xp, x):
    return xp.maximum(x, 0 * x) + xp.log1p(xp.exp(-xp.abs(x)))


def log1mexp_forward(xp, x):
    return xp.where(x <= 1.5, xp.log(-xp.expm1(-x)), xp.log1p(-xp.exp(-x)))  # not ln 2: jnp.log1p (module doc)


def logaddexp_forward(xp, x, y):
    return xp.maximum(x, y) + xp.log1p(xp.exp(-xp.abs(x - y)))


FORWARDS = {"softplus": softplus_forward, "log1mexp": log1mexp_forward, "logaddexp": logaddexp_forward}


def _sum_to(xp, g, shape):
    """``g`` summed over the dimensions broadcasting added to an operand of ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    if axes:  # torch.sum over an empty tuple of axes would sum everything
        g = xp.sum(g, axis=axes)
    return xp.reshape(g, tuple(shape))


def _mean_to(xp, g, shape):
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    if axes:
        g = xp.mean(g, axis=axes)
    return xp.reshape(g, tuple(shape))


# ---------------------------------------------------------------- the backward rules, right and wrong
# Each takes (xp, g, out, *operands) and returns one cotangent per operand.


def softplus_vjp(xp, g, out, x):
    return (g * _sigmoid(xp, x),)


def softplus_uses_output(xp, g, out, x):
    return (g * _sigmoid(xp, out),)


def softplus_scalar_only(xp, g, out, x):
    return (xp.sum(g) * _sigmoid(xp, x),)


def softplus_reruns_forward(xp, g, out, x):
    flat_x, flat_g, parts = xp.reshape(x, (-1,)), xp.reshape(g, (-1,)), []
    for i in range(flat_x.shape[0]):
        _, slope = _softplus_and_slope(xp, flat_x)  # the whole forward again, for one output element
        parts.append(flat_g[i] * slope[i])
    if not parts:
        return (g * 0,)
    return (xp.reshape(xp.stack(parts), x.shape),)


def _softplus_and_slope(xp, x):
    """The forward and its slope from one shared exp: the helper the cost mistake calls once per element."""
    e = xp.exp(-xp.abs(x))
    return xp.maximum(x, 0 * x) + xp.log1p(e), xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def log1mexp_vjp(xp, g, out, x):
    return (g / xp.expm1(x),)


def log1mexp_wrong_sign(xp, g, out, x):
    return (-g / xp.expm1(x),)


def log1mexp_ignores_v(xp, g, out, x):
    return (1 / xp.expm1(x) + 0 * g,)


def log1mexp_float32(xp, g, out, x):
    slope32 = 1 / xp.expm1(_cast(xp, x, xp.float32))
    return (g * _cast(xp, slope32, x.dtype),)


def _cast(xp, x, dtype):
    return x.to(dtype) if xp.__name__ == "torch" else x.astype(dtype)


# e^(x - out) = sigmoid(x - y): the sigmoid form keeps its digits where |x| is huge (out = x + log 2 rounds to x
# at x = 7e154, so e^(x - out) is 1 where it should be 0.5: check_op found that in an earlier version).


def logaddexp_vjp(xp, g, out, x, y):
    return _sum_to(xp, g * _sigmoid(xp, x - y), x.shape), _sum_to(xp, g * _sigmoid(xp, y - x), y.shape)


def logaddexp_not_summed(xp, g, out, x, y):
    return g * _sigmoid(xp, x - y), g * _sigmoid(xp, y - x)


def logaddexp_mean_over_broadcast(xp, g, out, x, y):
    return _mean_to(xp, g * _sigmoid(xp, x - y), x.shape), _mean_to(xp, g * _sigmoid(xp, y - x), y.shape)


# ---------------------------------------------------------------- binding a rule into each library


def jax_op(name: str, forward: Callable, rule: Callable):
    """``forward`` and ``rule`` as a ``jax.custom_vjp``: the residuals are the operands and the output."""
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def op(*xs):
        return forward(jnp, *xs)

    def op_fwd(*xs):
        out = forward(jnp, *xs)
        return out, (out, xs)

    def op_bwd(res, g):
        out, xs = res
        return tuple(rule(jnp, g, out, *xs))

    op.defvjp(op_fwd, op_bwd)
    op.__name__ = op.__qualname__ = name
    return op


def torch_op(name: str, forward: Callable, rule: Callable):
    """``forward`` and ``rule`` as a ``torch.autograd.Function`` subclass called ``name``."""
    import torch

    def fwd(ctx, *xs):
        out = forward(torch, *xs)
        ctx.save_for_backward(out, *xs)
        return out

    def bwd(ctx, g):
        out, *xs = ctx.saved_tensors
        return tuple(rule(torch, g, out, *xs))

    cls = type(name, (torch.autograd.Function,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd),
                                                   "__module__": __name__, "__doc__": rule.__doc__})
    cls.__qualname__ = name
    return cls


# ---------------------------------------------------------------- the entries


@dataclass(frozen=True)
class Planted:
    """One custom op with a hand-written VJP, its mistake (or none) and the verdict it must get."""

    name: str
    op: str  # a key of OPS
    rule: Callable
    expected: dict  # library -> finding kind it must produce, None where the op is right
    doc: str

    @property
    def math(self) -> Op:
        return OPS[self.op]

    @property
    def ident(self) -> str:
        """The entry's name as a Python identifier: ``planted_<name>`` is its advalidate op."""
        return self.name.replace("-", "_")

    @property
    def op_name(self) -> str:
        return "planted_" + self.ident

    @property
    def jax_op(self):
        """The ``jax.custom_vjp`` function (a module-level name here, so the source of a finding can call it)."""
        return globals()["jax_" + self.ident]

    @property
    def torch_op(self):
        """The ``torch.autograd.Function`` subclass (a module-level name here)."""
        return globals()["Torch_" + self.ident]

    @property
    def mistaken(self) -> bool:
        return any(kind is not None for kind in self.expected.values())


def _entry(name, op, rule, jax, torch, doc):
    return name, Planted(name, op, rule, {"jax": jax, "torch": torch}, " ".join(doc.split()))


PLANTED = dict([
    _entry("softplus", "softplus", softplus_vjp, None, None, """
        Right: g·sigmoid(x), the sigmoid computed from e^-|x| so that neither tail overflows."""),
    _entry("log1mexp", "log1mexp", log1mexp_vjp, None, None, """
        Right: d/dx log(1 - e^-x) = e^-x / (1 - e^-x) = 1 / expm1(x), exact to a rounding near 0 and in the
        tail."""),
    _entry("logaddexp", "logaddexp", logaddexp_vjp, None, None, """
        Right: g·sigmoid(x - y) and g·sigmoid(y - x) (= e^(x - out), e^(y - out), without out's rounding), each
        summed over the dimensions broadcasting added to its operand."""),
    _entry("broadcast-not-summed", "logaddexp", logaddexp_not_summed, "error", None, """
        Forgets to sum over broadcast dimensions: returns g·sigmoid(x - y) at the output's shape for an operand
        that was broadcast. jax refuses it (its custom_vjp checks that a cotangent has its primal's type:
        ValueError), which advalidate must report as an error finding naming the shapes, not crash on; torch
        quietly sums a gradient whose shape its input expands to (``validate_outputs``), so the torch op is
        right: the mistake costs nothing there."""),
    _entry("broadcast-mean", "logaddexp", logaddexp_mean_over_broadcast, "wrong-value", "wrong-value", """
        Reduces over the broadcast dimensions with a mean instead of a sum (the shapes now agree, so no
        library complains): the cotangent of a broadcast operand is short by the number of copies."""),
    _entry("wrong-sign", "log1mexp", log1mexp_wrong_sign, "wrong-value", "wrong-value", """
        Wrong sign: -g / expm1(x), the derivative of log(1 - e^x) (or of -x dropped on the way); right in
        magnitude everywhere, so a check of |grad| or of a loss going down on one step can miss it."""),
    _entry("ignores-v-scale", "log1mexp", log1mexp_ignores_v, "wrong-value", "wrong-value", """
        Drops the incoming cotangent: returns the local derivative 1 / expm1(x), the gradient for v = 1, as
        when the rule was tested through grad(sum(f)) only."""),
    _entry("scalar-only", "softplus", softplus_scalar_only, "wrong-value", "wrong-value", """
        Right only for scalar inputs: treats the cotangent as the scalar of a loss, sum(g)·sigmoid(x); the
        shape is right and so is the value for a one-element input, and nothing else."""),
    _entry("uses-output", "softplus", softplus_uses_output, "wrong-value", "wrong-value", """
        Uses the output where the input was meant: g·sigmoid(out) with out = softplus(x), the habit of rules
        written from the output (exp, tanh, sigmoid) carried to one that needs the input."""),
    _entry("float32-inside", "log1mexp", log1mexp_float32, "wrong-value", "wrong-value", """
        Computes in float32 inside a float64 op: the slope 1 / expm1(x) evaluated on x cast to float32 and
        cast back, a relative error near 1e-7 (float32's rounding) that a float64 caller never sees."""),
    _entry("reruns-forward", "softplus", softplus_reruns_forward, "cost-bound", "cost-bound", """
        Right values at the wrong cost: a backward that loops over the output elements and re-runs the whole
        forward (with its slope) for each one, O(n²) work for an O(n) op."""),
])


# The implementations are module-level names, ``jax_<ident>`` and ``Torch_<ident>``: the program a finding prints
# imports this module and calls them from here.
for _p in PLANTED.values():
    globals()["jax_" + _p.ident] = jax_op("jax_" + _p.ident, FORWARDS[_p.op], _p.rule)
    globals()["Torch_" + _p.ident] = torch_op("Torch_" + _p.ident, FORWARDS[_p.op], _p.rule)
del _p

DOMAINS = {"softplus": None, "log1mexp": lambda x: x, "logaddexp": None}  # gap functions: positive inside


def register(name: str) -> str:
    """Register entry ``name`` with advalidate (``extend.defop``) as a user would; returns the op's name.
    ``advalidate.extend.remove`` unregisters it."""
    from advalidate import extend

    p = PLANTED[name]
    extend.defop(p.op_name, mp=p.math.mp, domain=DOMAINS[p.op], jax=p.jax_op, torch=p.torch_op, doc=p.doc)
    return p.op_name
