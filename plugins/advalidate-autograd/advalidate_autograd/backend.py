"""The autograd backend: one ``autograd.make_vjp`` over the rendered autograd source (reverse mode), one
``autograd.make_jvp`` (forward mode: autograd's ``defjvp`` table, kept apart from its ``defvjp`` one), and both
second-order methods (``make_jvp`` of a ``make_vjp`` pullback, ``make_vjp`` of one)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from autograd import make_jvp, make_vjp
from autograd.builtins import tuple as ag_tuple

from advalidate.plugin import HVP, JVP, VJP, DialectBackend, Work

from .dialect import AUTOGRAD

__all__ = ["AutogradBackend"]


class AutogradBackend(DialectBackend):
    """HIPS autograd, reverse mode over a tuple of inputs and a tuple of outputs."""

    name = "autograd"
    version = version("autograd")
    dtypes = ("float64", "float32")
    dialect = AUTOGRAD
    hvp_methods = ("forward-over-reverse", "reverse-over-reverse")

    def vjp(self, function, inputs, cotangents) -> VJP:
        """:func:`advalidate_autograd.work.standard_vjp` of the rendered function: the code ``work`` counts."""
        from .work import standard_vjp

        outs, grads = standard_vjp(self.compiled(function), tuple(np.asarray(x) for x in inputs),
                                   tuple(np.asarray(v) for v in cotangents))
        return VJP([np.array(o) for o in outs], [np.array(g) for g in grads])

    def work(self, function, inputs, cotangents) -> Work:
        """:func:`advalidate_autograd.work.standard_vjp` (the code ``vjp`` runs), counted on autograd's trace by
        :func:`advalidate_autograd.work.count_work`."""
        from .work import count_work, standard_vjp

        return count_work(self.compiled(function), list(inputs), list(cotangents), vjp=standard_vjp)

    @property
    def jvp_primitives(self) -> dict:
        """The primitives whose forward mode autograd has: those whose one-node example does not raise autograd's
        ``NotImplementedError("JVP of ... not defined")`` (its ``defjvp`` table lacks a rule that its ``defvjp``
        table has: scipy.special's expit, erf, gammaln, linalg's inv, solve, det, eigh, ...). Probed once, on
        first use; any other failure is left to the campaign, where it is a finding."""
        if "_jvp_primitives" not in self.__dict__:
            self._jvp_primitives = {name: impl for name, impl in super().jvp_primitives.items()
                                    if _has_jvp(self, name)}
        return self._jvp_primitives

    def jvp(self, function, inputs, tangents) -> JVP:
        """:func:`advalidate_autograd.work.standard_jvp` of the rendered function: the code ``jvp_work`` counts."""
        from .work import standard_jvp

        outs, ts = standard_jvp(self.compiled(function), tuple(np.asarray(x) for x in inputs),
                                tuple(np.asarray(w) for w in tangents))
        return JVP([np.array(o) for o in outs], [np.array(t) for t in ts])

    def jvp_work(self, function, inputs, tangents) -> Work:
        """Counted on autograd's forward-mode trace by :func:`advalidate_autograd.work.count_work`."""
        from .work import count_work, standard_jvp

        return count_work(self.compiled(function), list(inputs), list(tangents), vjp=standard_jvp)

    @property
    def hvp_primitives(self) -> dict:
        """The primitives whose second order autograd has by *both* methods (the contract has one table for the
        mode, not one per method): those whose one-node example raises no autograd ``NotImplementedError("JVP of ...
        not defined")`` or ``("VJP of ... not defined")`` under either method. Reverse over reverse runs every
        primitive; forward over reverse lacks those without a ``defjvp`` rule (expit, erf, gammaln, linalg's inv,
        solve, det, eigh, ...: the ones ``jvp_primitives`` leaves out), which are therefore left out here, by both
        methods. ``hvp_primitives_by_method`` has each method's own table. Probed once, on first use; any other
        failure is left to the campaign, where it is a finding."""
        if "_hvp_primitives" not in self.__dict__:
            tables = self.hvp_primitives_by_method
            self._hvp_primitives = {name: impl for name, impl in super().hvp_primitives.items()
                                    if all(name in table for table in tables.values())}
        return self._hvp_primitives

    @property
    def hvp_primitives_by_method(self) -> dict[str, dict]:
        """For each of ``hvp_methods``, the primitives whose second order autograd runs that way (see
        ``hvp_primitives``). Forward over reverse needs a JVP rule for the primitive and for every primitive its VJP
        rule calls, reverse over reverse a VJP rule for every primitive its VJP rule calls."""
        if "_hvp_by_method" not in self.__dict__:
            catalogue = super().hvp_primitives
            lacking = _lacking_second_order(self, catalogue)
            self._hvp_by_method = {method: {name: impl for name, impl in catalogue.items()
                                            if method not in lacking.get(name, ())}
                                   for method in self.hvp_methods}
        return self._hvp_by_method

    def hvp(self, function, inputs, cotangents, directions, method) -> HVP:
        """``H_v·u`` by ``method``: forward-over-reverse is ``make_jvp`` along u of the pullback of v that
        ``make_vjp`` builds; reverse-over-reverse is ``make_vjp`` of that same map, pulled back along u."""
        from .work import HVP_METHODS

        if method not in HVP_METHODS:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(HVP_METHODS)}")
        f = self.compiled(function)
        outs, hs = HVP_METHODS[method](f, [np.asarray(x) for x in inputs], [np.asarray(v) for v in cotangents],
                                       [np.asarray(u) for u in directions])
        return HVP([np.array(o) for o in outs], [np.array(h) for h in hs])

    def hvp_work(self, function, inputs, cotangents, directions, method) -> Work:
        """Counted on autograd's traces (the forward, both derivatives) by :func:`advalidate_autograd.work.count_work`:
        the code ``hvp`` runs, f evaluated once."""
        from .work import HVP_METHODS, count_work

        if method not in HVP_METHODS:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(HVP_METHODS)}")
        n = len(cotangents)

        def run(f, xs, vectors):
            return HVP_METHODS[method](f, xs, vectors[:n], vectors[n:])

        return count_work(self.compiled(function), list(inputs), [*cotangents, *directions], vjp=run)


