"""Count PyTensor's work from what PyTensor compiled: the Apply nodes of ``fn.maker.fgraph``, the graph
``pytensor.function`` rewrote (fused, specialised, made inplace) and handed to its linker, for the very compiled
function whose values the backend checks.

Each node is charged under advalidate's unit-cost model (``advalidate.counting``):

- an ``Elemwise`` the elements it produces times its scalar ops: a fused ``Composite`` counts every scalar op of its
  inner scalar graph (casts and identities free), so fusion does not hide work;
- a reduction (``CAReduce``: Sum, Prod, Max, Min, ...; ``Argmax``) or a scan (``CumOp``), a sort, the elements it
  reads;
- a matrix product (``Dot``, ``Gemm``, ``Gemv``, ``Ger``, a batched ``Blockwise`` of one) 2·m·n·k (and the scaling
  and accumulation Gemm, Gemv and Ger fold in);
- a factorisation or a solve (``Cholesky``, ``LUFactor``, ``Solve``, ``SolveTriangular``, ``MatrixInverse``, ``Det``,
  ``SLogDet``, ``Eigh``, ``Eigvalsh``, ``SVD``, ``QR``) its usual flop count per matrix of its batch;
- ``Softmax`` and ``LogSoftmax`` (PyTensor's fused kernels) 5 per element (max, subtract, exp, sum, divide or log);
- data movement that materialises (``Join``, advanced indexing, ``Repeat``, ``AllocDiag``, ``Pad``) the elements it
  produces; an increment into a tensor (``IncSubtensor`` and the advanced ones) the elements it adds;
- an ``OpFromGraph`` (a gradient PyTensor keeps as a sub-graph: einsum's, kron's, pad's) the work of its inner graph;
- views and bookkeeping (``DimShuffle``, ``Reshape``, basic ``Subtensor``, ``Split``, ``ExtractDiag``, shapes, ``Alloc``
  of a constant, copies of the outputs, ``IfElse``'s selection) nothing, and integer (index, shape) arithmetic nothing.

Shapes are the compiled graph's static ones, or, where PyTensor left one unknown, the run-time one: the same graph's
variables evaluated on the same inputs by PyTensor's Python linker (:func:`_run_shapes`; only shapes are read from
that evaluation, never a value that is checked).

One node cannot be counted from its own inner graph: a ``Scan`` (the loop ``pt.pad`` runs for the reflect and edge
modes, inside its ``Pad`` op's gradient) is charged as the data movement it is, the elements it produces (it copies
slices, one step per padded row), like the ``Pad`` op itself. An op missing from these tables is charged as
elementwise and named in ``Tally.unknown`` (a test keeps the catalogue free of them).
"""

from __future__ import annotations

from collections import Counter as Counts
from dataclasses import dataclass, field

import numpy as np

from advalidate.plugin import NotCounted

__all__ = ["Tally", "count_fgraph"]

FREE = {
    "DimShuffle", "Reshape", "Shape", "Shape_i", "SpecifyShape", "Subtensor", "ScalarFromTensor", "TensorFromScalar",
    "MakeVector", "DeepCopyOp", "ViewOp", "OutputGuard", "Alloc", "AllocEmpty", "Split", "ExtractDiag", "Assert",
    "CheckAndRaise", "IfElse", "Transpose", "MatrixTranspose", "PivotToPermutations", "Eye", "ARange",
    "SpecifyAssumptions",
}
"""Views, bookkeeping, constants (a tensor filled with one value is a constant, not computed)."""

FREE_SCALARS = {"Identity", "Cast", "Second", "Switch_free"}
"""Scalar ops that compute nothing: an identity, a cast, ``second`` (the value of its second operand, broadcast)."""

REDUCTIONS = {"Sum", "Prod", "Max", "Min", "All", "Any", "ProdWithoutZeros", "CAReduce", "Argmax", "MaxAndArgmax",
              "CumOp", "SortOp", "ArgSortOp"}
"""Reductions, scans and sorts: the elements they read."""

MOVES = {"Join", "AdvancedSubtensor", "AdvancedSubtensor1", "Repeat", "AllocDiag", "Pad", "Scan",
         "KroneckerProduct", "Tile", "Roll"}
"""Data movement that materialises: the elements produced (a Kronecker product: one multiply each)."""

SCATTERS = {"IncSubtensor", "AdvancedIncSubtensor", "AdvancedIncSubtensor1"}
"""An increment (or a set) into a tensor: the elements of the increment (its second input)."""


