"""The PyTorch backend: eager forward of the rendered torch source, then ``torch.autograd.grad``; ``torch.func.jvp``
for forward mode; both second-order methods (``torch.func.jvp`` of a ``torch.func.vjp``, and double backward)."""

from __future__ import annotations

import numpy as np
import torch

from ..render import TORCH
from .contract import HVP, JVP, VJP, Work
from .dialect_backend import DialectBackend

__all__ = ["TorchBackend", "reverse_mode", "forward_mode", "SECOND_ORDER"]


class TorchBackend(DialectBackend):
    """Eager PyTorch on CPU: inputs become leaf tensors of the function's dtype, the VJP is one autograd call."""

    name = "torch"
    version = torch.__version__
    dtypes = ("float64", "float32")
    dialect = TORCH
    concurrent = True  # may run in a thread beside the oracle (advalidate.check.concurrent); kernels release the GIL
    hvp_methods = ("forward-over-reverse", "reverse-over-reverse")

    def vjp(self, function, inputs, cotangents) -> VJP:
        """:func:`reverse_mode` of the rendered function: the code ``work`` counts."""
        f = self.compiled(function)
        vs = [torch.from_numpy(np.array(v)) for v in cotangents]
        with torch.enable_grad():
            xs = [torch.tensor(np.asarray(x), requires_grad=True) for x in inputs]
            outs, grads = reverse_mode(f, xs, vs)
        return VJP([o.detach().numpy().copy() for o in outs],
                   [np.zeros(x.shape, dtype=function.dtype) if g is None else g.detach().numpy().copy()
                    for x, g in zip(xs, grads)])

    def work(self, function, inputs, cotangents) -> Work:
        """The aten ops of :func:`reverse_mode` (the code ``vjp`` runs), counted by
        :func:`advalidate.cost.dispatch.count_work`."""
        from ..cost.dispatch import count_work

        return count_work(self.compiled(function), list(inputs), list(cotangents), vjp=reverse_mode)

    def jvp(self, function, inputs, tangents) -> JVP:
        """:func:`forward_mode` of the rendered function: forward-mode AD with dual tensors (PyTorch's forward
        formulas, written apart from its backward ones)."""
        f = self.compiled(function)
        xs = [torch.from_numpy(np.array(x)) for x in inputs]
        ws = [torch.from_numpy(np.array(w)) for w in tangents]
        outs, ts = forward_mode(f, xs, ws)
        return JVP([o.detach().numpy().copy() for o in outs], [t.detach().numpy().copy() for t in ts])

    def jvp_work(self, function, inputs, tangents) -> Work:
        """The aten ops of :func:`forward_mode` (the code ``jvp`` runs), counted by
        :func:`advalidate.cost.dispatch.count_work`."""
        from ..cost.dispatch import count_work

        return count_work(self.compiled(function), list(inputs), list(tangents), vjp=forward_mode)

    def hvp(self, function, inputs, cotangents, directions, method) -> HVP:
        """``H_v·u`` by ``method``: forward-over-reverse is ``torch.func.jvp`` along u of ``torch.func.vjp``'s pullback
        of v (PyTorch's forward formulas applied to its backward formulas); reverse-over-reverse is double backward,
        ``torch.autograd.grad(create_graph=True)`` for ``Jᵀv`` then ``torch.autograd.grad`` of it along u (its
        backward formulas differentiated by themselves). An input ``H_v·u`` does not reach gets zeros."""
        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        f = self.compiled(function)
        vs = [torch.from_numpy(np.array(v)) for v in cotangents]
        us = [torch.from_numpy(np.array(u)) for u in directions]
        with torch.enable_grad():
            xs = [torch.tensor(np.asarray(x), requires_grad=True) for x in inputs]
            outs, hs = SECOND_ORDER[method](f, xs, vs, us)
        return HVP([o.detach().numpy().copy() for o in outs],
                   [np.zeros(x.shape, dtype=function.dtype) if h is None else _numpy(h) for x, h in zip(xs, hs)])

    def hvp_work(self, function, inputs, cotangents, directions, method) -> Work:
        """Counted from the aten ops of the forward and the whole Hessian-vector product (the code ``hvp`` runs) by
        :func:`advalidate.cost.dispatch.count_work`. Aten ops of double backward missing from its weight tables are
        charged as elementwise (and listed in its ``Tally.unknown``)."""
        from ..cost.dispatch import count_work

        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        n = len(cotangents)

        def run(f, xs, vectors):
            return SECOND_ORDER[method](f, xs, vectors[:n], vectors[n:])

        return count_work(self.compiled(function), list(inputs), [*cotangents, *directions], vjp=run)


