"""Planted VJPs that are correct but not reverse mode: both must be flagged ``cost-bound``.

- ``jacobian``: materialise the Jacobian (one pullback per output basis vector, or ``jacrev``), then ``v @ J``;
- ``rerun``: run the forward again for every output component and pull back that component alone.
"""

import numpy as np

from advalidate import counting
from advalidate.backends import numpy_ref
from advalidate.backends.contract import Work


class NumpyJacobian:
    """The reference tape, but the VJP is ``v @ J`` with J built row by row (one forward, m backward passes)."""

    name = "numpy-jacobian"

    def work(self, fn, inputs, cotangents):
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                numpy_ref.forward(fn, inputs)
            with counting.counting() as both:
                values = numpy_ref.forward(fn, inputs)
                (shape,) = fn.output_shapes
                v = counting.wrap(np.asarray(cotangents[0]).reshape(-1))
                rows = []
                for i in range(v.size):
                    e = np.zeros(v.size)
                    e[i] = 1.0
                    rows.append([counting.wrap(g).reshape(-1) for g in
                                 numpy_ref.backward(fn, values, [e.reshape(shape)])])
                for k in range(len(fn.inputs)):
                    jac = counting.wrap(np.stack([counting.unwrap(r[k]) for r in rows]))
                    np.matmul(v, jac)
        return Work(fwd.work, both.work, 1)


class NumpyRerun:
    """The reference tape, re-running the forward once per output component."""

    name = "numpy-rerun"

    def work(self, fn, inputs, cotangents):
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                numpy_ref.forward(fn, inputs)
            with counting.counting() as both:
                (shape,) = fn.output_shapes
                v = np.asarray(cotangents[0]).reshape(-1)
                for i in range(v.size):
                    e = np.zeros(v.size)
                    e[i] = v[i]
                    numpy_ref.backward(fn, numpy_ref.forward(fn, inputs), [e.reshape(shape)])
        return Work(fwd.work, both.work, v.size)


def jax_jacobian_vjp(f, xs, vs):
    import jax
    import jax.numpy as jnp

    outs = f(*xs)
    jac = jax.jacrev(lambda *x: f(*x)[0], argnums=tuple(range(len(xs))))(*xs)
    v = vs[0].reshape(-1)
    return outs, [jnp.tensordot(v, j.reshape(v.size, *x.shape), axes=1) for j, x in zip(jac, xs)]


def jax_rerun_vjp(f, xs, vs):
    import jax
    import jax.numpy as jnp

    v = vs[0].reshape(-1)
    grads = None
    for i in range(v.size):
        outs, pull = jax.vjp(lambda *x: f(*x)[0], *xs)
        e = jnp.zeros(v.size).at[i].set(v[i]).reshape(outs.shape)
        g = pull(e)
        grads = g if grads is None else [a + b for a, b in zip(grads, g)]
    return outs, grads


def torch_jacobian_vjp(f, xs, vs):
    import torch

    jac = torch.autograd.functional.jacobian(lambda *x: f(*x)[0], tuple(xs))
    v = vs[0].reshape(-1)
    return None, [torch.tensordot(v, j.reshape(v.numel(), *x.shape), dims=1) for j, x in zip(jac, xs)]


def torch_rerun_vjp(f, xs, vs):
    import torch

    v = vs[0].reshape(-1)
    grads = [torch.zeros_like(x) for x in xs]
    for i in range(v.numel()):
        out = f(*xs)[0].reshape(-1)
        gs = torch.autograd.grad(out[i] * v[i], xs, allow_unused=True)
        grads = [a if g is None else a + g for a, g in zip(grads, gs)]
    return None, grads


def autograd_jacobian_vjp(f, xs, vs):
    import autograd.numpy as anp
    from autograd import jacobian

    jac = [jacobian(lambda x, k=k: f(*(xs[:k] + [x] + xs[k + 1:]))[0])(xs[k]) for k in range(len(xs))]
    v = vs[0].reshape(-1)
    return None, [anp.tensordot(v, j.reshape(v.size, *x.shape), axes=1) for j, x in zip(jac, xs)]


PLANTED = {
    "jax": {"jacobian": jax_jacobian_vjp, "rerun": jax_rerun_vjp},
    "torch": {"jacobian": torch_jacobian_vjp, "rerun": torch_rerun_vjp},
    "autograd": {"jacobian": autograd_jacobian_vjp},
}
