"""Linear algebra: ``matmul`` of 1-D or 2-D operands."""

from __future__ import annotations

import numpy as np

from . import shapes
from ._forms import sum_of_terms
from .primitive import Draw, Primitive
from .registry import register


def grad_matmul_a(g, ans, a, b):
    if b.ndim == 1:
        return np.multiply.outer(g, b) if a.ndim == 2 else g * b
    return np.matmul(g, b.T) if a.ndim == 2 else np.matmul(b, g)


def grad_matmul_b(g, ans, a, b):
    if a.ndim == 1:
        return np.multiply.outer(a, g) if b.ndim == 2 else g * a
    return np.matmul(a.T, g) if b.ndim == 2 else np.matmul(g, a)


register(Primitive(
    "matmul", 2, "linalg", shapes.matmul, np.matmul, np.matmul, doc="1-D or 2-D operands",
    vjp=(grad_matmul_a, grad_matmul_b),
    jvp=lambda ts, ans, a, b: np.matmul(ts[0], b) + np.matmul(a, ts[1]),
    # the sums inside the rules mix signs: |J|^T |v| takes absolute values of the factors first
    magnitude=(lambda g, ans, a, b: grad_matmul_a(g, ans, np.abs(a), np.abs(b)),
               lambda g, ans, a, b: grad_matmul_b(g, ans, np.abs(a), np.abs(b))),
    rounding=lambda value, args, params: sum_of_terms(value, args, params, np.matmul),
    draw=Draw(simplicity=20, rule="matmul", ranks=lambda max_dims: (1, min(2, max_dims)), rank_text="1 or 2"),
    example=lambda shape: ([shape, shape[::-1]], {})))
