"""Count TensorFlow's work from what TensorFlow records: the graph of the program, traced by ``tf.function``.

The program is the backend's own (the very function its derivative methods run: :func:`reverse_mode`,
:func:`forward_mode` and :data:`SECOND_ORDER`, inside ``tf.function`` for ``tensorflow-function``, as it is for eager
TensorFlow, whose Python runs the same ops one by one). Tracing records every op the code creates, gradient ops
included, before Grappler's rewrites: that is the code the library was asked to run, and what advalidate counts for
the other libraries too (JAX's jaxpr, PyTorch's aten ops).

Each op is charged under advalidate's unit-cost model (``advalidate.counting``): an elementwise op the elements it
produces (times its weight: a fused activation counts its elementary steps, as PyTorch's counter does), a reduction
or a scan the elements it reads, a matrix product 2·m·n·k, a factorisation its usual flop count, data movement that
materialises (concat, gather, pad, tile, a slice's gradient) the elements it produces, views and bookkeeping (shapes,
reshapes, transposes, slices, broadcasts, constants, identities) nothing. Integer ops are index and shape arithmetic
and cost nothing. An op missing from the tables is charged as elementwise and named in ``Tally.unknown`` (a test
keeps the catalogue free of them).
"""

from __future__ import annotations

from collections import Counter as Counts
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from advalidate.plugin import CallCounter, Work

__all__ = ["Tally", "count_graph", "count_program", "count_work", "ELEMENTWISE", "FREE"]

FREE = {
    "Placeholder", "Const", "Identity", "IdentityN", "NoOp", "Shape", "ShapeN", "Size", "Rank", "Reshape",
    "Squeeze", "ExpandDims", "Transpose", "StridedSlice", "Slice", "BroadcastTo", "BroadcastArgs",
    "BroadcastGradientArgs", "StopGradient", "PreventGradient", "MatrixDiagPartV3", "MatrixDiagPart", "DiagPart",
    "Snapshot", "EnsureShape", "CheckNumerics", "ZerosLike", "OnesLike", "Fill", "Range", "Cast", "Bitcast",
    "Reverse", "ReverseV2", "Unpack", "Split", "SplitV", "_Retval", "_Arg", "TensorListFromTensor",
}
"""Views, bookkeeping, constants (a zeros or ones tensor is a constant, not computed)."""

ELEMENTWISE = {
    # one elementary step per element produced
    "Neg": 1, "Square": 1, "Sqrt": 1, "Exp": 1, "Expm1": 1, "Log": 1, "Log1p": 1, "Sin": 1, "Cos": 1, "Tan": 1,
    "Tanh": 1, "Sinh": 1, "Cosh": 1, "Atan": 1, "Asinh": 1, "Acosh": 1, "Asin": 1, "Acos": 1, "Atanh": 1, "Erf": 1,
    "Erfc": 1, "Erfinv": 1, "Ndtri": 1, "Abs": 1, "Reciprocal": 1, "Inv": 1, "Rsqrt": 1, "Sign": 1, "Floor": 1,
    "Ceil": 1, "Round": 1, "Rint": 1, "Lgamma": 1, "Digamma": 1, "Polygamma": 1, "Zeta": 1, "Sigmoid": 1,
    "Relu": 1, "Relu6": 1, "AddV2": 1, "Add": 1, "Sub": 1, "Mul": 1, "MulNoNan": 1, "RealDiv": 1, "Div": 1,
    "DivNoNan": 1, "Pow": 1, "Maximum": 1, "Minimum": 1, "Atan2": 1, "SelectV2": 1, "Select": 1,
    "TruncateMod": 1, "FloorMod": 1, "FloorDiv": 1, "TruncateDiv": 1, "Greater": 1, "Less": 1, "GreaterEqual": 1,
    "LessEqual": 1, "Equal": 1, "NotEqual": 1, "LogicalAnd": 1, "LogicalOr": 1, "LogicalNot": 1, "IsFinite": 1,
    "IsNan": 1, "IsInf": 1, "ClipByValue": 2, "SquaredDifference": 2, "BesselI0e": 1, "BesselI1e": 1,
    "Xlogy": 2, "Xlog1py": 2, "Xdivy": 2, "AddN": 1, "Softsign": 2,
    # fused activations and their gradients: their elementary steps (as advalidate's PyTorch counter charges them)
    "Softplus": 4, "SoftplusGrad": 6, "Elu": 4, "EluGrad": 4, "Selu": 4, "SeluGrad": 4, "LeakyRelu": 2,
    "LeakyReluGrad": 2, "ReluGrad": 2, "Relu6Grad": 3, "SoftsignGrad": 4, "TanhGrad": 3, "SigmoidGrad": 3,
    "SqrtGrad": 2, "RsqrtGrad": 4, "ReciprocalGrad": 3, "InvGrad": 3, "IgammaGradA": 4,
}
"""Elementwise ops and their weight per element produced."""

