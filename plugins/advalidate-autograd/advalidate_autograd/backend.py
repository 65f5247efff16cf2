"""The autograd backend: one ``autograd.make_vjp`` over the rendered autograd source."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from autograd import make_vjp
from autograd.builtins import tuple as ag_tuple

from advalidate.backends.contract import VJP, Work
from advalidate.backends.dialect_backend import DialectBackend

from .dialect import AUTOGRAD

__all__ = ["AutogradBackend"]


class AutogradBackend(DialectBackend):
    """HIPS autograd, reverse mode over a tuple of inputs and a tuple of outputs."""

    name = "autograd"
    version = version("autograd")
    dtypes = ("float64", "float32")
    dialect = AUTOGRAD

    def vjp(self, function, inputs, cotangents) -> VJP:
        f = self.compiled(function)

        def packed(xs):
            return ag_tuple(f(*xs))  # a traced tuple, so several outputs share one backward pass

        pullback, outs = make_vjp(packed)(tuple(np.asarray(x) for x in inputs))
        grads = pullback(tuple(np.asarray(v) for v in cotangents))
        return VJP([np.array(o) for o in outs], [np.array(g) for g in grads])

    def work(self, function, inputs, cotangents) -> Work:
        """Counted on autograd's trace by :func:`advalidate_autograd.work.count_work`."""
        from .work import count_work

        return count_work(self.compiled(function), list(inputs), list(cotangents))
