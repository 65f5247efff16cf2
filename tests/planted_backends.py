"""Planted backends for the command-line tests, one per finding kind, loaded by a real `advalidate run` through
entry points (``tests/test_cli_replay.py`` declares them in a temporary dist-info), and their fixed versions
(the same names, right answers), to show that a replay tells a fixed finding from one still present.
"""

import numpy as np

from advalidate.backends.contract import VJP, Work
from advalidate.backends import numpy_ref
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.evaluate import gaps


class ReverseOnly(NumpyReference):
    """The reference tape in reverse mode only: the planted bugs below are in the VJP, and the command-line tests read
    the findings of reverse mode (the tape's own forward-mode behaviours, known under numpy-ref's name, would be new
    under these names)."""

    jvp = jvp_work = hvp = hvp_work = None


class WrongValue(ReverseOnly):
    """Every VJP doubled: a wrong value wherever the VJP is not zero."""

    name = "planted-wrong-value"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [2 * g for g in out.grads])


class NanInf(ReverseOnly):
    """Every VJP NaN."""

    name = "planted-nan-inf"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [np.full_like(g, np.nan) for g in out.grads])


class Error(ReverseOnly):
    """Every VJP raises."""

    name = "planted-error"

    def vjp(self, fn, inputs, cotangents):
        raise RuntimeError("planted: this backend always raises")


class CostBound(ReverseOnly):
    """Right values, but the forward runs twice per VJP."""

    name = "planted-cost-bound"

    def work(self, fn, inputs, cotangents):
        w = super().work(fn, inputs, cotangents)
        return Work(w.forward, w.vjp + w.forward, 2)


class Convention(ReverseOnly):
    """Right away from kinks; at a kink or tie (relu at 0, maximum(a, a)...) 10·VJP + 100, which matches
    neither one-sided derivative nor lies between them."""

    name = "planted-convention"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        with np.errstate(all="ignore"):
            at_kink = any(g.kink == 0 for g in gaps(fn, numpy_ref.forward(fn, inputs)))
        return VJP(out.outputs, [10 * g + 100 for g in out.grads]) if at_kink else out


class PrecisionLoss(ReverseOnly):
    """The textbook formulas of the reference tape, under another name: at saturation tails they lose digits."""

    name = "planted-precision-loss"


PLANTED = {cls.name: cls for cls in (WrongValue, NanInf, Error, CostBound, Convention, PrecisionLoss)}


def _fixed(name):
    return type(f"Fixed_{name.replace('-', '_')}", (ReverseOnly,), {"name": name,
                                                                        "__doc__": "The same name, right answers."})


FIXED = {name: _fixed(name) for name in PLANTED}
for _cls in FIXED.values():
    globals()[_cls.__name__] = _cls


class NotCountedSine(ReverseOnly):
    """Counts no program with a sine (NotCounted: the cost of those examples is not measured, not a finding)."""

    name = "not-counted-sine"

    def work(self, fn, inputs, cotangents):
        from advalidate.plugin import NotCounted

        if "sin" in fn.primitives_used:
            raise NotCounted("a sine's loop count is known only by running it")
        return super().work(fn, inputs, cotangents)


class CountsHalf(ReverseOnly):
    """Its work's values (the counted run's derivatives) are half the checked VJP: counted on other code."""

    name = "counts-half"

    def work(self, fn, inputs, cotangents):
        w = super().work(fn, inputs, cotangents)
        return Work(w.forward, w.vjp, w.forward_passes, [0.5 * g for g in super().vjp(fn, inputs, cotangents).grads])
