"""The PyTorch backend: eager forward of the rendered torch source, then ``torch.autograd.grad``."""

from __future__ import annotations

import numpy as np
import torch

from ..render import TORCH
from .contract import JVP, VJP, Work
from .dialect_backend import DialectBackend

__all__ = ["TorchBackend"]


class TorchBackend(DialectBackend):
    """Eager PyTorch on CPU: inputs become leaf tensors of the function's dtype, the VJP is one autograd call."""

    name = "torch"
    version = torch.__version__
    dtypes = ("float64", "float32")
    dialect = TORCH
    concurrent = True  # may run in a thread beside the oracle (advalidate.check.concurrent); kernels release the GIL

    def vjp(self, function, inputs, cotangents) -> VJP:
        f = self.compiled(function)
        with torch.enable_grad():
            xs = [torch.tensor(np.asarray(x), requires_grad=True) for x in inputs]
            outs = f(*xs)
            pairs = [(o, torch.from_numpy(np.array(v))) for o, v in zip(outs, cotangents) if o.requires_grad]
            grads = [None] * len(xs)
            if pairs:
                grads = torch.autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs],
                                            allow_unused=True)
        return VJP([o.detach().numpy().copy() for o in outs],
                   [np.zeros(x.shape, dtype=function.dtype) if g is None else g.detach().numpy().copy()
                    for x, g in zip(xs, grads)])

    def work(self, function, inputs, cotangents) -> Work:
        """Counted from the aten ops of forward and backward by :func:`advalidate.cost.dispatch.count_work`."""
        from ..cost.dispatch import count_work

        return count_work(self.compiled(function), list(inputs), list(cotangents))

    def jvp(self, function, inputs, tangents) -> JVP:
        """``torch.func.jvp`` of the rendered function: forward-mode AD with dual tensors (PyTorch's forward
        formulas, written apart from its backward ones)."""
        from torch.func import jvp

        f = self.compiled(function)
        xs = tuple(torch.from_numpy(np.array(x)) for x in inputs)
        ws = tuple(torch.from_numpy(np.array(w)) for w in tangents)
        outs, ts = jvp(lambda *a: tuple(f(*a)), xs, ws)
        return JVP([o.detach().numpy().copy() for o in outs], [t.detach().numpy().copy() for t in ts])

    def jvp_work(self, function, inputs, tangents) -> Work:
        """Counted from the aten ops of ``torch.func.jvp`` by :func:`advalidate.cost.dispatch.count_work`."""
        from ..cost.dispatch import count_work

        return count_work(self.compiled(function), list(inputs), list(tangents), vjp=_standard_jvp)


def _standard_jvp(f, xs, ws):
    """Forward mode as the PyTorch backend runs it: one ``torch.func.jvp`` (on detached inputs)."""
    from torch.func import jvp

    return jvp(lambda *a: tuple(f(*a)), tuple(x.detach() for x in xs), tuple(ws))
