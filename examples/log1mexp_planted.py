"""log1mexp with a planted mistake in its hand-written VJPs, for advalidate to find.

The slip: the derivative of ``log(u)`` is ``u' / u``, and the backward passes below forget ``u' = exp(-x)``,
returning ``g / (1 - exp(-x))`` instead of ``g * exp(-x) / (1 - exp(-x)) = g / expm1(x)``. It looks plausible,
is right in the limit x -> 0, and gradcheck at a point near 0 with its loose tolerance can pass it.
The forward is the careful one of ``log1mexp_ops``.

``pytest test_log1mexp_planted.py`` fails with the shrunk program, point, cotangent, the oracle's VJP against
the backend's, and the kind (``wrong-value``).
"""

import mpmath

import jax
import jax.numpy as jnp
import torch

from advalidate import extend
from log1mexp_ops import Log1mexp, log1mexp_jax


@jax.custom_vjp
def log1mexp_planted_jax(x):
    return log1mexp_jax(x)


def _fwd(x):
    return log1mexp_jax(x), x


def _bwd(x, g):
    return (g / (1 - jnp.exp(-x)),)  # planted: forgets the factor exp(-x)


log1mexp_planted_jax.defvjp(_fwd, _bwd)


class Log1mexpPlanted(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return Log1mexp.forward(ctx, x)  # saves x for the backward

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 - torch.exp(-x))  # planted: forgets the factor exp(-x)


extend.defop("log1mexp_planted", mp=lambda x: mpmath.log(-mpmath.expm1(-x)), domain=lambda x: x,
             jax=log1mexp_planted_jax, torch=Log1mexpPlanted)
