"""The PyTensor backend: the rendered PyTensor graph differentiated by ``pytensor.grad`` (reverse mode),
``pytensor.gradient.pushforward`` (forward mode, PyTensor's default: two pullbacks) and both second-order methods
(a pushforward of the gradient, a gradient of the gradient), each compiled by ``pytensor.function`` in the backend's
mode (:attr:`PyTensorBackend.mode`, PyTensor's default ``NUMBA``) and run on NumPy arrays.

Each mode is one function of symbolic variables (:func:`reverse_mode`, :func:`forward_mode`, :data:`SECOND_ORDER`)
turned into one compiled program per function by :meth:`PyTensorBackend.program`: the derivative methods run that
compiled program, and the work methods count the nodes of the very same compiled graph
(``program.fn.maker.fgraph``) and give back the derivatives it computed: the work is counted on the code whose values
are checked. Float64 is PyTensor's ``floatX``, set on import.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import pushforward

from advalidate.plugin import HVP, JVP, VJP, CallCounter, DialectBackend, Work

from .dialect import PYTENSOR, UNSUPPORTED

pytensor.config.floatX = "float64"

__all__ = ["PyTensorBackend", "reverse_mode", "forward_mode", "SECOND_ORDER", "Program"]


def _inner(vectors, values):
    """``Σ_i sum(vectors_i · values_i)``: the scalar whose gradient pulls ``values`` back along ``vectors``."""
    return pt.add(*[(v * y).sum() for v, y in zip(vectors, values)]) if values else pt.constant(0.0)


def reverse_mode(outputs, xs, vectors):
    """``pytensor.grad`` of the scalar ``Σ_i <vectors_i, outputs_i>`` (the cotangents are inputs of the compiled
    function): one reverse pass for every output at once, PyMC's way to a gradient; an input the outputs do not
    reach gets zeros.

    Not ``pytensor.gradient.pullback``: with several outputs it takes each cotangent as the *total* gradient of its
    output (``grad(known_grads=...)``), so an output that another output depends on loses the other's part (and a
    repeated output all but one cotangent); tests/test_known_evidence.py reproduces it, the README says more."""
    return list(pytensor.grad(_inner(vectors, outputs), list(xs), disconnected_inputs="ignore",
                              return_disconnected="zero"))


def forward_mode(outputs, xs, vectors):
    """``pytensor.gradient.pushforward`` of ``outputs`` along ``vectors`` (one tangent per input): PyTensor's default,
    the transpose of a pullback (two ``pytensor.gradient.pullback`` calls, so its bug with related outputs shows
    here: the known behaviours in mode jvp); an output the inputs do not reach gets zeros."""
    return list(pushforward(list(outputs), list(xs), list(vectors), disconnected_outputs="ignore",
                            return_disconnected="zero"))


def _forward_over_reverse(outputs, xs, vs, us):
    """``H_v·u``: the pushforward along ``us`` of the pullback of ``vs``."""
    return forward_mode(reverse_mode(outputs, xs, vs), xs, us)


def _reverse_over_reverse(outputs, xs, vs, us):
    """``H_v·u``: the gradient of ``<Jᵀv, u>`` (``pytensor.gradient.hessian_vector_product``'s method), both passes
    by :func:`reverse_mode`."""
    return reverse_mode(reverse_mode(outputs, xs, vs), xs, us)


SECOND_ORDER = {"forward-over-reverse": _forward_over_reverse, "reverse-over-reverse": _reverse_over_reverse}
"""Second order by method, for ``hvp`` and ``hvp_work`` alike."""


@dataclass
class Program:
    """A compiled program: ``fn(*inputs, *vectors)`` returns the ``n_outputs`` outputs then the derivatives;
    ``forward_passes`` is how many times the rendered function was called to build its graph."""

    fn: object
    n_outputs: int
    forward_passes: int

    def __call__(self, inputs, vectors):
        values = self.fn(*inputs, *vectors)
        return list(values[:self.n_outputs]), list(values[self.n_outputs:])


def _variables(prefix, shapes, dtype):
    return [pt.tensor(f"{prefix}{i}", dtype=dtype, shape=tuple(s)) for i, s in enumerate(shapes)]


class PyTensorBackend(DialectBackend):
    """PyTensor: the rendered graph, its derivative by PyTensor's symbolic AD, compiled by ``pytensor.function``."""

    name = "pytensor"
    version = pytensor.__version__
    dtypes = ("float64",)
    dialect = PYTENSOR
    unsupported = UNSUPPORTED
    mode = "NUMBA"  # PyTensor 3's default (its FAST_RUN): the graph rewritten, fused and compiled by numba
    hvp_methods = ("forward-over-reverse", "reverse-over-reverse")
    cache_size = 256

    def _mode(self):
        return pytensor.compile.mode.get_mode(self.mode)

    def build(self, kind, function, method=None) -> Program:
        """Compile ``function``'s graph with its derivative of ``kind`` (``"forward"``, ``"vjp"``, ``"jvp"``,
        ``"hvp"`` by ``method``): the one program the derivative method runs and the work method counts."""
        f = CallCounter(self.compiled(function))
        dtype = function.dtype
        xs = _variables("x", function.inputs, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            outputs = list(f(*xs))
            if kind == "forward":
                vectors, derivatives = [], []
            elif kind == "vjp":
                vectors = _variables("c", function.output_shapes, dtype)
                derivatives = reverse_mode(outputs, xs, vectors)
            elif kind == "jvp":
                vectors = _variables("w", function.inputs, dtype)
                derivatives = forward_mode(outputs, xs, vectors)
            elif kind == "hvp":
                if method not in SECOND_ORDER:
                    raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
                vs = _variables("c", function.output_shapes, dtype)
                us = _variables("u", function.inputs, dtype)
                vectors = [*vs, *us]
                derivatives = SECOND_ORDER[method](outputs, xs, vs, us)
            else:
                raise ValueError(kind)
            fn = pytensor.function([*xs, *vectors], [*outputs, *derivatives], mode=self._mode(),
                                   on_unused_input="ignore")
        return Program(fn, len(outputs), f.n)

    def program(self, kind, function, method=None) -> Program:
        """:meth:`build`, cached per function (a compiled PyTensor function is reused for every point)."""
        cache = self.__dict__.setdefault("_programs", {})
        key = (kind, method, function)
        if key not in cache:
            if len(cache) >= self.cache_size:
                cache.pop(next(iter(cache)))
            cache[key] = self.build(kind, function, method)
        return cache[key]

    def _work(self, function, inputs, vectors, kind, method=None) -> Work:
        from .work import count_fgraph

        forward = count_fgraph(self.program("forward", function).fn.maker.fgraph, list(inputs))
        program = self.program(kind, function, method)
        both = count_fgraph(program.fn.maker.fgraph, [*inputs, *vectors])
        _, derivatives = program(inputs, vectors)
        return Work(forward=forward.work, vjp=both.work, forward_passes=program.forward_passes,
                    values=[np.asarray(d) for d in derivatives])

    def vjp(self, function, inputs, cotangents) -> VJP:
        """The compiled pullback (:func:`reverse_mode`; the program ``work`` counts)."""
        outs, grads = self.program("vjp", function)(inputs, cotangents)
        return VJP(outs, grads)

    def work(self, function, inputs, cotangents) -> Work:
        """The Apply nodes of the compiled pullback's graph, by :func:`advalidate_pytensor.work.count_fgraph`."""
        return self._work(function, inputs, cotangents, "vjp")

    def jvp(self, function, inputs, tangents) -> JVP:
        """The compiled pushforward (:func:`forward_mode`; the program ``jvp_work`` counts)."""
        outs, ts = self.program("jvp", function)(inputs, tangents)
        return JVP(outs, ts)

    def jvp_work(self, function, inputs, tangents) -> Work:
        return self._work(function, inputs, tangents, "jvp")

    def hvp(self, function, inputs, cotangents, directions, method) -> HVP:
        """``H_v·u`` by ``method`` (:data:`SECOND_ORDER`; the program ``hvp_work`` counts)."""
        outs, hs = self.program("hvp", function, method)(inputs, [*cotangents, *directions])
        return HVP(outs, hs)

    def hvp_work(self, function, inputs, cotangents, directions, method) -> Work:
        return self._work(function, inputs, [*cotangents, *directions], "hvp", method)


class PyTensorFastCompileBackend(PyTensorBackend):
    """PyTensor in mode ``FAST_COMPILE``: the same graphs with only the fast-compile rewrites (no fusion, no inplace,
    no BLAS specialisation), run op by op by PyTensor's Python VM on each op's NumPy/SciPy ``perform``: a different
    code path from the numba one, and one whose cold compilation fits a CI budget."""

    name = "pytensor-fast-compile"
    mode = "FAST_COMPILE"