REDUCTIONS = {"Sum": 1, "Mean": 1, "Max": 1, "Min": 1, "Prod": 1, "All": 1, "Any": 1, "ArgMax": 1, "ArgMin": 1,
              "EuclideanNorm": 2, "Cumsum": 1, "Cumprod": 1, "CumulativeLogsumexp": 4}
"""Reductions and scans: their weight per element read."""

MOVES = {"ConcatV2", "Concat", "Pack", "Tile", "Pad", "PadV2", "MirrorPad", "MirrorPadGrad", "GatherV2", "Gather",
         "GatherNd", "Roll", "StridedSliceGrad", "SliceGrad", "TopKV2", "TopK", "MatrixBandPart", "MatrixSetDiagV3",
         "MatrixDiagV3", "MatrixDiag", "Diag", "TensorScatterAdd", "TensorScatterUpdate", "ScatterNd",
         "UnsortedSegmentSum", "SegmentSum", "Einsum"}
"""Data movement that materialises (charged the elements produced; a scatter-add the elements it adds)."""

_SCATTERS = {"UnsortedSegmentSum": 0, "SegmentSum": 0, "TensorScatterAdd": 2, "ScatterNd": 1}  # the input it adds


@dataclass
class Tally:
    """The work counted, per op type, and the op types charged by the default rule."""

    work: int = 0
    by_op: Counts = field(default_factory=Counts)
    unknown: set = field(default_factory=set)

    def charge(self, op: str, work: int):
        self.work += int(work)
        self.by_op[op] += int(work)


_SAME_SIZE = {"Reshape", "Identity", "IdentityN", "Snapshot", "EnsureShape", "Squeeze", "ExpandDims", "Transpose",
              "Cast", "StopGradient", "PreventGradient", "ZerosLike", "OnesLike", "CheckNumerics"}
"""Ops whose output has as many elements as their first input (a reshape's output shape may be known only at run
time: TensorFlow's forward accumulator reshapes by a computed shape)."""


def _size(t) -> int:
    """The elements of ``t``: from its static shape, or, where the trace left it unknown, from the op that made it (a
    size-preserving op: its input's; an elementwise one: its largest operand's, broadcasting), else from running the
    graph up to it (:func:`_resolve_shapes`)."""
    shape = t.shape
    if shape.rank is not None and all(d is not None for d in shape.as_list()):
        return int(np.prod(shape.as_list(), dtype=np.int64))
    op = t.op
    if op.type in _SAME_SIZE:
        return _size(op.inputs[0])
    if op.type in ELEMENTWISE and op.inputs:
        return max(_size(i) for i in op.inputs)
    return int(np.prod(_dims(t), dtype=np.int64))


_RUN_SHAPES: dict = {}  # graph -> {tensor name: its shape when the graph runs on the traced inputs}


