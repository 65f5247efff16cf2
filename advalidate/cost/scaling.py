"""Scaling sweeps for the cost plots (JSON-ready data for ``results.json``).

A *counter* is any callable ``counter(function, inputs, cotangents) -> Work``: a backend's ``work`` method
(``NumpyReference().work``), or :func:`dialect_counter` around one of the trace counters
(``dialect_counter(advalidate.cost.jaxpr.count_work, "jax")``).

Full-Jacobian work is *measured* where a library builds the Jacobian in one trace that its counter can
read (JAX: the jaxpr of ``jax.jacrev``, :func:`advalidate.cost.jaxpr.jacobian_work`; ``MEASURED_JACOBIAN``
by dialect). Elsewhere it is *derived*, not measured: reverse mode builds the m×n Jacobian from m VJPs, one
per output basis vector, each with its forward, so its work is ``m · work(f + VJP)`` and its log-log slope
is the VJP's plus one by construction. ``jacobian_method`` says which (``"measured: ..."`` or
``"derived: ..."``), and the report's plots label each line with it.

The data (``campaign_data``, the ``cost`` section of ``results.json``)::

    {"omega": 5.0,
     "outputs": {backend: [{"family", "n", "jacobian_method", "m": [...], "forward": [...], "vjp": [...],
                            "ratio": [...], "forward_passes": [...], "jacobian": [...], "jacobian_ratio": [...]},
                           ...one per family]},
     "seed": {backend: {"H", "jacobian_method", "N": [...], "forward": [...], "vjp": [...], "jacobian": [...],
                        "forward_passes": [...], "slope_forward", "slope_vjp", "slope_jacobian"}},
     "errors": {backend: "why it could not be counted"}}
"""

from __future__ import annotations

import numpy as np

from ..render import compile_function
from . import examples

__all__ = ["OUTPUT_SIZES", "SEED_SIZES", "MEASURED_JACOBIAN", "dialect_counter", "measured_jacobian",
           "sweep_outputs", "seed_sweep", "loglog_slope", "campaign_data"]

OUTPUT_SIZES = tuple(2 ** k for k in range(13))  # m = 1 … 4096
SEED_SIZES = tuple(2 ** k for k in range(4, 13))  # N = 16 … 4096
# dialect name -> (module, function ``jacobian_work(f, inputs) -> int``, how it measures)
MEASURED_JACOBIAN = {"jax": ("advalidate.cost.jaxpr", "jacobian_work", "measured: the jaxpr of jax.jacrev")}


def dialect_counter(count_work, dialect):
    """A counter running ``count_work(compile_function(fn, dialect), inputs, cotangents)``."""
    cache = {}

    def counter(fn, inputs, cotangents):
        if fn not in cache:
            cache[fn] = compile_function(fn, dialect)
        return count_work(cache[fn], inputs, cotangents)

    return counter


def loglog_slope(sizes, works) -> float:
    """The least-squares slope of log(work) against log(size)."""
    return float(np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(works, float)), 1)[0])


def measured_jacobian(backend):
    """``(jacobian(fn, inputs) -> int, method)`` for a backend whose dialect has a measured full Jacobian
    (``MEASURED_JACOBIAN``), else None (its Jacobian work is then derived from its VJP's)."""
    dialect = getattr(getattr(backend, "dialect", None), "name", None)
    if dialect not in MEASURED_JACOBIAN:
        return None
    import importlib

    module, function, method = MEASURED_JACOBIAN[dialect]
    jacobian_work = getattr(importlib.import_module(module), function)
    cache = {}

    def jacobian(fn, inputs):
        if fn not in cache:
            cache[fn] = compile_function(fn, dialect)
        return jacobian_work(cache[fn], inputs)

    return jacobian, method