def _forward_over_reverse(f, xs, vs, us):
    """Second order as the PyTorch backend runs it, forward over reverse: ``torch.func.jvp`` along u of
    ``x ↦ torch.func.vjp(f, x)[1](v)`` (on detached inputs; f's outputs ride along as the auxiliary value).
    Returns the outputs and ``H_v·u`` per input (never None: torch.func gives zeros to an unreached input)."""
    from torch.func import jvp, vjp

    def pullback(*xs):
        outs, pull = vjp(lambda *a: tuple(f(*a)), *xs)
        return tuple(pull(tuple(vs))), outs

    _, hs, outs = jvp(pullback, tuple(x.detach() for x in xs), tuple(us), has_aux=True)
    return outs, hs


def _reverse_over_reverse(f, xs, vs, us):
    """Second order as the PyTorch backend runs it, reverse over reverse (double backward): the VJP ``Jᵀv`` by
    ``torch.autograd.grad(create_graph=True)``, then ``torch.autograd.grad`` of it along u (the gradient of
    ``⟨Jᵀv, u⟩``, without forming that sum). ``xs`` require grad. Returns the outputs and ``H_v·u`` per input,
    None where it is zero by construction (an output or a ``Jᵀv`` that does not depend on the inputs)."""
    outs = f(*xs)
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        return outs, [None] * len(xs)
    gs = torch.autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs], create_graph=True,
                             allow_unused=True)
    terms = [(g, u) for g, u in zip(gs, us) if g is not None and g.requires_grad]
    if not terms:
        return outs, [None] * len(xs)
    hs = torch.autograd.grad([g for g, _ in terms], xs, grad_outputs=[u for _, u in terms], allow_unused=True)
    return outs, hs


def _numpy(t) -> np.ndarray:
    """A copy of tensor ``t`` as NumPy, its dtype and shape as they are. A ZeroTensor (what double backward returns
    where a formula knows the result is zero: abs's second derivative) refuses ``.numpy()`` ("Cannot convert a
    ZeroTensor to numpy. Set force=True if you need the zero array."): it is materialised, as its zeros."""
    t = t.detach()
    zero = getattr(t, "_is_zerotensor", None)
    return t.numpy(force=bool(zero and zero())).copy()


SECOND_ORDER = {"forward-over-reverse": _forward_over_reverse, "reverse-over-reverse": _reverse_over_reverse}
"""Second order as the PyTorch backend runs it, for ``hvp`` and ``hvp_work`` alike, by method."""


def reverse_mode(f, xs, vs):
    """Reverse mode as the PyTorch backend runs it, for ``vjp`` and ``work`` alike: one forward under autograd (``xs``
    require grad), one ``torch.autograd.grad``. Returns the outputs and the grads, None for an input the outputs do
    not reach."""
    outs = f(*xs)
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        return outs, [None] * len(xs)
    grads = torch.autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs], allow_unused=True)
    return outs, grads


def forward_mode(f, xs, ws):
    """Forward mode as the PyTorch backend runs it, for ``jvp`` and ``jvp_work`` alike: one ``torch.func.jvp`` (on
    detached inputs)."""
    from torch.func import jvp

    return jvp(lambda *a: tuple(f(*a)), tuple(x.detach() for x in xs), tuple(ws))
