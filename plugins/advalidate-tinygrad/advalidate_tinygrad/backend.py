"""The tinygrad backend: reverse mode by ``Tensor.gradient`` (tinygrad 0.14's API: ``loss.gradient(*targets)``; there
is no ``requires_grad`` any more), on tinygrad's CPU device.

tinygrad is lazy: :func:`reverse_mode` builds the graph of the rendered function and of its VJP, and :func:`realize`
has tinygrad schedule that graph into kernels and run them. The backend's ``vjp`` and ``work`` both go through these
two functions, on the same rendered function: ``work`` counts the kernels of the very schedule it then runs, and gives
the derivatives that run computed (``Work.values``), so the work is counted on the code whose values were checked.

Several outputs are pulled back at once, as a tinygrad user does it: the gradient of ``Σ_k sum(o_k · v_k)``
(``Tensor.gradient`` takes one root; ``gradient=`` seeds only a single output).
"""

from __future__ import annotations

import os

# tinygrad picks its device from $DEV (0.14: CPU=1 is deprecated for DEV=CPU); the CPU device compiles each new
# kernel to C with clang (DEV=CPU:LLVM would use LLVM instead). Set before tinygrad is imported.
os.environ.setdefault("DEV", "CPU")

import numpy as np  # noqa: E402
import tinygrad  # noqa: E402
from tinygrad import Tensor  # noqa: E402
from tinygrad.engine.realize import run_linear  # noqa: E402

from advalidate.plugin import VJP, DialectBackend, Work  # noqa: E402

from .dialect import TINYGRAD, UNSUPPORTED  # noqa: E402

__all__ = ["TinygradBackend", "reverse_mode", "forward", "realize", "tensor", "VERSION"]


def _version() -> str:
    from importlib.metadata import version

    return getattr(tinygrad, "__version__", None) or version("tinygrad")


VERSION = _version()


def tensor(x) -> Tensor:
    """A tinygrad tensor of its own buffer holding ``x``. tinygrad makes a 0-d array a constant UOp, and UOps are
    hash-consed: two 0-d inputs of equal value would be one UOp, and their gradients conflated (d(a·b)/da at a = b =
    0.25 comes out 0.5: tests/test_known_evidence.py). A 0-d input is made from a 1-element buffer, reshaped to (),
    so that each input is a leaf of its own, as a model's parameters are."""
    x = np.asarray(x)
    return Tensor(x) if x.ndim else Tensor(x.reshape(1)).reshape(())


def forward(f, xs):
    """The rendered function at ``xs`` (NumPy arrays): fresh input tensors, the outputs' lazy graph."""
    return list(f(*[tensor(x) for x in xs]))


def reverse_mode(f, xs, vs):
    """The lazy graph of ``f`` at ``xs`` and of its VJP along ``vs``: ``Tensor.gradient`` of ``Σ_k sum(o_k · v_k)``
    with respect to every input (an input the outputs do not reach gets tinygrad's zeros)."""
    inputs = [tensor(x) for x in xs]
    outs = list(f(*inputs))
    loss = None
    for o, v in zip(outs, vs):
        term = (o * tensor(v)).sum()
        loss = term if loss is None else loss + term
    return outs, loss.gradient(*inputs)


def realize(tensors, count=None):
    """Schedule ``tensors`` into tinygrad's kernels and run them (what ``Tensor.realize`` does, in its two steps), after
    handing the schedule to ``count`` if given; the tensors' values as NumPy arrays."""
    if tensors:
        linear, var_vals = Tensor.linear_with_vars(*tensors)
        if count is not None:
            count(linear)
        run_linear(linear, var_vals)
    return [t.numpy() for t in tensors]


class TinygradBackend(DialectBackend):
    """tinygrad: the rendered tinygrad source under ``Tensor.gradient``, on the CPU device."""

    name = "tinygrad"
    version = VERSION
    dtypes = ("float64", "float32")
    dialect = TINYGRAD
    unsupported = UNSUPPORTED
    device = "CPU"

    def vjp(self, function, inputs, cotangents) -> VJP:
        """:func:`reverse_mode` of the rendered function, realized by :func:`realize` (the code ``work`` counts)."""
        outs, grads = reverse_mode(self.compiled(function), inputs, cotangents)
        values = realize([*outs, *grads])
        return VJP(values[:len(outs)], values[len(outs):])

    def work(self, function, inputs, cotangents) -> Work:
        """The kernels tinygrad schedules for the forward alone (:func:`forward`) and for the VJP
        (:func:`reverse_mode`, realized by :func:`realize`, the code ``vjp`` runs), by
        :func:`advalidate_tinygrad.work.count_linear`; the VJP's schedule is then run and its derivatives returned."""
        from .work import count_linear

        f = self.compiled(function)
        tallies = []
        realize(forward(f, inputs), count=lambda linear: tallies.append(count_linear(linear)))
        outs, grads = reverse_mode(f, inputs, cotangents)
        values = realize([*outs, *grads], count=lambda linear: tallies.append(count_linear(linear)))
        return Work(forward=tallies[0].work, vjp=tallies[1].work, forward_passes=1, values=values[len(outs):])
