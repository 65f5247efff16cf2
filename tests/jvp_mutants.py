"""Planted forward-mode bugs: the NumPy reference tape with exactly one defect in forward mode each.

Each entry: name -> (factory, the finding kind it must produce in mode ``jvp``), as :data:`tests.mutants.MUTANTS`
is for reverse mode. A value mutant replaces one JVP rule of the tape and keeps every VJP rule right (its VJP
passes: the bug shows in forward mode only); the cost mutant computes the right J·w but re-runs f once per input
(forward mode the way a Jacobian assembled column by column would). ``benchmarks/detection.py`` runs them.
"""

from __future__ import annotations

import numpy as np

from advalidate import counting
from advalidate.backends import numpy_ref
from advalidate.backends.contract import JVP, Work
from advalidate.backends.numpy_ref import NumpyReference


class JVPMutant(NumpyReference):
    """The reference tape with some JVP rules replaced (``rules``: primitive name -> ``rule(ts, ans, *operands,
    **params)``) and every VJP rule right: :class:`NumpyReference` with its own ``jvp_rules``."""

    def __init__(self, name, rules):
        self.name = name
        self.jvp_rules = numpy_ref.JVPRules()
        for prim, rule in rules.items():
            self.jvp_rules[prim] = rule



class PerInputForward(NumpyReference):
    """Right J·w, computed the expensive way: input by input, each from a forward pass of its own (the tangent of
    input i alone, zeros elsewhere), as a Jacobian built column block by column block would. Its ``jvp`` returns
    the same values as the reference's (the sum of the per-input parts is J·w); its work shows one forward pass per
    input: a cost-bound finding on any function of two inputs or more, invisible to a checker of values."""

    name = "per-input-forward"

    def jvp(self, fn, inputs, tangents) -> JVP:
        with np.errstate(all="ignore"):
            values = numpy_ref.forward(fn, inputs)
            total = None
            for i in range(len(inputs)):
                only = [w if j == i else np.zeros_like(w) for j, w in enumerate(tangents)]
                ts = numpy_ref.tangents(fn, numpy_ref.forward(fn, inputs), only)
                part = [np.asarray(counting.unwrap(ts[o])) for o in fn.outputs]
                total = part if total is None else [a + b for a, b in zip(total, part)]
            if total is None:  # no inputs: the tangent of a constant is zero
                total = [np.zeros(s, dtype=fn.dtype) for s in fn.output_shapes]
        return JVP([np.array(counting.unwrap(values[o])) for o in fn.outputs],
                   [np.array(t, dtype=fn.dtype) for t in total])

    def jvp_work(self, fn, inputs, tangents) -> Work:
        total, passes = 0, 0
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                numpy_ref.forward(fn, inputs)
            for i in range(len(inputs)):
                only = [w if j == i else np.zeros_like(w) for j, w in enumerate(tangents)]
                with counting.counting() as c:
                    numpy_ref.tangents(fn, numpy_ref.forward(fn, inputs), only)
                total, passes = total + c.work, passes + 1
        return Work(forward=fwd.work, vjp=total, forward_passes=max(passes, 1))


def _sin_off(ts, ans, x):
    return ts[0] * np.cos(x) * (1 + 1e-2)  # bug: a relative error of 1e-2


def _tanh_no_square(ts, ans, x):
    return ts[0] * (1 - ans)  # bug: 1 - tanh instead of 1 - tanh²


def _mul_one_term(ts, ans, a, b):
    return ts[0] * b  # bug: drops the term a·t_b of the product rule


def _exp_of_input(ts, ans, x):
    return ts[0] * x  # bug: the input where the result exp(x) belongs


JVP_MUTANTS = {
    "jvp-sin-off-by-1e-2": (lambda: JVPMutant("jvp-sin-off-by-1e-2", {"sin": _sin_off}), "wrong-value"),
    "jvp-tanh-derivative": (lambda: JVPMutant("jvp-tanh-derivative", {"tanh": _tanh_no_square}), "wrong-value"),
    "jvp-mul-drops-term": (lambda: JVPMutant("jvp-mul-drops-term", {"mul": _mul_one_term}), "wrong-value"),
    "jvp-exp-uses-input": (lambda: JVPMutant("jvp-exp-uses-input", {"exp": _exp_of_input}), "wrong-value"),
    "jvp-per-input-forward": (PerInputForward, "cost-bound"),
}