def _measure(counter, fn, seed, size, jacobian):
    """``(work, jacobian work)``: the Jacobian measured by ``jacobian`` when given, else ``size`` VJPs."""
    rng = np.random.default_rng(seed)
    xs, vs = examples.point(fn, rng)
    w = counter(fn, xs, vs)
    return w, int(jacobian[0](fn, xs)) if jacobian else int(size) * int(w.vjp)


def _method(jacobian, n: str) -> str:
    return jacobian[1] if jacobian else f"derived: {n} × work(f + VJP)"


def sweep_outputs(counter, family: str = "matrix-chain", n: int = 64, sizes=OUTPUT_SIZES, seed: int = 0,
                  jacobian=None) -> dict:
    """Work of f, of f + VJP and of the full Jacobian for output sizes m, at input size n. ``jacobian``
    (from :func:`measured_jacobian`) measures the Jacobian; without it, it is derived as m VJPs."""
    if family not in examples.FAMILIES:
        raise KeyError(f"unknown family {family!r}; known: {sorted(examples.FAMILIES)}")
    rows = {"m": [], "forward": [], "vjp": [], "ratio": [], "forward_passes": [], "jacobian": [],
            "jacobian_ratio": []}
    for m in sizes:
        w, jac = _measure(counter, examples.FAMILIES[family](n, m), seed, m, jacobian)
        rows["m"].append(int(m))
        rows["forward"].append(int(w.forward))
        rows["vjp"].append(int(w.vjp))
        # a library may fold f to a constant (tinygrad: softmax over an axis of length 1), forward work 0: no ratio,
        # and JSON has no inf (write_json's allow_nan=False ended the run)
        rows["ratio"].append(w.ratio if w.forward else None)
        rows["forward_passes"].append(int(w.forward_passes))
        rows["jacobian"].append(jac)
        rows["jacobian_ratio"].append(jac / w.forward if w.forward else None)
    return {"family": family, "n": n, "jacobian_method": _method(jacobian, "m"), **rows}


def seed_sweep(counter, sizes=SEED_SIZES, hidden: int = 16, seed: int = 0, jacobian=None) -> dict:
    """The seed question: f = f3∘f2∘f1 (N×H, H×H, H×N; H fixed). VJP work and full-Jacobian work against N,
    with their fitted log-log slopes (reverse mode: ~1 and ~2). ``jacobian`` as in :func:`sweep_outputs`."""
    rows = {"N": [], "forward": [], "vjp": [], "jacobian": [], "forward_passes": []}
    for n in sizes:
        w, jac = _measure(counter, examples.seed_chain(n, hidden), seed, n, jacobian)
        rows["N"].append(int(n))
        rows["forward"].append(int(w.forward))
        rows["vjp"].append(int(w.vjp))
        rows["jacobian"].append(jac)
        rows["forward_passes"].append(int(w.forward_passes))
    return {"H": hidden, "jacobian_method": _method(jacobian, "N"), **rows,
            "slope_forward": loglog_slope(rows["N"], rows["forward"]),
            "slope_vjp": loglog_slope(rows["N"], rows["vjp"]),
            "slope_jacobian": loglog_slope(rows["N"], rows["jacobian"])}


def campaign_data(backends, families=tuple(examples.FAMILIES), n: int = 64) -> dict:
    """Both sweeps for every backend that counts work: the ``cost`` section of ``results.json``."""
    from . import OMEGA

    out = {"omega": OMEGA, "outputs": {}, "seed": {}, "errors": {}}
    for backend in backends:
        if not callable(getattr(backend, "work", None)):
            continue
        try:
            jacobian = measured_jacobian(backend)
            out["outputs"][backend.name] = [sweep_outputs(backend.work, fam, n, jacobian=jacobian)
                                            for fam in families]
            out["seed"][backend.name] = seed_sweep(backend.work, jacobian=jacobian)
        except Exception as e:  # a backend that cannot count is reported, not fatal to the campaign
            out["errors"][backend.name] = f"{type(e).__name__}: {e}"
    return out
