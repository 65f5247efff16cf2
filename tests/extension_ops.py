"""Users' ops for tests/test_extend.py: implementations at module level (the rendered source imports this module
and calls them from here), registered by the functions below and removed by the tests' fixture."""

import mpmath
import numpy as np

from advalidate import extend

# ---- softplus(x) = log(1 + exp(x)) with hand-written VJPs; `bad` ones drop the cotangent's scale


def _np_softplus(x):
    return np.logaddexp(0, x)


def register_softplus(name="my_softplus", bad=False):
    import jax
    import jax.numpy as jnp
    import torch

    global jax_softplus, TorchSoftplus

    @jax.custom_vjp
    def jax_softplus(x):
        return jnp.logaddexp(0.0, x)

    def fwd(x):
        return jax_softplus(x), x

    def bwd(x, g):
        return (jax.nn.sigmoid(x) if bad else g * jax.nn.sigmoid(x),)

    jax_softplus.defvjp(fwd, bwd)

    class TorchSoftplus(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.logaddexp(torch.zeros_like(x), x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.sigmoid(x) if bad else g * torch.sigmoid(x)

    return extend.defop(name, mp=lambda x: mpmath.log1p(mpmath.exp(x)), jax=jax_softplus, torch=TorchSoftplus)


def raising(x):
    raise RuntimeError("this implementation is broken")


def register_raising(name="my_raising"):
    return extend.defop(name, mp=mpmath.exp, torch=raising)


# ---- a binary elementwise op and an op on whole arrays (derived rules)


def register_hypot2(name="my_hypot2"):
    return extend.defop(name, mp=lambda a, b: mpmath.sqrt(a * a + b * b + 1))


def _mp_cumsum(x):
    return np.cumsum(x)


def register_cumsum(name="my_cumsum"):
    return extend.defop(name, mp=_mp_cumsum, elementwise=False, arity=1, ranks=(1, 1),
                        shape=lambda shapes: tuple(shapes[0]))


def local_implementation(name="my_local"):
    def inner(x):
        return x

    return extend.defop(name, mp=mpmath.exp, jax=inner)