def _dims(t) -> list[int]:
    """The shape of ``t``: its static one, or its run-time one where the trace left it unknown."""
    shape = t.shape
    if shape.rank is not None and all(d is not None for d in shape.as_list()):
        return shape.as_list()
    known = _RUN_SHAPES.get(t.graph, {})
    if t.name not in known:
        raise ValueError(f"the traced graph has a tensor of unknown shape, {t.name} (made by a {t.op.type} op): its "
                         "work cannot be counted")
    return list(known[t.name])


_CALLS = ("PartitionedCall", "StatefulPartitionedCall")


def _callee(op):
    """The graph of the function a call op runs (TensorFlow's own lookup of its callee)."""
    return op.graph._get_function(op.get_attr("f").name).graph  # noqa: SLF001


def _unknown(graph) -> list:
    return [t for op in graph.get_operations() for t in op.outputs
            if t.dtype != tf.resource and (t.shape.rank is None or None in t.shape.as_list())]


def _has_unknown(graph) -> bool:
    return bool(_unknown(graph)) or any(_has_unknown(_callee(op)) for op in graph.get_operations() if op.type in _CALLS)


def _resolve_shapes(graph, feeds) -> None:
    """Put in :data:`_RUN_SHAPES` the run-time shape of every tensor of ``graph`` and of the functions it calls whose
    static shape the trace left unknown (a scatter-add's forward-mode gradient reshapes by a computed shape), from one
    run of each graph on ``feeds`` (its placeholders' values; a callee's are its call's inputs in that run)."""
    if not _has_unknown(graph):
        return
    unknown = _unknown(graph)
    calls = [op for op in graph.get_operations() if op.type in _CALLS and _has_unknown(_callee(op))]
    fetches = unknown + [t for op in calls for t in op.inputs]
    with tf.compat.v1.Session(graph=graph) as session:
        values = session.run([t.name for t in fetches], feed_dict={t.name: v for t, v in feeds})
    _RUN_SHAPES[graph] = {t.name: np.shape(v) for t, v in zip(unknown, values)}
    rest = iter(values[len(unknown):])
    for op in calls:
        callee = _callee(op)
        _resolve_shapes(callee, [(t, next(rest)) for t in callee.inputs[:len(op.inputs)]])


def _floating(t) -> bool:
    return t.dtype.is_floating or t.dtype.is_complex


def _matrix(t) -> tuple[int, int, int]:
    """(batch, rows, columns) of a stack of matrices."""
    dims = _dims(t)
    return int(np.prod(dims[:-2], dtype=np.int64)), dims[-2], dims[-1]


def _matmul_work(op) -> int:
    """2·m·n·k: twice the elements produced times the contracted extent (``a``'s last axis, or its second to last
    when ``a`` is transposed or adjoint)."""
    attrs = op.node_def.attr
    flipped = any(op.get_attr(name) for name in ("transpose_a", "adj_x") if name in attrs)
    a = _dims(op.inputs[0])
    return 2 * _size(op.outputs[0]) * (a[-2] if flipped else a[-1])


def _einsum_work(op) -> int:
    """2 · the product of every label's extent (a contraction's multiply-adds), at least the elements produced."""
    equation = op.get_attr("equation").decode()
    inputs, _, _ = equation.partition("->")
    extents = {}
    for spec, t in zip(inputs.split(","), op.inputs):
        for label, extent in zip(spec.strip(), _dims(t)):
            extents[label] = extent
    return max(2 * int(np.prod(list(extents.values()), dtype=np.int64)), _size(op.outputs[0]))


