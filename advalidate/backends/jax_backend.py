"""The JAX backend: ``jax.vjp`` of the rendered JAX source, eager by default, or under ``jax.jit``.

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
from .contract import JVP, VJP, Work  # noqa: E402
from .dialect_backend import DialectBackend  # noqa: E402

__all__ = ["JaxBackend", "JaxJitBackend"]


class JaxBackend(DialectBackend):
    """``jax.vjp`` on the JAX dialect; ``jit=True`` compiles forward and backward together with ``jax.jit``."""

    name = "jax"
    version = jax.__version__
    dtypes = ("float64", "float32")
    dialect = JAX
    jit = False
    concurrent = True  # may run in a thread beside the oracle (advalidate.check.concurrent): XLA compiles release the GIL

    def __init__(self, jit: bool | None = None):
        if jit is not None and jit != self.jit:
            self.jit = jit
            self.name = "jax-jit" if jit else "jax"

    def _pullback(self, fn):
        cache = self.__dict__.setdefault("_pullbacks", {})
        if fn not in cache:
            f = self.compiled(fn)

            def run(xs, vs):
                outs, pull = jax.vjp(f, *xs)
                return outs, pull(tuple(vs))

            if len(cache) >= self.cache_size:
                cache.pop(next(iter(cache)))
            cache[fn] = jax.jit(run) if self.jit else run
        return cache[fn]

    def vjp(self, function, inputs, cotangents) -> VJP:
        # device_put, not jnp.asarray: the same arrays, but jnp.asarray compiles an identity program (`stage`)
        # per shape and dtype, about 20 XLA compilations of the default run that check nothing
        xs = [jax.device_put(np.asarray(x)) for x in inputs]
        vs = [jax.device_put(np.asarray(v)) for v in cotangents]
        outs, grads = self._pullback(function)(xs, vs)
        return VJP([np.array(o) for o in outs], [np.array(g) for g in grads])

    def _pushforward(self, fn):
        cache = self.__dict__.setdefault("_pushforwards", {})
        if fn not in cache:
            f = self.compiled(fn)

            def run(xs, ws):
                return jax.jvp(f, tuple(xs), tuple(ws))

            if len(cache) >= self.cache_size:
                cache.pop(next(iter(cache)))
            cache[fn] = jax.jit(run) if self.jit else run
        return cache[fn]

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

        key = ("jvp", count_work, function, tuple((np.shape(x), str(np.asarray(x).dtype)) for x in (*inputs, *tangents)))
        with _WORK_LOCK:
            if key in _WORK:
                _WORK.move_to_end(key)
                return _WORK[key]
            work = count_work(self.compiled(function), list(inputs), list(tangents), vjp=_standard_jvp)
            _WORK[key] = work
            if len(_WORK) > self.cache_size:
                _WORK.popitem(last=False)
            return work

    def work(self, function, inputs, cotangents) -> Work:
        """Counted on the jaxpr of forward plus VJP by :func:`advalidate.cost.jaxpr.count_work`.

        The jaxpr is the rendered function's, traced (never run) at the inputs' shapes and dtypes, with or
        without ``jit``: eager JAX and ``jax.jit`` are charged the same count (every equation, dead ones
        included). So it is counted once per function and shapes and shared by every JAX backend of the process.
        """
        from ..cost.jaxpr import count_work

        # the counter is part of the key: a count is the counter's reading of that function at those shapes
        key = (count_work, function, tuple((np.shape(x), str(np.asarray(x).dtype)) for x in (*inputs, *cotangents)))
        with _WORK_LOCK:  # a JAX backend in another thread may be counting the same function: wait for it
            if key in _WORK:
                _WORK.move_to_end(key)
                return _WORK[key]
            work = count_work(self.compiled(function), list(inputs), list(cotangents))
            _WORK[key] = work
            if len(_WORK) > self.cache_size:
                _WORK.popitem(last=False)
            return work


def _standard_jvp(f, xs, ws):
    """Forward mode as the JAX backend runs it: one ``jax.jvp``."""
    return jax.jvp(f, tuple(xs), tuple(ws))


_WORK: OrderedDict = OrderedDict()  # (function, shapes and dtypes) -> Work, for every JAX backend (see work)
_WORK_LOCK = threading.Lock()


class JaxJitBackend(JaxBackend):
    """JAX with forward and backward compiled together by ``jax.jit`` (XLA fusion and its rewrites)."""

    name = "jax-jit"
    jit = True
