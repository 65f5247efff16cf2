"""The JAX backend: ``jax.vjp`` of the rendered JAX source, eager by default, or under ``jax.jit``; ``jax.jvp``
for forward mode; both second-order methods (``jax.jvp`` of the VJP, and ``jax.vjp`` of the VJP along u).

Importing this module turns on ``jax_enable_x64`` (float64 is advalidate's default dtype; without it JAX
silently computes in float32).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from ..render import JAX  # noqa: E402
from .contract import HVP, JVP, VJP, Work  # noqa: E402
from .dialect_backend import DialectBackend  # noqa: E402

__all__ = ["JaxBackend", "JaxJitBackend", "reverse_mode", "forward_mode", "SECOND_ORDER"]


class JaxBackend(DialectBackend):
    """``jax.vjp`` on the JAX dialect; ``jit=True`` compiles forward and backward together with ``jax.jit``."""

    name = "jax"
    version = jax.__version__
    dtypes = ("float64", "float32")
    dialect = JAX
    jit = False
    concurrent = True  # may run in a thread beside the oracle (advalidate.check.concurrent): XLA compiles release the GIL
    hvp_methods = ("forward-over-reverse", "reverse-over-reverse")

    def __init__(self, jit: bool | None = None):
        if jit is not None and jit != self.jit:
            self.jit = jit
            self.name = "jax-jit" if jit else "jax"

    def _program(self, g, f):
        """``(xs, vectors) -> g(f, xs, vectors)`` as this backend runs it: under ``jax.jit`` for jax-jit (forward and
        derivative compiled together), as it is for eager JAX. A derivative's values and its counted work both come
        from this program: ``vjp`` runs it, ``work`` traces it (``g`` is :func:`reverse_mode`, :func:`forward_mode` or
        a method of :data:`SECOND_ORDER`)."""
        return jax.jit(lambda xs, vectors: g(f, xs, vectors)) if self.jit else (lambda xs, vectors: g(f, xs, vectors))

    def _counted(self, g):
        """``g`` as :func:`advalidate.cost.jaxpr.count_work` calls it, ``(f, xs, vectors)``, through :meth:`_program`."""
        return lambda f, xs, vectors: self._program(g, f)(xs, vectors)

    def _cached(self, table: str, key, g, f):
        """:meth:`_program` of ``g`` for ``f``, cached per function (and method)."""
        cache = self.__dict__.setdefault(table, {})
        if key not in cache:
            if len(cache) >= self.cache_size:
                cache.pop(next(iter(cache)))
            cache[key] = self._program(g, f)
        return cache[key]

    def _pullback(self, fn):
        return self._cached("_pullbacks", fn, reverse_mode, self.compiled(fn))

    def vjp(self, function, inputs, cotangents) -> VJP:
        # device_put, not jnp.asarray: the same arrays, but jnp.asarray compiles an identity program (`stage`)
        # per shape and dtype, about 20 XLA compilations of the default run that check nothing
        xs = [jax.device_put(np.asarray(x)) for x in inputs]
        vs = [jax.device_put(np.asarray(v)) for v in cotangents]
        outs, grads = self._pullback(function)(xs, vs)
        return VJP([np.array(o) for o in outs], [np.array(g) for g in grads])

    def _pushforward(self, fn):
        return self._cached("_pushforwards", fn, forward_mode, self.compiled(fn))

    def jvp(self, function, inputs, tangents) -> JVP:
        """``jax.jvp`` of the rendered function (under ``jax.jit`` for jax-jit): forward mode, JAX's own rules."""
        xs = [jax.device_put(np.asarray(x)) for x in inputs]
        ws = [jax.device_put(np.asarray(w)) for w in tangents]
        outs, ts = self._pushforward(function)(xs, ws)
        return JVP([np.array(o) for o in outs], [np.array(t) for t in ts])

    def jvp_work(self, function, inputs, tangents) -> Work:
        """Counted on the jaxpr of ``jax.jvp`` (forward and tangent together) by
        :func:`advalidate.cost.jaxpr.count_work`, as ``work`` counts the VJP's."""
        from ..cost.jaxpr import count_work

        key = ("jvp", self.jit, count_work, function, tuple((np.shape(x), str(np.asarray(x).dtype)) for x in (*inputs, *tangents)))
        with _WORK_LOCK:
            if key in _WORK:
                _WORK.move_to_end(key)
                return _WORK[key]
            work = count_work(self.compiled(function), list(inputs), list(tangents), vjp=self._counted(forward_mode))
            _WORK[key] = work
            if len(_WORK) > self.cache_size:
                _WORK.popitem(last=False)
            return work

    def _hessian_product(self, fn, method):
        return self._cached("_hessian_products", (fn, method), _split_hvp(SECOND_ORDER[method], len(fn.outputs)),
                            self.compiled(fn))

    def hvp(self, function, inputs, cotangents, directions, method) -> HVP:
        """``H_v·u`` by ``method`` (under ``jax.jit`` for jax-jit, forward and both derivatives together):
        forward-over-reverse is ``jax.jvp`` along u of ``x ↦ jax.vjp(f, x)[1](v)``; reverse-over-reverse is
        ``jax.vjp`` of that same map, pulled back along u (``(∂(Jᵀv)/∂x)ᵀ·u = H_v·u``, H_v being symmetric)."""
        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        xs = [jax.device_put(np.asarray(x)) for x in inputs]
        vs = [jax.device_put(np.asarray(v)) for v in cotangents]
        us = [jax.device_put(np.asarray(u)) for u in directions]
        outs, hs = self._hessian_product(function, method)(xs, [*vs, *us])
        return HVP([np.array(o) for o in outs], [np.array(h) for h in hs])

    def hvp_work(self, function, inputs, cotangents, directions, method) -> Work:
        """Counted on the jaxpr of the forward plus the whole Hessian-vector product (the same code ``hvp`` runs) by
        :func:`advalidate.cost.jaxpr.count_work`, as ``work`` counts the VJP's: f is traced once by either method."""
        from ..cost.jaxpr import count_work

        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        vectors = [*cotangents, *directions]
        key = ("hvp", self.jit, method, count_work, function,
               tuple((np.shape(x), str(np.asarray(x).dtype)) for x in (*inputs, *vectors)))
        with _WORK_LOCK:
            if key in _WORK:
                _WORK.move_to_end(key)
                return _WORK[key]
            work = count_work(self.compiled(function), list(inputs), vectors,
                              vjp=self._counted(_split_hvp(SECOND_ORDER[method], len(cotangents))))
            _WORK[key] = work
            if len(_WORK) > self.cache_size:
                _WORK.popitem(last=False)
            return work

    def work(self, function, inputs, cotangents) -> Work:
        """Counted on the jaxpr of the program ``vjp`` runs (:meth:`_program` of :func:`reverse_mode`: under
        ``jax.jit`` for jax-jit) by :func:`advalidate.cost.jaxpr.count_work`.

        The jaxpr is traced (never run) at the inputs' shapes and dtypes; every equation counts, dead ones included
        (``jax.jit``'s is one call equation around the same body). It is counted once per backend, function and
        shapes, shared by the backends of the process.
        """
        from ..cost.jaxpr import count_work

        # the counter is part of the key: a count is the counter's reading of that function at those shapes
        key = ("vjp", self.jit, count_work, function, tuple((np.shape(x), str(np.asarray(x).dtype)) for x in (*inputs, *cotangents)))
        with _WORK_LOCK:  # a JAX backend in another thread may be counting the same function: wait for it
            if key in _WORK:
                _WORK.move_to_end(key)
                return _WORK[key]
            work = count_work(self.compiled(function), list(inputs), list(cotangents), vjp=self._counted(reverse_mode))
            _WORK[key] = work
            if len(_WORK) > self.cache_size:
                _WORK.popitem(last=False)
            return work