@dataclass
class Tally:
    """The work counted, per op, and the ops charged by the default rule."""

    work: int = 0
    by_op: Counts = field(default_factory=Counts)
    unknown: set = field(default_factory=set)
    approximated: set = field(default_factory=set)  # inner graphs charged as data movement (pad's gradient)

    def charge(self, op: str, work: int):
        self.work += int(work)
        self.by_op[op] += int(work)


def _name(op) -> str:
    return type(op).__name__


def _floating(var) -> bool:
    dtype = getattr(var.type, "dtype", "")
    return dtype.startswith("float") or dtype.startswith("complex")


def _scalar_ops(scalar_op) -> int:
    """The scalar operations of a scalar op: 1, or, for a fused ``Composite``, those of its inner graph."""
    inner = getattr(scalar_op, "fgraph", None)
    if inner is None:
        return 0 if _name(scalar_op) in FREE_SCALARS else 1
    return sum(_scalar_ops(node.op) for node in inner.toposort())


class _Shapes:
    """Every variable's shape: static, else read off a run of the graph (:func:`_run_shapes`)."""

    def __init__(self, fgraph, values):
        self.known = _run_shapes(fgraph, values)
        self.known.update((v, tuple(np.shape(x))) for v, x in zip(fgraph.inputs, values))

    def __call__(self, var) -> tuple:
        shape = getattr(var.type, "shape", None)
        if shape is not None and all(s is not None for s in shape):
            return tuple(shape)
        if var in self.known:
            return self.known[var]
        if var.owner is None and hasattr(var, "data"):
            return tuple(np.shape(var.data))  # a constant
        node = var.owner
        if node is not None and (_name(node.op) in _SAME_SHAPE or hasattr(node.op, "scalar_op")):
            # an elementwise op's output has its operands' broadcast shape; a copy or a view, its input's
            self.known[var] = tuple(np.broadcast_shapes(*(self(i) for i in node.inputs)))
            return self.known[var]
        if node is not None and _name(node.op) == "Scan":
            # a Scan's output: its steps (its first input) by the shape of one step's output
            steps = node.inputs[0]
            got = self.known.get("__values__", {})
            if not hasattr(steps, "data") and steps not in got:
                raise NotCounted(f"a Scan of the compiled graph runs an unknown number of steps: {node}")
            steps = int(steps.data) if hasattr(steps, "data") else int(got[steps])
            inner = node.op.inner_outputs[node.outputs.index(var)].type.shape
            if all(d is not None for d in inner):
                self.known[var] = (steps, *inner)
                return self.known[var]
        if node is not None and _name(node.op) in ("Dot", "Dot22", "Dot22Scalar"):
            # a matrix (or vector) product: a's rows by b's columns
            a, b = self(node.inputs[0]), self(node.inputs[1])
            self.known[var] = (*a[:-1], *b[1:]) if len(b) <= 2 else tuple(np.broadcast_shapes(a[:-2], b[:-2])) + (
                a[-2], b[-1])
            return self.known[var]
        if node is not None and _name(node.op) in SCATTERS:
            # an increment into a tensor has that tensor's shape
            self.known[var] = self(node.inputs[0])
            return self.known[var]
        if node is not None and _name(node.op) == "ExtractDiag":
            # a diagonal of a stack of matrices (axis1, axis2), offset above or below the main one
            shape, op = list(self(node.inputs[0])), node.op
            n1, n2, off = shape[op.axis1], shape[op.axis2], int(op.offset)
            length = max(0, min(n1, n2 - off) if off >= 0 else min(n1 + off, n2))
            rest = [d for i, d in enumerate(shape) if i not in (op.axis1, op.axis2)]
            self.known[var] = (*rest, length)
            return self.known[var]
        if node is not None and _name(node.op) == "AllocDiag" and len(self(node.inputs[0])) == 1:
            # a diagonal matrix made of a vector, its entries offset from the main diagonal
            m = self(node.inputs[0])[0] + abs(int(getattr(node.op, "offset", 0)))
            self.known[var] = (m, m)
            return self.known[var]
        if node is not None and _name(node.op) == "Pad" and hasattr(node.inputs[1], "data"):
            # pt.pad's output: its input widened by the (constant) pad widths, axis by axis
            width = np.broadcast_to(np.asarray(node.inputs[1].data), (len(self(node.inputs[0])), 2))
            self.known[var] = tuple(int(n + w.sum()) for n, w in zip(self(node.inputs[0]), width))
            return self.known[var]
        if node is not None:
            shape = _infer_shape(node, var, self)
            if shape is not None:
                self.known[var] = shape
                return shape
        raise NotCounted(f"a variable of the compiled graph has an unknown shape, {var} (made by "
                         f"{var.owner.op if var.owner else 'an input'}): its work cannot be counted")

    def size(self, var) -> int:
        return int(np.prod(self(var), dtype=np.int64))


