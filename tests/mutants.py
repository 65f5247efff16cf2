"""Planted-bug backends: the NumPy reference tape with exactly one defect each.

Each entry: name -> (factory, the finding kind it must produce). A verifier is only as good as the bugs it
catches; `tests/test_quality_mutants.py` and `benchmarks/detection.py` run them.
"""

from __future__ import annotations

import numpy as np

from advalidate.backends import numpy_ref
from advalidate.backends.contract import VJP, Work
from advalidate.backends.numpy_ref import VJPS, NumpyReference


class Mutant(NumpyReference):
    """The reference tape with some VJP rules replaced (and optionally another unbroadcast or accumulation). It has no
    second order: its HVP would differentiate the planted VJP rule and show the same bug again in mode hvp (the planted
    second-order bugs are tests/hvp_mutants.py's)."""

    hvp = hvp_work = None

    def __init__(self, name, rules=None, unbroadcast=None, accumulate_overwrites=False):
        self.name = name
        self.rules = rules or {}
        self.primitives = dict(VJPS, **self.rules)
        self._unbroadcast = unbroadcast
        self._overwrite = accumulate_overwrites

    def vjp(self, fn, inputs, cotangents):
        saved_rules = {k: VJPS[k] for k in self.rules}
        saved_unbroadcast = numpy_ref.unbroadcast
        VJPS.update(self.rules)
        if self._unbroadcast:
            numpy_ref.unbroadcast = self._unbroadcast
        try:
            if self._overwrite:
                return self._vjp_overwriting(fn, inputs, cotangents)
            return super().vjp(fn, inputs, cotangents)
        finally:
            VJPS.update(saved_rules)
            numpy_ref.unbroadcast = saved_unbroadcast

    def _vjp_overwriting(self, fn, inputs, cotangents):
        """The tape's backward pass, with fan-out cotangents overwritten instead of added."""
        with np.errstate(all="ignore"):
            values = numpy_ref.forward(fn, inputs)
            ct = {}
            for name, v in zip(fn.outputs, cotangents):
                ct[name] = np.asarray(v, dtype=fn.dtype)
            for name, node in reversed(list(fn.named_nodes())):
                g = ct.pop(name, None)
                if g is None:
                    continue
                prim = numpy_ref.primitives.get(node.prim)
                params = prim.check_params(node.kwargs)
                args = [values[a] for a in node.args]
                rules = VJPS[node.prim]
                parts = rules(g, values[name], *args, **params) if callable(rules) else [
                    None if r is None else r(g, values[name], *args, **params) for r in rules]
                for arg, part in zip(node.args, parts):
                    if part is not None:
                        ct[arg] = numpy_ref.unbroadcast(np.asarray(part, dtype=fn.dtype), fn.shapes[arg])  # bug: =
            grads = [np.asarray(ct[x]) if x in ct else np.zeros(s, dtype=fn.dtype)
                     for x, s in zip(fn.input_names, fn.inputs)]
        return VJP([np.asarray(values[o]) for o in fn.outputs], grads)


def _first_slice_unbroadcast(g, shape):
    """Bug: takes one slice over broadcast dimensions instead of summing them."""
    if g.shape == tuple(shape):
        return g
    if g.size == 0:  # no slice to take (an empty axis): the sum is zeros, and so is this
        return np.zeros(shape, dtype=g.dtype)
    lead = g.ndim - len(shape)
    g = g[(0,) * lead] if lead else g
    index = tuple(slice(0, 1) if d == 1 and gd != 1 else slice(None) for d, gd in zip(shape, g.shape))
    return g[index].reshape(shape)


def _transposed_matmul_a(g, ans, a, b):
    # bug: g @ b instead of g @ b.T when b is square (right only when b is symmetric)
    if b.ndim == 2 and b.shape[0] == b.shape[1] and a.ndim == 2:
        return np.matmul(g, b)
    return numpy_ref.grad_matmul_a(g, ans, a, b)


def _transposed_matmul_b(g, ans, a, b):
    # bug: a @ g instead of a.T @ g when a is square (right only when a is symmetric)
    if a.ndim == 2 and a.shape[0] == a.shape[1]:
        return np.matmul(a, g)
    return numpy_ref.grad_matmul_b(g, ans, a, b)