def reverse_mode(f, xs, vs):
    """Reverse mode as the JAX backend runs it, for ``vjp`` and ``work`` alike: one ``jax.vjp`` and one call of its
    pullback."""
    outs, pull = jax.vjp(f, *xs)
    return outs, pull(tuple(vs))


def forward_mode(f, xs, ws):
    """Forward mode as the JAX backend runs it, for ``jvp`` and ``jvp_work`` alike: one ``jax.jvp``."""
    return jax.jvp(f, tuple(xs), tuple(ws))


def _forward_over_reverse(f, xs, vs, us):
    """Second order as the JAX backend runs it, forward over reverse: ``jax.jvp`` along u of the VJP ``x ↦ Jᵀv``
    (f's outputs ride along as the auxiliary value, without tangents). Returns the outputs and ``H_v·u``."""

    def pullback(xs):
        outs, pull = jax.vjp(f, *xs)
        return pull(tuple(vs)), outs

    _, hs, outs = jax.jvp(pullback, (tuple(xs),), (tuple(us),), has_aux=True)
    return outs, hs


def _reverse_over_reverse(f, xs, vs, us):
    """Second order as the JAX backend runs it, reverse over reverse: ``jax.vjp`` of the VJP ``x ↦ Jᵀv``, pulled
    back along u (the gradient of ``⟨Jᵀv, u⟩``, without forming that sum). Returns the outputs and ``H_v·u``."""

    def pullback(xs):
        outs, pull = jax.vjp(f, *xs)
        return pull(tuple(vs)), outs

    _, pull2, outs = jax.vjp(pullback, tuple(xs), has_aux=True)
    (hs,) = pull2(tuple(us))
    return outs, hs


SECOND_ORDER = {"forward-over-reverse": _forward_over_reverse, "reverse-over-reverse": _reverse_over_reverse}
"""Second order as the JAX backend runs it, for ``hvp`` and ``hvp_work`` alike, by method."""


def _split_hvp(second, n):
    """``second`` as :func:`advalidate.cost.jaxpr.count_work` calls a VJP: ``(f, xs, vectors)``, the vectors being
    the ``n`` cotangents then the directions."""

    def run(f, xs, vectors):
        return second(f, xs, vectors[:n], vectors[n:])

    return run


_WORK: OrderedDict = OrderedDict()  # (function, shapes and dtypes) -> Work, for every JAX backend (see work)
_WORK_LOCK = threading.Lock()


class JaxJitBackend(JaxBackend):
    """JAX with forward and backward compiled together by ``jax.jit`` (XLA fusion and its rewrites)."""

    name = "jax-jit"
    jit = True