def _infer_shape(node, var, shapes):
    """The op's own shape rule (``Op.infer_shape``) on its inputs' concrete shapes, folded to integers; None when it
    does not fold."""
    from pytensor.tensor.basic import get_underlying_scalar_constant_value

    try:
        ins = [shapes(i) if hasattr(i.type, "shape") else () for i in node.inputs]
        out = node.op.infer_shape(None, node, [list(s) for s in ins])[node.outputs.index(var)]
        return tuple(int(d) if isinstance(d, (int, np.integer)) else int(get_underlying_scalar_constant_value(d))
                     for d in out)
    except Exception:  # noqa: BLE001 - no rule, or one that does not fold to constants
        return None


_SAME_SHAPE = {"DeepCopyOp", "ViewOp", "OutputGuard", "SpecifyShape", "Assert", "CheckAndRaise"}


def _run_shapes(fgraph, values) -> dict:
    try:
        return _run_shapes_once(fgraph, values, scan=True)
    except Exception:  # noqa: BLE001 - a Scan PyTensor's Python linker cannot run here: its outputs left to the rules
        return _run_shapes_once(fgraph, values, scan=False)


def _run_shapes_once(fgraph, values, scan) -> dict:
    """The run-time shape of every variable of ``fgraph`` whose static shape is unknown, and the values of the inputs
    of every node with an inner graph (to count it in turn): from one evaluation of the same graph on ``values`` (its
    inputs' values) by PyTensor's Python linker, without rewrites."""
    import pytensor
    from pytensor.compile.mode import Mode

    wanted, inner_inputs, after = [], [], set()  # after: variables an inner graph computes (not evaluated here)
    for node in fgraph.toposort():
        downstream = any(v in after for v in node.inputs)
        runs_inner = getattr(node.op, "fgraph", None) is not None and not hasattr(node.op, "scalar_op")
        if downstream or runs_inner or (not scan and _name(node.op) == "Scan"):
            after.update(node.outputs)
        if downstream:
            continue
        for var in node.outputs:
            shape = getattr(var.type, "shape", None)
            if var not in after and shape is not None and any(s is None for s in shape):
                wanted.append(var)
        if _inner(node.op) is not None:
            inner_inputs += [v for v in node.inputs if v not in inner_inputs]
    if not wanted and not inner_inputs:
        return {}
    inputs = list(fgraph.inputs)
    fetch = [v for v in wanted + inner_inputs if v not in inputs]
    run = pytensor.function(inputs, fetch, mode=Mode(linker="py", optimizer=None), on_unused_input="ignore",
                            accept_inplace=True)
    got = dict(zip(fetch, run(*values))) if fetch else {}
    got.update(zip(inputs, values))
    known = {v: tuple(np.shape(got[v])) for v in wanted}
    known["__values__"] = got
    return known


def _inner(op):
    """The inner graph of an op that runs one (an ``OpFromGraph``), else None."""
    if _name(op) in ("Scan", "Pad", "Softmax", "LogSoftmax") or hasattr(op, "scalar_op"):
        return None
    return getattr(op, "fgraph", None)


def _matrix(shape) -> tuple[int, int, int]:
    """(batch, rows, columns) of a stack of matrices."""
    return int(np.prod(shape[:-2], dtype=np.int64)), shape[-2], shape[-1]


