"""Small builders shared by the tests."""

import numpy as np
from advalidate import primitives
from advalidate.builder import Builder


def single(name, shape=(3, 4), dtype="float64"):
    """A one-node program applying catalogue primitive ``name`` to inputs of ``shape`` (params chosen to fit)."""
    prim = primitives.CATALOGUE[name]
    b = Builder(dtype)
    params = {
        "reshape": {"shape": [shape[-1], *shape[:-1]]},
        "broadcast_to": {"shape": [2, *shape]},
        "index": {"key": [[0, 2, 1]] + ([1] if len(shape) > 1 else [])},
        "transpose": {},
    }.get(name, {})
    if prim.family == "reduction":
        params = {"axis": len(shape) - 1}
    if name == "matmul":
        args = [b.input(shape), b.input(shape[::-1])]
    elif prim.arity is None:
        args = [b.input(shape), b.input(shape)]
    else:
        args = [b.input(shape) for _ in range(prim.arity)]
    return b.build(b.apply(name, *args, **params))


def well_inside(fn, rng, dtype="float64"):
    """A random point comfortably inside every domain and away from kinks, for one-node programs."""
    prim = fn.nodes[0].prim
    xs = []
    for i, shape in enumerate(fn.inputs):
        x = rng.uniform(0.4, 1.6, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        if prim in ("sqrt", "log", "log1p") or (prim == "pow" and i == 0) or (prim == "atan2" and i == 1):
            x = np.abs(x)
        if prim == "tan":
            x = x * 0.8
        xs.append(x.astype(dtype))
    return xs
