"""A numerically careful ``log1mexp(x) = log(1 - exp(-x))`` for x > 0, with hand-written VJPs in JAX, PyTorch
and autograd, registered with advalidate in one place (the ``extend.defop`` call at the end).

The forward follows Mächler (2012), "Accurately computing log(1 - exp(-|a|))": ``log(-expm1(-x))`` up to log 2,
``log1p(-exp(-x))`` beyond (each formula loses digits on the other side). The derivative is
``exp(-x) / (1 - exp(-x)) = 1 / expm1(x)``, accurate everywhere.

The JAX version switches at 1.5 instead: advalidate found, through this op, that ``jnp.log1p`` (jax 0.10.2, float64,
CPU) is up to 128 ulps off for arguments in about (-0.414, -0.358), which ``log1p(-exp(-x))`` reaches for x in
(0.88, 1.03); ``log(-expm1(-x))`` stays within 3 ulps up to 1.5 (-expm1(-x) <= 0.78 is far from 1).

Check it: ``advalidate run --extension log1mexp_ops`` (from this folder), or ``pytest test_log1mexp.py``.
Each library is optional: an implementation is registered only where its library is installed.
"""

import math

import mpmath
import numpy as np

from advalidate import extend

LOG2 = math.log(2)

implementations = {}

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    pass
else:
    @jax.custom_vjp
    def log1mexp_jax(x):
        return jnp.where(x > 1.5, jnp.log1p(-jnp.exp(-x)), jnp.log(-jnp.expm1(-x)))

    def _jax_fwd(x):
        return log1mexp_jax(x), x

    def _jax_bwd(x, g):
        return (g / jnp.expm1(x),)

    log1mexp_jax.defvjp(_jax_fwd, _jax_bwd)
    implementations["jax"] = log1mexp_jax

try:
    import torch
except ImportError:
    pass
else:
    class Log1mexp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.where(x > LOG2, torch.log1p(-torch.exp(-x)), torch.log(-torch.expm1(-x)))

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / torch.expm1(x)

    implementations["torch"] = Log1mexp

try:
    import advalidate_autograd  # noqa: F401  (advalidate's autograd backend, a plug-in)
    from autograd.extend import defvjp, primitive
except ImportError:
    pass
else:
    @primitive
    def log1mexp_autograd(x):
        return np.where(x > LOG2, np.log1p(-np.exp(-x)), np.log(-np.expm1(-x)))

    defvjp(log1mexp_autograd, lambda ans, x: lambda g: g / np.expm1(x))
    implementations["autograd"] = log1mexp_autograd


extend.defop(
    "log1mexp",
    mp=lambda x: mpmath.log(-mpmath.expm1(-x)),  # the mathematics, for the oracle
    domain=lambda x: x,  # defined and smooth for x > 0
    **implementations,
)