def _lacking_second_order(backend, names) -> dict[str, set]:
    """The primitives among ``names`` whose one-node example raises autograd's ``NotImplementedError("JVP of ... not
    defined")`` or ``("VJP of ... not defined")`` in ``hvp`` by a method, with those methods. One point per
    primitive, both methods: about 0.2 s for the whole catalogue, besides the imports and first calls that
    ``jvp_primitives``'s probe pays too (0.8 s, in whichever runs first)."""
    import warnings

    from advalidate.plugin import fixed_point, single

    lacking = {}
    for name in names:
        try:
            fn = single(name)
            xs = fixed_point(fn, np.random.default_rng(0))
        except Exception:  # noqa: BLE001  no example to probe with: leave it to the campaign
            continue
        vs = [np.ones(s) for s in fn.output_shapes]
        us = [np.ones_like(x) for x in xs]
        for method in backend.hvp_methods:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "Output seems independent of input": no matter here
                    backend.hvp(fn, xs, vs, us, method)
            except NotImplementedError as e:
                if "JVP of" in str(e) or "VJP of" in str(e):
                    lacking.setdefault(name, set()).add(method)
            except Exception:  # noqa: BLE001  another failure is the campaign's to report
                pass
    return lacking


def _has_jvp(backend, name: str) -> bool:
    """Whether autograd's forward mode runs primitive ``name``'s one-node example (see ``jvp_primitives``)."""
    from advalidate.plugin import fixed_point, single

    try:
        fn = single(name)
        xs = fixed_point(fn, np.random.default_rng(0))
    except Exception:  # noqa: BLE001  no example to probe with: leave it to the campaign
        return True
    import warnings

    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Output seems independent of input" of a constant op: no matter here
            backend.jvp(fn, xs, [np.ones_like(x) for x in xs])
    except NotImplementedError as e:
        return "JVP of" not in str(e)
    except Exception:  # noqa: BLE001  another failure is the campaign's to report
        return True
    return True
