"""The autograd backend: one ``autograd.make_vjp`` over the rendered autograd source (reverse mode), one
``autograd.make_jvp`` (forward mode: autograd's ``defjvp`` table, kept apart from its ``defvjp`` one)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from autograd import make_jvp, make_vjp
from autograd.builtins import tuple as ag_tuple

from advalidate.backends.contract import JVP, VJP, Work
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
        f = self.compiled(function)
        outs, ts = make_jvp(lambda xs: ag_tuple(f(*xs)))(tuple(np.asarray(x) for x in inputs))(
            tuple(np.asarray(w) for w in tangents))
        return JVP([np.array(o) for o in outs], [np.array(t) for t in ts])

    def jvp_work(self, function, inputs, tangents) -> Work:
        """Counted on autograd's forward-mode trace by :func:`advalidate_autograd.work.count_work`."""
        from .work import count_work, standard_jvp

        return count_work(self.compiled(function), list(inputs), list(tangents), vjp=standard_jvp)


def _has_jvp(backend, name: str) -> bool:
    """Whether autograd's forward mode runs primitive ``name``'s one-node example (see ``jvp_primitives``)."""
    from advalidate import builder, primitives

    try:
        fn = builder.single(name)
        xs = primitives.fixed_point(fn, np.random.default_rng(0))
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