def _linalg_work(op) -> int | None:
    """The usual flop count of a factorisation or a solve of an n×n matrix, per matrix of the batch (as advalidate's
    other counters charge them), or None for an op that is not one."""
    kind = op.type
    if kind not in {"MatrixInverse", "MatrixDeterminant", "LogMatrixDeterminant", "Cholesky", "MatrixSolve",
                    "MatrixTriangularSolve", "SelfAdjointEigV2", "Svd", "Qr", "CholeskyGrad", "Lu"}:
        return None
    batch, n, m = _matrix(op.inputs[0])
    k = min(n, m)
    if kind == "MatrixInverse":
        per = 2 * n ** 3
    elif kind in ("MatrixDeterminant", "LogMatrixDeterminant", "Lu"):
        per = 2 * n ** 3 // 3 + n
    elif kind in ("Cholesky", "CholeskyGrad"):
        per = n ** 3 // 3 if kind == "Cholesky" else n ** 3
    elif kind == "MatrixSolve":
        cols = _dims(op.inputs[1])[-1]
        per = 2 * n ** 3 // 3 + 2 * n * n * cols
    elif kind == "MatrixTriangularSolve":
        cols = _dims(op.inputs[1])[-1]
        per = n * n * cols
    elif kind == "SelfAdjointEigV2":
        per = 9 * n ** 3 if op.get_attr("compute_v") else 4 * n ** 3 // 3
    elif kind == "Svd":
        per = 21 * k ** 3 if op.get_attr("compute_uv") else 8 * k ** 3 // 3
    else:  # Qr
        per = 8 * k ** 3 // 3
    return batch * max(per, 1)


def count_graph(graph, tally: Tally | None = None) -> Tally:
    """Add the work of every op of ``graph`` (a ``tf.Graph``: a concrete function's), and of the functions its call
    ops run, into ``tally``."""
    tally = tally if tally is not None else Tally()
    for op in graph.get_operations():
        kind = op.type
        if kind in _CALLS:
            count_graph(_callee(op), tally)
            continue
        if kind in FREE:
            continue
        floating_out = any(_floating(o) for o in op.outputs)
        if kind in REDUCTIONS:
            if not _floating(op.inputs[0]):
                continue
            tally.charge(kind, REDUCTIONS[kind] * max(_size(op.inputs[0]), 1))
        elif not floating_out:
            continue  # index and shape arithmetic
        elif kind in ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "BatchMatMul"):
            tally.charge(kind, _matmul_work(op))
        elif kind == "Einsum":
            tally.charge(kind, _einsum_work(op))
        elif _linalg_work(op) is not None:
            tally.charge(kind, _linalg_work(op))
        elif kind in ("Softmax", "LogSoftmax"):
            tally.charge(kind, 5 * max(_size(op.inputs[0]), 1))
        elif kind in _SCATTERS:
            tally.charge(kind, max(_size(op.inputs[_SCATTERS[kind]]), 1))
        elif kind in MOVES:
            tally.charge(kind, sum(max(_size(o), 1) for o in op.outputs if _floating(o)))
        else:
            if kind not in ELEMENTWISE:
                tally.unknown.add(kind)
            tally.charge(kind, ELEMENTWISE.get(kind, 1) * sum(max(_size(o), 1) for o in op.outputs if _floating(o)))
    return tally


def count_program(program, *args) -> Tally:
    """The work of ``program(*args)``, from the graph ``tf.function`` traces of it (``program`` itself when it is a
    ``tf.function`` already: its own trace)."""
    traced = program if hasattr(program, "get_concrete_function") else tf.function(program, autograph=False)
    concrete = traced.get_concrete_function(*args)
    values = [np.asarray(a) for a in tf.nest.flatten(args)]
    try:
        _resolve_shapes(concrete.graph, list(zip(concrete.inputs, values)))
        return count_graph(concrete.graph)
    finally:
        _RUN_SHAPES.clear()


def count_work(f, inputs, vectors, program) -> Work:
    """The work of ``f`` alone and of the backend's ``program(f, xs, vectors)`` (forward plus derivative), counted on
    their traced graphs; ``program`` is the function the backend runs for the values it checks, built by it for
    ``f`` (eager, or inside ``tf.function``). ``forward_passes`` is how many times ``f`` ran in ``program``'s trace."""
    xs = [tf.constant(np.asarray(x)) for x in inputs]
    vs = [tf.constant(np.asarray(v)) for v in vectors]
    forward = count_program(lambda *xs: f(*xs), *xs)
    counted = CallCounter(f)
    both = count_program(program(counted), xs, vs)
    return Work(forward=forward.work, vjp=both.work, forward_passes=counted.n)