def _linalg(op, node, shapes) -> int | None:
    """The usual flop count of a factorisation or a solve, per matrix of the batch, or None for another op."""
    kind = _name(op)
    if kind not in {"Cholesky", "LUFactor", "LU", "Solve", "SolveTriangular", "CholeskySolve", "MatrixInverse",
                    "Det", "SLogDet", "Eigh", "Eigvalsh", "SVD", "QR"}:
        return None
    batch, n, m = _matrix(shapes(node.inputs[0]))
    k = min(n, m)
    if kind == "MatrixInverse":
        per = 2 * n ** 3
    elif kind in ("Det", "SLogDet", "LUFactor", "LU"):
        per = 2 * n ** 3 // 3 + n
    elif kind == "Cholesky":
        per = n ** 3 // 3
    elif kind in ("Solve", "SolveTriangular", "CholeskySolve"):
        b = shapes(node.inputs[1])
        cols = b[-1] if len(b) >= 2 and getattr(op, "b_ndim", 2) == 2 else 1
        per = {"Solve": 2 * n ** 3 // 3 + 2 * n * n * cols}.get(kind, n * n * cols)
        if kind == "Solve":
            batch = max(batch, 1)
    elif kind == "Eigh":
        per = 9 * n ** 3
    elif kind == "Eigvalsh":
        per = 4 * n ** 3 // 3
    elif kind == "SVD":
        per = 21 * k ** 3 if getattr(op, "compute_uv", True) else 8 * k ** 3 // 3
    else:  # QR
        per = 8 * k ** 3 // 3
    return batch * max(per, 1)


def _product(op, node, shapes) -> int | None:
    """2·m·n·k of a matrix product (Dot, Gemm, Gemv, Ger, Dot22, a Blockwise matmul), or None for another op."""
    kind = _name(op)
    if kind in ("Dot", "Dot22", "Dot22Scalar", "BatchedDot", "Matmul"):
        a = shapes(node.inputs[0])
        contracted = a[-1] if a else 1
        return 2 * max(shapes.size(node.outputs[0]), 1) * contracted
    if kind == "Gemm":  # z <- b·z + a·x·y
        x = shapes(node.inputs[2])
        out = shapes.size(node.outputs[0])
        return 2 * out * x[-1] + 2 * out
    if kind in ("Gemv", "CGemv"):  # y <- b·y + a·A·x
        return 2 * shapes.size(node.inputs[2]) + 2 * shapes.size(node.outputs[0])
    if kind in ("Ger", "CGer"):  # A <- A + a·x·yᵀ
        return 2 * shapes.size(node.outputs[0])
    return None


def count_fgraph(fgraph, values, tally: Tally | None = None, shapes_out=False):
    """The work of every Apply node of ``fgraph`` (a compiled function's ``maker.fgraph``) run on ``values`` (its
    inputs' values, in order), added into ``tally`` (returned; with ``shapes_out``, the graph's shapes instead)."""
    tally = tally if tally is not None else Tally()
    shapes = _Shapes(fgraph, values)
    for node in fgraph.toposort():
        _count_node(node, shapes, tally)
    return shapes if shapes_out else tally


def _count_node(node, shapes, tally, op=None, batch=1):
    op = node.op if op is None else op
    kind = _name(op)
    if kind == "Blockwise":  # a core op over batch dimensions: the core op's work per batch entry
        core = op.core_op
        return _count_node(node, shapes, tally, core, 1)
    inner = _inner(op)
    if inner is not None:
        got = shapes.known.get("__values__", {})
        values = [v.data if hasattr(v, "data") else got[v] if v in got else np.zeros(shapes(v), v.type.dtype)
                  for v in node.inputs]
        part = Tally()
        try:
            inner_shapes = count_fgraph(inner, values, part, shapes_out=True)
            for var, out in zip(node.outputs, inner.outputs):
                shapes.known[var] = inner_shapes(out)
        except (NotCounted, ValueError, TypeError):
            # an inner graph whose shapes PyTensor cannot tell without running its loop (pad's gradient: a Scan):
            # charged as the data movement it is, the elements it produces (the README says so)
            tally.charge(f"{kind}(moves)", sum(max(shapes.size(o), 1) for o in node.outputs if _floating(o)))
            tally.approximated.add(kind)
            return
        tally.work += part.work
        tally.by_op.update(part.by_op)
        tally.unknown |= part.unknown
        return
    if kind in FREE:
        return
    if kind in REDUCTIONS:
        if _floating(node.inputs[0]):
            tally.charge(kind, max(shapes.size(node.inputs[0]), 1))
        return
    if not any(_floating(o) for o in node.outputs):
        return  # index and shape arithmetic
    work = _product(op, node, shapes)
    if work is None:
        work = _linalg(op, node, shapes)
    if work is not None:
        tally.charge(kind, work)
    elif kind == "Elemwise":
        weight = _scalar_ops(op.scalar_op)
        tally.charge(f"Elemwise{{{_name(op.scalar_op)}}}", weight * max(shapes.size(node.outputs[0]), 1))
    elif kind in ("Softmax", "LogSoftmax"):
        tally.charge(kind, 5 * max(shapes.size(node.inputs[0]), 1))
    elif kind in SCATTERS:
        tally.charge(kind, max(shapes.size(node.inputs[1]), 1))
    elif kind in MOVES:
        tally.charge(kind, sum(max(shapes.size(o), 1) for o in node.outputs if _floating(o)))
    else:
        tally.unknown.add(kind)
        tally.charge(kind, sum(max(shapes.size(o), 1) for o in node.outputs if _floating(o)))
