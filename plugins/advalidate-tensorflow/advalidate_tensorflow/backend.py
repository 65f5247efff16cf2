"""The TensorFlow backends: ``tf.GradientTape`` for reverse mode, ``tf.autodiff.ForwardAccumulator`` for forward mode,
and both second-order methods (an accumulator around a tape, a tape around a tape), run eagerly (``tensorflow``) or
inside ``tf.function`` (``tensorflow-function``, traced into a graph and run by TensorFlow's runtime, as ``jax-jit``
is JAX under ``jax.jit``).

Each mode is one function (:func:`reverse_mode`, :func:`forward_mode`, :data:`SECOND_ORDER`), and the backend's
derivative methods and its work methods both go through :meth:`TensorFlowBackend.program` of that function: the work
is counted on the code whose values are checked. Float64 is TensorFlow's own: nothing is to be enabled.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up notes (CPU features, oneDNN) are noise

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from advalidate.plugin import HVP, JVP, VJP, DialectBackend, Work  # noqa: E402

from .dialect import TENSORFLOW  # noqa: E402

# tensorflow-function traces every program once by design (one tf.function per function checked): TensorFlow's
# "triggered tf.function retracing" advice does not apply, and its logger would print it on every run
tf.get_logger().setLevel("ERROR")

__all__ = ["TensorFlowBackend", "TensorFlowFunctionBackend", "reverse_mode", "forward_mode", "SECOND_ORDER"]

_ZERO = tf.UnconnectedGradients.ZERO  # an input the outputs do not reach gets zeros (the contract's)


def _dense(t):
    """``t``, or the dense tensor of a ``tf.IndexedSlices`` (TensorFlow's sparse form of a gather's gradient and of a
    segment sum's tangent; ``tf.convert_to_tensor`` adds up repeated indices), as TensorFlow's users make it: its
    optimizers accept both, advalidate's contract wants arrays."""
    return tf.convert_to_tensor(t) if isinstance(t, tf.IndexedSlices) else t


def reverse_mode(f, xs, vs):
    """One ``tf.GradientTape`` over ``f`` at ``xs``, pulled back along ``vs`` (every output at once); sparse gradients
    made dense (:func:`_dense`)."""
    with tf.GradientTape() as tape:
        tape.watch(xs)
        outs = f(*xs)
    grads = tape.gradient(list(outs), xs, output_gradients=list(vs), unconnected_gradients=_ZERO)
    return outs, [_dense(g) for g in grads]


def forward_mode(f, xs, ws):
    """One ``tf.autodiff.ForwardAccumulator`` over ``f`` at ``xs`` along ``ws``; sparse tangents made dense."""
    with tf.autodiff.ForwardAccumulator(xs, ws) as acc:
        outs = f(*xs)
    return outs, [_dense(acc.jvp(o, unconnected_gradients=_ZERO)) for o in outs]


def _forward_over_reverse(f, xs, vs, us):
    """``H_v·u``: a ``ForwardAccumulator`` along ``us`` around the ``GradientTape`` that pulls ``vs`` back."""
    with tf.autodiff.ForwardAccumulator(xs, us) as acc:
        outs, grads = reverse_mode(f, xs, vs)
    return outs, [_dense(acc.jvp(g, unconnected_gradients=_ZERO)) for g in grads]


def _reverse_over_reverse(f, xs, vs, us):
    """``H_v·u``: a ``GradientTape`` around the one that pulls ``vs`` back, pulled back along ``us`` (the gradient of
    ``⟨Jᵀv, u⟩``, without forming that sum)."""
    with tf.GradientTape() as outer:
        outer.watch(xs)
        outs, grads = reverse_mode(f, xs, vs)
    hvps = outer.gradient(list(grads), xs, output_gradients=list(us), unconnected_gradients=_ZERO)
    return outs, [_dense(h) for h in hvps]


SECOND_ORDER = {"forward-over-reverse": _forward_over_reverse, "reverse-over-reverse": _reverse_over_reverse}
"""Second order by method, for ``hvp`` and ``hvp_work`` alike."""


def _split(second, n):
    """``second(f, xs, vs, us)`` as ``(f, xs, vectors)``, the vectors being the ``n`` cotangents then the directions."""
    return lambda f, xs, vectors: second(f, xs, vectors[:n], vectors[n:])


def _tensors(arrays):
    return [tf.constant(np.asarray(a)) for a in arrays]


def _numpy(tensors) -> list[np.ndarray]:
    return [np.array(t) for t in tensors]


class TensorFlowBackend(DialectBackend):
    """TensorFlow, eager: the rendered TensorFlow source under ``tf.GradientTape`` (and its forward accumulator)."""

    name = "tensorflow"
    version = tf.__version__
    dtypes = ("float64", "float32")
    dialect = TENSORFLOW
    function = False  # inside tf.function (tensorflow-function)
    hvp_methods = ("forward-over-reverse", "reverse-over-reverse")
    cache_size = 256

    def program(self, mode, f):
        """``(xs, vectors) -> mode(f, xs, vectors)`` as this backend runs it: inside ``tf.function`` (traced once per
        function and shapes, then run as a graph) for ``tensorflow-function``, as it is for eager TensorFlow. The
        derivative methods run it; the work methods count its trace."""
        def run(xs, vectors):
            return mode(f, xs, vectors)

        return tf.function(run, autograph=False) if self.function else run

    def _cached(self, key, mode, function):
        cache = self.__dict__.setdefault("_programs", {})
        if key not in cache:
            if len(cache) >= self.cache_size:
                cache.pop(next(iter(cache)))
            cache[key] = self.program(mode, self.compiled(function))
        return cache[key]

    def _work(self, function, inputs, vectors, mode) -> Work:
        from .work import count_work

        return count_work(self.compiled(function), list(inputs), list(vectors), lambda f: self.program(mode, f))

    def vjp(self, function, inputs, cotangents) -> VJP:
        """:func:`reverse_mode` of the rendered function (the code ``work`` counts)."""
        outs, grads = self._cached(("vjp", function), reverse_mode, function)(_tensors(inputs), _tensors(cotangents))
        return VJP(_numpy(outs), _numpy(grads))

    def work(self, function, inputs, cotangents) -> Work:
        """The ops of the trace of :func:`reverse_mode` (the code ``vjp`` runs), by
        :func:`advalidate_tensorflow.work.count_work`."""
        return self._work(function, inputs, cotangents, reverse_mode)

    def jvp(self, function, inputs, tangents) -> JVP:
        """:func:`forward_mode` of the rendered function (the code ``jvp_work`` counts)."""
        outs, ts = self._cached(("jvp", function), forward_mode, function)(_tensors(inputs), _tensors(tangents))
        return JVP(_numpy(outs), _numpy(ts))

    def jvp_work(self, function, inputs, tangents) -> Work:
        return self._work(function, inputs, tangents, forward_mode)

    def hvp(self, function, inputs, cotangents, directions, method) -> HVP:
        """``H_v·u`` by ``method`` (:data:`SECOND_ORDER`; the code ``hvp_work`` counts)."""
        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        mode = _split(SECOND_ORDER[method], len(cotangents))
        outs, hs = self._cached(("hvp", method, function), mode, function)(
            _tensors(inputs), _tensors([*cotangents, *directions]))
        return HVP(_numpy(outs), _numpy(hs))

    def hvp_work(self, function, inputs, cotangents, directions, method) -> Work:
        if method not in SECOND_ORDER:
            raise ValueError(f"unknown hvp method {method!r}: one of {list(SECOND_ORDER)}")
        return self._work(function, inputs, [*cotangents, *directions],
                          _split(SECOND_ORDER[method], len(cotangents)))


class TensorFlowFunctionBackend(TensorFlowBackend):
    """TensorFlow inside ``tf.function``: the same code traced into a graph (Grappler's rewrites, TensorFlow's graph
    runtime), as ``jax-jit`` is JAX under ``jax.jit``."""

    name = "tensorflow-function"
    function = True
