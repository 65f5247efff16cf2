"""Compositions autograd does not provide, written as its users write them (the rendered source calls them)."""

import autograd.numpy as anp

__all__ = ["softmax", "solve_triangular"]


def softmax(x, axis=-1):
    """exp(x - max) / sum: the max shift keeps exp in range and, unlike exp(x - logsumexp(x)), adds no rounding
    of a large logsumexp (that form is 1e-13 relative off at x = -750)."""
    e = anp.exp(x - anp.max(x, axis=axis, keepdims=True))
    return e / anp.sum(e, axis=axis, keepdims=True)


def solve_triangular(a, b, lower=True):
    """autograd.scipy.linalg.solve_triangular (SciPy's LAPACK call, which autograd differentiates; issue 16). Its work
    runs inside SciPy, on plain arrays, which the counting array does not observe."""
    from autograd.scipy.linalg import solve_triangular as solve

    return solve(a, b, lower=lower)
