"""Count JAX work by walking jaxprs: the forward alone, and the forward together with its pullback.

Every equation is weighted by shape under the unit-cost model of :mod:`advalidate.counting`:

- elementwise primitives cost the elements they produce (weight 1 each, transcendental or not);
  composites count as their composition, as in ``counting.COMPOSITES``: ``pow`` 3 (exp(b·log a)),
  ``atan2`` 2, ``integer_pow`` the multiplications of repeated squaring (plus one for a negative power);
- reductions and cumulative ops (``REDUCTIONS``) cost the elements they read (``cumlogsumexp`` 4 per element,
  ``SCAN_WEIGHTS``: a logaddexp each);
- ``dot_general`` costs 2·(elements produced)·(product of the contracted dimensions);
- factorisations and triangular solves (``LINALG``) their flop counts, as :mod:`advalidate.counting` charges them;
- moves that NumPy materialises (``concatenate``, ``select_n`` like ``np.where``, ``gather``, scatters)
  cost the elements produced (a scatter-add the elements it adds, its updates: ``SCATTERS``);
- ``FREE``: bookkeeping that NumPy does with a view, a broadcast, a dtype cast, or an assignment into a
  zero-filled array (``reshape``, ``squeeze``, ``expand_dims``, ``broadcast_in_dim``, ``transpose``,
  ``slice``, ``split``, ``pad``, ``rev``, ``convert_element_type``, ``iota``, ...) costs nothing.

Sub-jaxprs are walked where they run: ``jit``/``pjit``, ``closed_call``, ``remat``, ``custom_jvp_call`` and
``custom_vjp_call`` (their primal body), ``custom_linear_solve`` (its ``solve`` jaxpr: the one it runs), ``scan`` (its body × ``length``), ``cond`` (the most expensive
branch), ``while`` (cond and body once: the trip count is not static, so the count is a lower bound and
the loop is recorded in ``Tally.while_loops``). Every equation in the trace is counted, dead ones
included: eager JAX executes them (``jax.jit`` would remove them; :func:`xla_cost` gives that view).
A primitive in none of the tables is charged as elementwise and recorded in ``Tally.unknown``.

``forward_passes`` counts the calls of f while the VJP is traced. A forward recomputed inside one trace
(``jax.checkpoint``) is not a second call: it shows up in the work instead (about one more work(f)).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..backends.contract import Work
from ..counting import CallCounter as _Calls

__all__ = ["FREE", "REDUCTIONS", "MOVES", "COMPOSITES", "Tally", "count_jaxpr", "count_program",
           "count_work", "jacobian_work", "xla_cost"]

FREE = frozenset({
    "reshape", "squeeze", "expand_dims", "broadcast_in_dim", "transpose", "slice", "rev", "pad",
    "dynamic_slice", "dynamic_update_slice", "convert_element_type", "bitcast_convert_type", "copy", "copy_p",
    "iota", "stop_gradient", "device_put", "sharding_constraint", "optimization_barrier", "pvary",
    "reduce_precision", "mesh_cast", "name", "split", "unstack",
})
REDUCTIONS = frozenset({
    "reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or", "reduce_xor",
    "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp",
})
MOVES = frozenset({"concatenate", "select_n", "gather", "scatter", "scatter-add", "scatter_add", "scatter-mul",
                   "scatter_mul", "sort", "clamp", "stack", "tile", "repeat"})
ELEMENTWISE = frozenset({
    "neg", "sign", "floor", "ceil", "round", "is_finite", "exp", "exp2", "log", "log1p", "expm1", "tanh",
    "logistic", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "sqrt", "rsqrt", "cbrt", "abs", "square", "erf", "erfc", "erf_inv", "lgamma", "digamma", "real", "imag",
    "add", "add_any", "sub", "mul", "div", "rem", "max", "min", "nextafter", "and", "or", "not", "xor",
    "eq", "ne", "lt", "le", "gt", "ge", "select_and_scatter_add", "shift_left", "shift_right_logical",
    "shift_right_arithmetic", "population_count", "clz", "integer_pow", "pow", "atan2",
    # ---- issue 16: elementwise, activations, special functions
    "polygamma",
    # ---- issue 16: bessel
    "bessel_i0e", "bessel_i1e",
})
COMPOSITES = {"pow": 3, "atan2": 2}  # as counting.COMPOSITES: pow = exp(b·log a), atan2 = arctan(y/x) + fix


# ---- issue 16: linear algebra factorisations and solves: the unit costs of advalidate.counting (LU 2n³/3, a
# triangular solve n² per right-hand side column, Cholesky n³/3, the symmetric eigensolver 9n³: jax's eigh
# always computes the eigenvectors); ``platform_index`` (the branch index of a platform-dependent lowering) is free
def _side(eqn) -> int:
    shape = eqn.invars[0].aval.shape
    return int(shape[-1]) if shape else 1


def _batch(eqn) -> int:
    return math.prod(eqn.invars[0].aval.shape[:-2])


LINALG = {
    "lu": lambda eqn: _batch(eqn) * -(-2 * _side(eqn) ** 3 // 3),
    "triangular_solve": lambda eqn: _side(eqn) * _size(eqn.invars[1].aval),
    "cholesky": lambda eqn: _batch(eqn) * -(-_side(eqn) ** 3 // 3),
    "eigh": lambda eqn: _batch(eqn) * 9 * _side(eqn) ** 3,
}
FREE = FREE | {"platform_index"}


# ---- issue 16: scans, sorting, indexing, statistics: top_k is a move (the elements it produces, values and
# indices, as sort); a scan weighs its combining op per element read (cumlogsumexp: logaddexp, 4)
MOVES = MOVES | {"top_k"}
SCAN_WEIGHTS = {"cumlogsumexp": 4}
SCATTERS = frozenset({"scatter-add", "scatter_add"})  # a scatter-add costs the elements it adds, as np.add.at
# ---- issue 16: singular values and QR: the unit costs of advalidate.counting (qr_work, svd_work), by the
# equation's parameters (compute_uv, full_matrices)
def _svd_eqn(eqn) -> int:
    from ..counting import svd_work

    a = eqn.invars[0].aval
    if not eqn.params.get("compute_uv", True):
        return _batch(eqn) * svd_work(a, with_uv=False)
    return _batch(eqn) * svd_work(a, thin=not eqn.params.get("full_matrices", True))


def _qr_eqn(eqn) -> int:
    from ..counting import qr_work

    return _batch(eqn) * qr_work(eqn.invars[0].aval)


LINALG.update({"svd": _svd_eqn, "qr": _qr_eqn})
FREE = FREE | {"empty2"}  # an uninitialised allocation (the zero cotangent of an unused output in qr's VJP)
_CALLS = {"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint", "custom_jvp_call",
          "custom_vjp_call", "custom_vjp_call_jaxpr", "custom_lin", "xla_call", "named_call"}


@dataclass
class Tally:
    """The work of one jaxpr and what it was made of."""

    work: int = 0
    by_primitive: Counter = field(default_factory=Counter)
    unknown: set = field(default_factory=set)
    while_loops: int = 0

    def charge(self, prim: str, work: int):
        self.work += int(work)
        self.by_primitive[prim] += int(work)


def _size(aval) -> int:
    return math.prod(getattr(aval, "shape", ()))


def _integer_pow_weight(y: int) -> int:
    k = abs(int(y))
    mults = max(k.bit_length() - 1 + bin(k).count("1") - 1, 1) if k else 1
    return mults + (1 if y < 0 else 0)


def _dot_work(eqn) -> int:
    (lhs_contract, _), _ = eqn.params["dimension_numbers"]
    lhs = eqn.invars[0].aval.shape
    k = math.prod(lhs[d] for d in lhs_contract)
    return 2 * _size(eqn.outvars[0].aval) * k


def _jaxprs(value):
    """The jaxprs held by one equation parameter (a Jaxpr, a ClosedJaxpr, or a sequence of them)."""
    from jax.extend import core

    if isinstance(value, core.Jaxpr):
        return [value]
    if isinstance(value, core.ClosedJaxpr):
        return [value.jaxpr]
    if isinstance(value, (tuple, list)):
        return [j for v in value for j in _jaxprs(v)]
    return []


def count_jaxpr(jaxpr, tally: Tally | None = None, times: int = 1) -> Tally:
    """Add the work of ``jaxpr`` (a Jaxpr or ClosedJaxpr), executed ``times`` times, into ``tally``."""
    tally = tally if tally is not None else Tally()
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        params = eqn.params
        if name == "scan":
            count_jaxpr(params["jaxpr"], tally, times * int(params["length"]))
        elif name == "cond":
            branches = [count_jaxpr(b) for b in params["branches"]]
            worst = max(branches, key=lambda t: t.work)
            tally.work += times * worst.work
            for p, w in worst.by_primitive.items():
                tally.by_primitive[p] += times * w
            tally.unknown |= set().union(*(b.unknown for b in branches))
        elif name == "custom_linear_solve":  # issue 16: it runs its ``solve`` jaxpr; matvec and the transposes
            count_jaxpr(params["jaxprs"].solve, tally, times)  # are only there for its derivative rules
        elif name == "while":
            tally.while_loops += 1
            count_jaxpr(params["cond_jaxpr"], tally, times)
            count_jaxpr(params["body_jaxpr"], tally, times)
        elif name in _CALLS or any(_jaxprs(v) for v in params.values()):
            key = next((k for k in ("call_jaxpr", "fun_jaxpr", "jaxpr") if k in params), None)
            subs = _jaxprs(params[key]) if key else [j for v in params.values() for j in _jaxprs(v)]
            for sub in subs:
                count_jaxpr(sub, tally, times)
        elif name in FREE:
            continue
        elif name == "dot_general":
            tally.charge(name, times * _dot_work(eqn))
        elif name in LINALG:
            tally.charge(name, times * LINALG[name](eqn))
        elif name in REDUCTIONS:
            tally.charge(name, times * SCAN_WEIGHTS.get(name, 1) * max(_size(eqn.invars[0].aval), 1))
        else:
            if name not in ELEMENTWISE and name not in MOVES:
                tally.unknown.add(name)
            weight = _integer_pow_weight(params["y"]) if name == "integer_pow" else COMPOSITES.get(name, 1)
            produced = sum(max(_size(v.aval), 1) for v in eqn.outvars)
            if name in SCATTERS and len(eqn.invars) > 2:  # a scatter-add: the elements it adds (its updates)
                produced = max(_size(eqn.invars[2].aval), 1)
            tally.charge(name, times * weight * produced)
    return tally


def count_program(g, *args) -> Tally:
    """The work of the JAX program ``g(*args)``, traced with ``jax.make_jaxpr``."""
    import jax

    return count_jaxpr(jax.make_jaxpr(g)(*args))


def _jax_arrays(arrays):
    import jax.numpy as jnp

    return [jnp.asarray(np.asarray(a)) for a in arrays]


def count_work(f, inputs, cotangents, vjp=None) -> Work:
    """The work of ``f`` alone and of ``vjp(f, xs, vs)`` (forward plus pullback), from their jaxprs.

    ``f`` takes arrays and returns a tuple of outputs; ``inputs`` and ``cotangents`` are NumPy arrays.
    ``vjp`` is the very function the JAX backend runs for the values it checks (``jax_backend.reverse_mode`` under its
    ``jax.jit`` or not, ``forward_mode``, a method of ``SECOND_ORDER``; default: ``reverse_mode``): the work is counted
    on that code, not on a copy. ``forward_passes`` is how many times ``f`` ran while ``vjp`` was traced.
    """
    if vjp is None:
        from ..backends.jax_backend import reverse_mode as vjp
    xs, vs = _jax_arrays(inputs), _jax_arrays(cotangents)
    forward = count_program(f, *xs)
    counted = _Calls(f)
    both = count_program(lambda xs, vs: vjp(counted, xs, vs), xs, vs)
    return Work(forward=forward.work, vjp=both.work, forward_passes=counted.n)


def jacobian_work(f, inputs) -> int:
    """The work of the full Jacobian of ``f`` (every output against every input) as reverse mode builds it,
    ``jax.jacrev``: one forward, the pullback vmapped over the output basis, counted on its jaxpr (traced,
    never run, so a Jacobian too large to hold in memory is still counted)."""
    import jax

    xs = _jax_arrays(inputs)
    return count_program(lambda *x: jax.jacrev(f, argnums=tuple(range(len(x))))(*x), *xs).work


def xla_cost(f, inputs, cotangents, vjp=None) -> dict:
    """XLA's own estimate after fusion (a second opinion): flops and transcendentals of f and of f + VJP."""
    import jax

    if vjp is None:
        from ..backends.jax_backend import reverse_mode as vjp

    xs, vs = _jax_arrays(inputs), _jax_arrays(cotangents)

    def analysis(g, *args):
        cost = jax.jit(g).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return {k: float(cost.get(k, 0.0)) for k in ("flops", "transcendentals", "bytes accessed")}

    return {"forward": analysis(f, *xs), "vjp": analysis(lambda xs, vs: vjp(f, xs, vs), xs, vs)}
