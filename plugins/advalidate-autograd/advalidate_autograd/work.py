"""Count autograd's work by observing the NumPy it runs.

autograd records a trace of primitive calls whose raw functions are NumPy's own, and its backward pass
calls VJP rules written with ``autograd.numpy`` over plain arrays. Both therefore run NumPy ufuncs, and
:mod:`advalidate.counting` observes those through an ndarray subclass, under the same unit-cost model as the
NumPy reference tape. To let the subclass flow through autograd's trace, it is registered once with
autograd's array box and vector space (the same treatment autograd gives ``np.ndarray``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from advalidate import plugin  # the counting array and its helpers
from advalidate.plugin import Work

__all__ = ["count_work", "standard_vjp", "standard_jvp", "forward_over_reverse", "reverse_over_reverse",
           "HVP_METHODS"]

_registered = False


def _register():
    global _registered
    if _registered:
        return
    from autograd.extend import VSpace
    from autograd.numpy.numpy_boxes import ArrayBox

    ArrayBox.register(plugin.CountingArray)
    VSpace.register(plugin.CountingArray, VSpace.mappings[np.ndarray])
    _registered = True


def standard_vjp(f, xs, vs):
    """Reverse mode as the autograd backend runs it: one ``make_vjp`` over a traced tuple, one pullback."""
    from autograd import make_vjp
    from autograd.builtins import tuple as ag_tuple

    pullback, outs = make_vjp(lambda xs: ag_tuple(f(*xs)))(tuple(xs))
    return outs, pullback(tuple(vs))


def standard_jvp(f, xs, ws):
    """Forward mode as the autograd backend runs it: one ``make_jvp`` over a traced tuple."""
    from autograd import make_jvp
    from autograd.builtins import tuple as ag_tuple

    return make_jvp(lambda xs: ag_tuple(f(*xs)))(tuple(xs))(tuple(ws))


def _pullback_of(f, vs, seen):
    """``x ↦ Jᵀv``, built by ``make_vjp`` over a traced tuple: the map both second-order methods differentiate. The
    outputs of f (unboxed: their values) are put in ``seen``, so that they are not an output of the outer trace."""
    from autograd import make_vjp
    from autograd.builtins import tuple as ag_tuple
    from autograd.tracer import getval

    def pullback(xs):
        pull, outs = make_vjp(lambda xs: ag_tuple(f(*xs)))(xs)
        seen.append(tuple(getval(o) for o in getval(outs)))
        return pull(tuple(vs))

    return pullback


def forward_over_reverse(f, xs, vs, us):
    """Second order as the autograd backend runs it, forward over reverse: ``make_jvp`` along u of the pullback of v
    (``make_vjp``). Returns the outputs and ``H_v·u`` per input."""
    from autograd import make_jvp

    seen = []
    _, hs = make_jvp(_pullback_of(f, vs, seen))(tuple(xs))(tuple(us))
    return seen[0], hs


def reverse_over_reverse(f, xs, vs, us):
    """Second order as the autograd backend runs it, reverse over reverse: ``make_vjp`` of the pullback of v, pulled
    back along u (the gradient of ``⟨Jᵀv, u⟩``, without forming that sum). Returns the outputs and ``H_v·u``."""
    from autograd import make_vjp

    seen = []
    pull2, _ = make_vjp(_pullback_of(f, vs, seen))(tuple(xs))
    return seen[0], pull2(tuple(us))


HVP_METHODS = {"forward-over-reverse": forward_over_reverse, "reverse-over-reverse": reverse_over_reverse}



@contextlib.contextmanager
def _concatenate_keeps_subclass():
    """autograd's concatenate returns ``result.view(ndarray)`` (its module's ``ndarray``), which would hide
    everything computed after a concatenate or stack from the counter: view as the counting class instead."""
    import autograd.numpy.numpy_wrapper as wrapper

    saved = wrapper.ndarray
    wrapper.ndarray = plugin.CountingArray
    try:
        yield
    finally:
        wrapper.ndarray = saved


@contextlib.contextmanager
def _scipy_solves_counted():
    """autograd.scipy.linalg.solve_triangular is SciPy's, whose LAPACK call (``scipy.linalg._basic._solve_triangular``,
    looked up at call time) runs on plain copies of its operands: charge each call n per element of its right-hand
    side (n² per column, the substitution's flops, as the jaxpr and dispatch counters charge a triangular solve), in
    the forward pass and in autograd's VJP rule alike, and return the solution as a counting array so that what is
    computed from it is observed too (without this, work(f) of ``softmax(solve_triangular(a, b))`` was 0)."""
    import scipy.linalg._basic as basic

    saved = basic._solve_triangular

    def charged(a1, b1, *args, **kwargs):
        x, info = saved(plugin.unwrap(a1), plugin.unwrap(b1), *args, **kwargs)
        plugin.charge(plugin.triangular_solve_work(a1, b1))
        return plugin.wrap(x), info

    basic._solve_triangular = charged
    try:
        yield
    finally:
        basic._solve_triangular = saved


def count_work(f, inputs, cotangents, vjp=standard_vjp) -> Work:
    """The work of ``f`` alone and of ``vjp(f, xs, vs)`` (autograd's trace plus its backward pass): ``vjp`` is the very
    function the backend runs for the values it checks (:func:`standard_vjp`, :func:`standard_jvp`, or a method of
    :data:`HVP_METHODS`), so the work is counted on that code, not on a copy.

    ``f`` takes arrays and returns a tuple of outputs (autograd dialect); ``inputs`` and ``cotangents``
    are NumPy arrays. ``forward_passes`` is how many times ``f`` ran inside ``vjp``.
    """
    _register()
    with np.errstate(all="ignore"), _concatenate_keeps_subclass(), _scipy_solves_counted():
        with plugin.counting() as forward:
            f(*[plugin.wrap(np.array(x)) for x in inputs])
        counted = plugin.CallCounter(f)
        xs = [plugin.wrap(np.array(x)) for x in inputs]
        vs = [plugin.wrap(np.array(v)) for v in cotangents]
        with plugin.counting() as both:
            _, derivatives = vjp(counted, xs, vs)
    # what the counted run computed: advalidate checks that it is what the checked run computed (contract: work)
    values = [np.array(plugin.unwrap(d)) for d in derivatives]
    return Work(forward=forward.work, vjp=both.work, forward_passes=counted.n, values=values)
