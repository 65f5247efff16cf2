"""Count tinygrad's work from what tinygrad runs: the kernels it schedules for the tensors realized.

tinygrad is lazy: a ``Tensor`` is a graph of UOps until it is realized, when tinygrad's scheduler fuses the graph into
kernels (one ``CALL`` per kernel in the ``LINEAR`` UOp that ``Tensor.linear_with_vars`` returns) and runs them. Each
kernel's body is a UOp graph of loops (``RANGE``), loads, ALU ops and stores: the very program tinygrad compiles (to
C, with clang, on its CPU device) and runs. :func:`count_linear` reads it under advalidate's unit-cost model:

- an ALU op on floating-point values (``ADD``, ``MUL``, ``EXP2``, ``SIN``, ``WHERE``, a comparison of floats, ...)
  costs one per execution: the product of the extents of the loops it sits in (the elements it produces);
- a ``REDUCE`` costs the elements it reads (its loops times the loops it reduces);
- index arithmetic (ALU ops on integers and on the index type, comparisons of indices for a pad's mask), loads,
  stores, casts and the copies that bring the inputs in cost nothing (views and bookkeeping).

What tinygrad's fusion does is counted as it runs: an elementwise value the scheduler recomputes in two kernels,
instead of storing it once, is charged twice, as it is computed twice. tinygrad's ``Tensor`` methods are
compositions of few ALU ops (``exp`` is ``exp2`` of ``x·log2(e)``, ``tanh`` a sigmoid, ``sigmoid`` a reciprocal of
``1 + exp2``), so an op's unit cost is its number of ALU steps, as advalidate's PyTorch counter charges a fused
activation its elementary steps. The transcendental ALU ops (``EXP2``, ``LOG2``, ``SIN``, ``SQRT``) cost one each here,
as in every backend's count; tinygrad's code generator later expands them into polynomials on a device without them
(its ``GlobalCounters.global_ops`` counts those, which is not advalidate's model).
"""

from __future__ import annotations

from collections import Counter as Counts
from dataclasses import dataclass, field

from tinygrad import dtypes
from tinygrad.uop.ops import GroupOp, Ops

__all__ = ["Tally", "count_linear", "count_kernel"]


@dataclass
class Tally:
    """The work counted, per UOp, and the kernels it came from."""

    work: int = 0
    kernels: int = 0
    by_op: Counts = field(default_factory=Counts)

    def charge(self, op: str, work: int):
        self.work += int(work)
        self.by_op[op] += int(work)


def _extent(r) -> int:
    """The iterations of a ``RANGE`` loop: its bound (a constant in a schedule without symbolic shapes)."""
    bound = r.src[0]
    if bound.op is not Ops.CONST:
        raise ValueError(f"a loop of symbolic extent ({bound}): its work cannot be counted")
    return int(bound.arg)


def _iterations(ranges) -> int:
    n = 1
    for r in ranges:
        n *= _extent(r)
    return n


def _floating(u) -> bool:
    try:
        return dtypes.is_float(u.dtype)
    except (AttributeError, TypeError):  # a pointer or void type: not a value
        return False


def _computes(u) -> bool:
    """An ALU op on floating-point data: one producing floats, or a comparison whose operands are floats (a mask of
    indices, as a pad's, is bookkeeping)."""
    if u.op not in GroupOp.ALU:
        return False
    return _floating(u) or any(_floating(s) for s in u.src)


def count_kernel(ast, tally: Tally) -> None:
    """Charge one kernel's body (its ``SINK``) to ``tally``."""
    tally.kernels += 1
    for u in ast.toposort():
        if u.op is Ops.REDUCE:
            reduced = [r for r in u.src[1:] if r.op is Ops.RANGE]
            tally.charge(f"REDUCE.{u.arg[0].name}" if isinstance(u.arg, tuple) else "REDUCE",
                         _iterations(u.ranges) * _iterations(reduced))
        elif _computes(u):
            tally.charge(u.op.name, _iterations(u.ranges))


def count_linear(linear) -> Tally:
    """The work of a schedule (the ``LINEAR`` UOp of ``Tensor.linear_with_vars``): every kernel's, copies free."""
    tally = Tally()
    for call in linear.src:
        if call.op is Ops.CALL and call.src and call.src[0].op is Ops.SINK:
            count_kernel(call.src[0], tally)
    return tally