def _exp_in_float32(g, ans, x):
    return (np.asarray(g, np.float32) * np.asarray(ans, np.float32)).astype(g.dtype)


def _logsumexp_unshifted(g, ans, x, axis=None):
    # bug: exp(x) / sum(exp(x)) without subtracting the max: overflows for large logits
    e = np.exp(x)
    s = np.sum(e, axis=axis, keepdims=True)
    return numpy_ref._keep(g, axis) * (e / s)


def _softmax_unshifted(g, ans, x, axis=-1):
    e = np.exp(x)
    s = e / np.sum(e, axis=axis, keepdims=True)
    return s * (g - np.sum(g * s, axis=axis, keepdims=True))


class SignOfV(NumpyReference):
    """Bug: ignores the scale of the cotangent (uses its sign)."""

    name = "ignores-v-scale"

    def vjp(self, fn, inputs, cotangents):
        return super().vjp(fn, inputs, [np.sign(v) for v in cotangents])


class Jacobian(NumpyReference):
    """Right values, computed the forward-mode way: the whole Jacobian, one backward pass per output element."""

    name = "materialises-jacobian"

    def work(self, fn, inputs, cotangents):
        with np.errstate(all="ignore"):
            with numpy_ref.counting.counting() as fwd:
                values = numpy_ref.forward(fn, inputs)
            with numpy_ref.counting.counting() as bwd:
                for k, shape in enumerate(fn.output_shapes):
                    for idx in np.ndindex(*shape):  # one backward pass per row of the Jacobian
                        basis = [np.zeros(s, dtype=fn.dtype) for s in fn.output_shapes]
                        basis[k][idx] = 1
                        numpy_ref.backward(fn, values, basis)
        return Work(fwd.work, fwd.work + bwd.work, 1)


class RerunsForward(NumpyReference):
    """Right values, but evaluates the forward once per output element (as if differentiating each separately)."""

    name = "reruns-forward"

    def work(self, fn, inputs, cotangents):
        m = int(sum(np.prod(s) for s in fn.output_shapes))
        with np.errstate(all="ignore"):
            with numpy_ref.counting.counting() as fwd:
                numpy_ref.forward(fn, inputs)
            with numpy_ref.counting.counting() as total:
                for _ in range(max(m, 1)):
                    values = numpy_ref.forward(fn, inputs)
                numpy_ref.backward(fn, values, cotangents)
        return Work(fwd.work, total.work, max(m, 1))


MUTANTS = {
    "tanh-derivative": (lambda: Mutant("tanh-derivative", {"tanh": (lambda g, ans, x: g * (1 - ans),)}),
                        "wrong-value"),
    "sub-sign": (lambda: Mutant("sub-sign", {"sub": (lambda g, ans, a, b: g, lambda g, ans, a, b: g)}),
                 "wrong-value"),
    "broadcast-not-summed": (lambda: Mutant("broadcast-not-summed", unbroadcast=_first_slice_unbroadcast),
                             "wrong-value"),
    "matmul-transposed": (lambda: Mutant("matmul-transposed", {"matmul": (_transposed_matmul_a,
                                                                           _transposed_matmul_b)}),
                          "wrong-value"),
    "fan-out-overwrites": (lambda: Mutant("fan-out-overwrites", accumulate_overwrites=True), "wrong-value"),
    "exp-in-float32": (lambda: Mutant("exp-in-float32", {"exp": (_exp_in_float32,)}), "wrong-value"),
    "sin-off-by-1e-9": (lambda: Mutant("sin-off-by-1e-9", {"sin": (lambda g, ans, x: g * np.cos(x) * (1 + 1e-9),)}),
                        "wrong-value"),
    "softmax-overflow": (lambda: Mutant("softmax-overflow", {"logsumexp": (_logsumexp_unshifted,),
                                                              "softmax": (_softmax_unshifted,)}), "nan-inf"),
    "nan-in-sin": (lambda: Mutant("nan-in-sin", {"sin": (lambda g, ans, x: g * np.where(np.abs(x) < 0.5, np.nan,
                                                                                        np.cos(x)),)}), "nan-inf"),
    "ignores-v-scale": (SignOfV, "wrong-value"),
    "materialises-jacobian": (Jacobian, "cost-bound"),
    "reruns-forward": (RerunsForward, "cost-bound"),
}
