"""Planted second-order bugs: the NumPy reference tape with exactly one defect in its Hessian-vector products each.

Each entry of :data:`MUTANTS` (also :data:`HVP_MUTANTS`): name -> (factory, the finding kind it must produce in mode
``hvp``), as :data:`tests.jvp_mutants.JVP_MUTANTS` is for forward mode. The tape computes ``H_v·u`` forward-over-
reverse: it runs its VJP rules on dual numbers (:mod:`advalidate.dual`), so a VJP rule that treats one of its
operands as a constant (:func:`advalidate.dual.primal`) is right at first order (on floats ``primal`` is the
identity: the VJP passes, and so does the JVP, whose rules are untouched) and drops a term at second order: the f″
term of a chain g(f(x)) (``exp``: ``g·primal(ans)``), or one operand's tangent in a product rule (``mul``). The cost
mutant computes the right ``H_v·u`` the expensive way: the Hessian column by column, one forward, tangent and reverse
pass per input entry, with an honest ``hvp_work`` (a cost-bound finding on any input of two entries or more, invisible
to a checker of values). ``benchmarks/detection.py`` runs them.
"""

from __future__ import annotations

import numpy as np

from advalidate import counting, dual, xp
from advalidate.backends import numpy_ref
from advalidate.backends.contract import HVP, Work
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.dual import primal


class HVPMutant(NumpyReference):
    """The reference tape with some VJP rules replaced by ones right on floats and wrong on duals (``rules``: primitive
    name -> the rule tuple of a registration, one rule ``rule(g, ans, *operands, **params)`` per operand), in a
    private :class:`advalidate.backends.numpy_ref.Rules` table: its VJP and JVP are the reference's, its hvp is not.
    The planted rules run on duals, so ``hvp_primitives`` (probed per rule) still covers the planted primitives."""

    def __init__(self, name, rules):
        self.name = name
        self.primitives = numpy_ref.Rules()
        for prim, rule in rules.items():
            self.primitives[prim] = rule


# ---- rules right at first order, each dropping one second-order term


def _tanh_primal(g, ans, x):
    return g * (1 - primal(ans) ** 2)  # bug: tanh′ = 1 - tanh² taken as a constant (drops -2·tanh·tanh′·u)


def _exp_primal(g, ans, x):
    return g * primal(ans)  # bug: exp′ = exp taken as a constant (drops the f″ term of exp(f(x)))


def _sigmoid_primal(g, ans, x):
    s = primal(ans)
    return g * (s * (1 - s))  # bug: sigmoid′ taken as a constant


def _log_primal(g, ans, x):
    return g / primal(x)  # bug: 1/x taken as a constant (drops -u/x²)


def _mul_b_const(g, ans, a, b):
    return g * primal(b)  # bug: the cotangent of a ignores the tangent of b (drops the cross term g·u_b)


def _mul_a(g, ans, a, b):
    return g * a


def _log_softmax_primal(g, ans, x, axis=-1):
    return g - xp.exp(primal(ans)) * np.sum(g, axis=axis, keepdims=True)  # bug: softmax taken as a constant


class HessianByColumns(NumpyReference):
    """Right ``H_v·u``, computed the expensive way: the Hessian column by column, ``H_v·e_j`` for every input entry j
    from a forward, tangent and reverse pass of its own, then ``Σ_j u_j·H_v·e_j``. Its ``hvp`` returns the
    reference's values up to rounding (a different order of summation); its ``hvp_work`` counts every pass it runs
    (one forward pass per input entry): a cost-bound finding on any function of two input entries or more."""

    name = "hvp-hessian-by-columns"

    def _columns(self, fn, inputs, cotangents, directions):
        """Yield ``(u_j, column j, counts)`` per input entry j: the column and the work of its three passes."""
        for i, x in enumerate(inputs):
            for idx in np.ndindex(*np.shape(x)):
                e = [np.zeros(np.shape(y), dtype=fn.dtype) for y in inputs]
                e[i][idx] = 1
                with counting.counting() as fwd:
                    values = numpy_ref.forward(fn, inputs)
                with counting.counting() as tan:
                    ts = numpy_ref.tangents(fn, values, e, self.jvp_rules)
                with counting.counting() as rev:
                    out = numpy_ref.dual_backward(fn, values, ts, cotangents, self.primitives)
                column = [dual.tangents_of(g, fn.dtype) for g in out]
                u = np.asarray(directions[i], dtype=fn.dtype)[idx]
                yield u, column, (fwd.work, tan.work, rev.work)

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse") -> HVP:
        if method not in self.hvp_methods:
            raise ValueError(f"method {method!r}: the tape computes {', '.join(self.hvp_methods)}")
        with np.errstate(all="ignore"):
            total = [np.zeros(s, dtype=fn.dtype) for s in fn.inputs]
            for u, column, _ in self._columns(fn, inputs, cotangents, directions):
                total = [t + u * c for t, c in zip(total, column)]
            values = numpy_ref.forward(fn, inputs)
        return HVP([np.array(counting.unwrap(values[o])) for o in fn.outputs],
                   [np.asarray(t, dtype=fn.dtype) for t in total])

    def hvp_work(self, fn, inputs, cotangents, directions, method="forward-over-reverse") -> Work:
        """Every pass ``hvp`` runs, charged as the reference's ``hvp_work`` charges its three (the dual pass three
        times what is observed); one forward pass per input entry."""
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                numpy_ref.forward(fn, inputs)
            total, passes = 0, 0
            for _, _, (f, t, r) in self._columns(fn, inputs, cotangents, directions):
                total, passes = total + f + t + 3 * r, passes + 1
        return Work(forward=fwd.work, vjp=max(total, fwd.work), forward_passes=max(passes, 1))


def _mutant(name, rules):
    return lambda: HVPMutant(name, rules)


HVP_MUTANTS = {
    "hvp-tanh-primal": (_mutant("hvp-tanh-primal", {"tanh": (_tanh_primal,)}), "wrong-value"),
    "hvp-exp-primal": (_mutant("hvp-exp-primal", {"exp": (_exp_primal,)}), "wrong-value"),
    "hvp-sigmoid-primal": (_mutant("hvp-sigmoid-primal", {"sigmoid": (_sigmoid_primal,)}), "wrong-value"),
    "hvp-log-primal": (_mutant("hvp-log-primal", {"log": (_log_primal,)}), "wrong-value"),
    "hvp-mul-drops-term": (_mutant("hvp-mul-drops-term", {"mul": (_mul_b_const, _mul_a)}), "wrong-value"),
    "hvp-log-softmax-primal": (_mutant("hvp-log-softmax-primal", {"log_softmax": (_log_softmax_primal,)}),
                               "wrong-value"),
    "hvp-hessian-by-columns": (HessianByColumns, "cost-bound"),
}

MUTANTS = HVP_MUTANTS
"""The planted second-order bugs (name -> (factory, expected kind in mode ``hvp``))."""

PLANTED = {"hvp-tanh-primal": "tanh", "hvp-exp-primal": "exp", "hvp-sigmoid-primal": "sigmoid",
           "hvp-log-primal": "log", "hvp-mul-drops-term": "mul", "hvp-log-softmax-primal": "log_softmax"}
"""The primitive each value mutant plants its bug in."""
