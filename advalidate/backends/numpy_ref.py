"""The NumPy reference backend: a reverse-mode tape over the IR, in plain NumPy.

One forward pass records every value; one backward pass visits the nodes in reverse, turns each node's
cotangent into its arguments' cotangents with the rule of its primitive, sums away broadcast dimensions,
and adds cotangents where a value fans out. The work of both passes is counted by observation
(:mod:`advalidate.counting`), so the linear cost of reverse mode can be read off the counts.

The rules are the registrations' own (``Primitive.vjp``, :mod:`advalidate.primitives`), with their conventions at
kinks and ties: ``maximum``/``minimum`` give a tie to their first argument, ``max`` gives the cotangent to every
maximal entry, ``abs``/``relu`` have derivative 0 at 0.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import mpmath
import numpy as np

from .. import counting, primitives
from ..evaluate import to_mp, trace
from ..ir import Function
from ..render import VJPScript, render
from ..primitives._forms import expand as _expand, keep as _keep  # noqa: F401  (rules written against the tape)
from ..primitives.linalg import grad_matmul_a, grad_matmul_b  # noqa: F401
from .. import dual
from .contract import HVP, JVP, VJP, Backend, Work

__all__ = ["NumpyReference", "VJPS", "JVPS", "mp_vjp", "mp_jvp", "mp_hvp", "tangents", "dual_backward", "Rules",
           "JVPRules"]


class Rules(MutableMapping):
    """The tape's rules by primitive name: each registered primitive's reference rule (``Primitive.vjp``, or the
    registration field ``field``: ``"jvp"`` for the forward-mode rules, :mod:`advalidate.primitives`), read live, so a
    primitive registered later is covered. Setting a name overrides its rule here only (tests plant wrong rules this
    way); deleting the override, or setting the registration's own rule back, restores it."""

    field = "vjp"

    def __init__(self):
        self._overrides: dict = {}

    def _registered(self, name):
        prim = primitives.CATALOGUE.get(name)
        return None if prim is None else getattr(prim, self.field)

    def __getitem__(self, name):
        if name in self._overrides:
            return self._overrides[name]
        rule = self._registered(name)
        if rule is None:
            raise KeyError(name)
        return rule

    def __setitem__(self, name, rules):
        if rules is not None and rules is self._registered(name):
            self._overrides.pop(name, None)
        else:
            self._overrides[name] = rules

    def __delitem__(self, name):
        del self._overrides[name]

    def __iter__(self):
        names = [n for n in primitives.CATALOGUE if self._registered(n) is not None]
        return iter(names + [n for n in self._overrides if n not in primitives.CATALOGUE])

    def __len__(self):
        return sum(1 for _ in self)


class JVPRules(Rules):
    """The forward-mode rules by primitive name (each registration's ``Primitive.jvp``); overrides as :class:`Rules`
    (tests plant a wrong JVP rule beside a right VJP rule this way)."""

    field = "jvp"


VJPS = Rules()
"""The reference rules the tape runs (a rule runs on float arrays here and on object arrays of mpf in
:func:`mp_vjp`: see :class:`advalidate.primitives.Primitive`)."""


JVPS = JVPRules()
"""The reference forward-mode rules (``Primitive.jvp``), on float arrays and on object arrays of mpf."""


# ---------------------------------------------------------------- the tape


def unbroadcast(g, shape):
    """Sum ``g`` over the dimensions that broadcasting added to an operand of ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g.reshape(shape)


def forward(fn: Function, inputs, perturb=None) -> dict:
    """Evaluate every value of ``fn`` (the recording pass). ``perturb(node, value, args)``, when given, may
    replace each node's value before later nodes use it (the error model uses it to measure rounding sensitivity)."""
    values = {name: counting.wrap(np.asarray(x, dtype=fn.dtype)) for name, x in zip(fn.input_names, inputs)}
    for name, node in fn.named_nodes():
        prim = primitives.get(node.prim)
        out = prim.np(*(values[a] for a in node.args), **prim.check_params(node.kwargs))
        out = np.asarray(out, dtype=fn.dtype)
        if perturb is not None:
            out = perturb(node, out, [values[a] for a in node.args])
        values[name] = counting.wrap(out)
    return values


def backward(fn: Function, values: dict, cotangents, rules_table=None, dtype=None, inject=None,
             on_part=None) -> list[np.ndarray]:
    """Propagate the output cotangents back to the inputs (the reverse pass), with ``rules_table``
    (default: ``VJPS``), in ``dtype`` (default: ``fn.dtype``; ``object`` for mpf values and cotangents).
    ``inject(name, g)``, when given, replaces each node's accumulated cotangent before its rule reads it (the error
    model adds an absolute floor there: :func:`advalidate.errormodel.underflow_floor`); ``on_part(name, arg,
    part)`` sees each term a rule of node ``name`` adds to the cotangent of its argument ``arg`` (the error model
    looks for terms no float holds: :func:`advalidate.errormodel.unrepresentable`)."""
    rules_table = VJPS if rules_table is None else rules_table
    dtype = fn.dtype if dtype is None else dtype
    ct: dict = {}

    def accumulate(name, g):
        g = unbroadcast(g, fn.shapes[name])
        ct[name] = ct[name] + g if name in ct else g
        if dtype is object and not isinstance(ct[name], np.ndarray):  # 0-d object sums are bare numbers
            ct[name] = counting.wrap(np.asarray(ct[name], dtype=object))

    for name, v in zip(fn.outputs, cotangents):
        accumulate(name, counting.wrap(np.asarray(v, dtype=dtype)))
    for name, node in reversed(list(fn.named_nodes())):
        g = ct.pop(name, None)
        if g is None:
            continue
        if inject is not None:
            g = counting.wrap(np.asarray(inject(name, counting.unwrap(g)), dtype=dtype))
        prim = primitives.get(node.prim)
        params = prim.check_params(node.kwargs)
        args = [values[a] for a in node.args]
        rules = rules_table[node.prim]
        ans = values[name]
        if callable(rules):
            parts = rules(g, ans, *args, **params)
        else:
            parts = [None if rule is None else rule(g, ans, *args, **params) for rule in rules]
        for arg, part in zip(node.args, parts):
            if part is not None:
                if on_part is not None:
                    on_part(name, arg, counting.unwrap(part))
                accumulate(arg, counting.wrap(np.asarray(part, dtype=dtype)))
    return [counting.unwrap(ct[x]) if x in ct else np.zeros(s, dtype=dtype)
            for x, s in zip(fn.input_names, fn.inputs)]


def tangents(fn: Function, values: dict, directions, rules_table=None, dtype=None, perturb=None) -> dict:
    """Propagate input tangents forward through the recorded ``values`` (forward mode): each node's tangent is its
    primitive's JVP rule applied to its operands' tangents (``rules_table``, default :data:`JVPS`), in ``dtype``
    (default ``fn.dtype``; ``object`` for mpf). Returns the tangent of every value by name. ``perturb(name, t)``,
    when given, may replace each node's tangent before later nodes use it (the error model adds its floor)."""
    rules_table = JVPS if rules_table is None else rules_table
    dtype = fn.dtype if dtype is None else dtype
    ts = {name: counting.wrap(np.asarray(w, dtype=dtype)) for name, w in zip(fn.input_names, directions)}
    for name, node in fn.named_nodes():
        prim = primitives.get(node.prim)
        params = prim.check_params(node.kwargs)
        out = rules_table[node.prim]([ts[a] for a in node.args], values[name], *(values[a] for a in node.args),
                                     **params)
        out = np.array(np.broadcast_to(np.asarray(counting.unwrap(out), dtype=dtype), fn.shapes[name]))
        if perturb is not None:
            out = perturb(name, out)
        ts[name] = counting.wrap(out)
    return ts


def mp_jvp(fn: Function, inputs, directions, prec: int, rules_table=None) -> tuple[dict, list[np.ndarray]]:
    """The forward-mode pass on exact values: the catalogue's mpmath forms and the same JVP rules on object arrays
    of mpf, at ``prec`` bits. Returns every value by name and the tangent of each output (object arrays)."""
    with mpmath.workprec(prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
        ts = tangents(fn, values, [to_mp(np.broadcast_to(np.asarray(w, np.float64), s))
                                   for w, s in zip(directions, fn.inputs)], rules_table, dtype=object)
    return values, [np.asarray(ts[o], dtype=object) for o in fn.outputs]


def dual_backward(fn: Function, values: dict, ts: dict, cotangents, rules_table=None, number=None, magnitudes=None,
                  **hooks) -> list[np.ndarray]:
    """The reverse pass on dual numbers (:mod:`advalidate.dual`): every forward value paired with its tangent along u
    (``ts``, from :func:`tangents`), the cotangents with zero tangents, and the VJP rules (``rules_table``) run on
    them as they are. Returns per input an object array of duals: Jᵀv in the values, ``H_v·u`` (forward-over-reverse)
    in the tangents, the magnitude of its computation in ``B``. ``number``: the components' type (default: the
    dtype's float; ``mpmath.mpf`` at high precision); ``magnitudes``: by name, the magnitude of each forward value's
    tangent (default its absolute value). Raises where a rule cannot run on duals (it calls a float-only routine)."""
    duals = {}
    for name, value in values.items():
        mag = None if magnitudes is None else magnitudes.get(name)
        duals[name] = counting.wrap(dual.dual_array(counting.unwrap(value), counting.unwrap(ts[name]), B=mag,
                                                    number=number))
    cts = [dual.dual_array(np.broadcast_to(np.asarray(v, dtype=object if number is mpmath.mpf else number or fn.dtype),
                                           s),
                           np.zeros(s), number=number)
           for v, s in zip(cotangents, fn.output_shapes)]
    return backward(fn, duals, cts, rules_table, dtype=object, **hooks)


def mp_hvp(fn: Function, inputs, cotangents, directions, prec: int, rules_table=None, jvp_rules=None) -> list:
    """Forward-over-reverse on exact values: :func:`dual_backward` with mpf components at ``prec`` bits, over the
    catalogue's mpmath forms. Returns ``H_v·u`` per input (object arrays of mpf)."""
    with mpmath.workprec(prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
        ts = tangents(fn, values, [to_mp(np.broadcast_to(np.asarray(u, np.float64), s))
                                   for u, s in zip(directions, fn.inputs)], jvp_rules, dtype=object)
        out = dual_backward(fn, values, ts, [to_mp(np.broadcast_to(np.asarray(v, np.float64), s))
                                             for v, s in zip(cotangents, fn.output_shapes)], rules_table,
                            number=mpmath.mpf)
        return [dual.tangents_of(g) for g in out]


def mp_vjp(fn: Function, inputs, cotangents, prec: int, rules_table=None, **hooks) -> tuple[dict, list[np.ndarray]]:
    """The same reverse pass on exact values: the forward pass with the catalogue's mpmath forms and the
    backward pass with the same rules on object arrays of mpf, at ``prec`` bits. Returns every value of the
    forward pass by name and the VJP per input (object arrays; entries a rule set to 0 may be the int 0).
    ``hooks``: :func:`backward`'s ``inject`` and ``on_part``.

    The error model uses it to tell a right formula that lost digits in floating point from a wrong one."""
    with mpmath.workprec(prec):
        values = trace(fn, [to_mp(x) for x in inputs], "mp")
        grads = backward(fn, values, [to_mp(np.broadcast_to(np.asarray(v, np.float64), s))
                                      for v, s in zip(cotangents, fn.output_shapes)], rules_table, dtype=object,
                         **hooks)
    return values, grads


def _tape_function(fn: Function) -> str:
    numpy = "\n".join(("# " + line).rstrip() for line in render(fn, "numpy", preamble=False).rstrip().splitlines())
    return (f"# f in NumPy (what the tape computes, for reading):\n{numpy}\n\n"
            f"# the tape runs advalidate's IR of f\nf = Function.from_json({fn.to_json()!r})\n")


def _tape_call(backend, method: str, vectors: str, result: str, doc: str) -> str | None:
    """Source defining ``method(f, xs, vectors)`` that calls ``type(backend)``'s own ``method`` (a subclass of the tape
    calls its own); None for a class the script cannot import (defined in ``__main__`` or inside a function).
    ``vectors``: the call's arguments after ``xs`` (``"vs"``; ``"vs, us, method"``)."""
    cls = type(backend)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None
    top = cls.__qualname__.split(".")[0]
    return (f"from {cls.__module__} import {top}\n\n\n"
            f"def {method}(f, xs, {vectors}):\n"
            f"    \"\"\"advalidate's {doc} ({cls.__qualname__}.{method}) on its IR of f.\"\"\"\n"
            f"    result = {cls.__qualname__}().{method}(f, xs, {vectors})\n"
            f"    return result.outputs, result.{result}\n")


def _tape_vjp(backend) -> str | None:
    """The VJP call of the tape's bug-report scripts (:func:`_tape_call`)."""
    return _tape_call(backend, "vjp", "vs", "grads", "reverse-mode tape")


def _tape_jvp(backend) -> str | None:
    """The JVP call of the tape's bug-report scripts (:func:`_tape_call`)."""
    return _tape_call(backend, "jvp", "ws", "tangents", "tangent pass")


def _tape_hvp(backend) -> str | None:
    """The HVP call of the tape's bug-report scripts (:func:`_tape_call`)."""
    return _tape_call(backend, "hvp", "vs, us, method", "hvps",
                      "Hessian-vector product (forward over reverse: its VJP rules run on dual numbers)")


class NumpyReference(Backend):
    """advalidate's own reverse-mode tape in NumPy: the canonical linear-time VJP."""

    name = "numpy-ref"
    version = np.__version__
    dtypes = ("float64", "float32")
    primitives = VJPS
    jvp_rules = JVPS  # the forward-mode rules its jvp runs (a subclass may plant its own: tests/jvp_mutants.py)
    # how a finding's bug-report script calls the tape (advalidate.bugreport); a subclass's script calls its own vjp
    vjp_script = VJPScript(requires="advalidate (the tape is advalidate's own: this script imports it)",
                           imports="from advalidate.ir import Function", vjp=_tape_vjp, function=_tape_function,
                           jvp=_tape_jvp, jvp_describe="advalidate's tangent pass",
                           hvp=_tape_hvp, hvp_describe="advalidate's tape: its VJP rules run on dual numbers",
                           describe="advalidate's reverse-mode tape", version="np.__version__")

    def vjp(self, fn: Function, inputs, cotangents) -> VJP:
        with np.errstate(all="ignore"):
            values = forward(fn, inputs)
            grads = backward(fn, values, cotangents)
        return VJP([np.array(counting.unwrap(values[o])) for o in fn.outputs], [np.array(g) for g in grads])

    def work(self, fn: Function, inputs, cotangents) -> Work:
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                values = forward(fn, inputs)
            with counting.counting() as bwd:
                backward(fn, values, cotangents)
        return Work(forward=fwd.work, vjp=fwd.work + bwd.work, forward_passes=1)

    def jvp(self, fn: Function, inputs, directions) -> JVP:
        """Forward mode: the recording pass, then each node's tangent from its JVP rule (``jvp_rules``)."""
        with np.errstate(all="ignore"):
            values = forward(fn, inputs)
            ts = tangents(fn, values, directions, self.jvp_rules)
        return JVP([np.array(counting.unwrap(values[o])) for o in fn.outputs],
                   [np.array(counting.unwrap(ts[o])) for o in fn.outputs])

    hvp_methods = ("forward-over-reverse",)

    @property
    def hvp_primitives(self) -> dict:
        """The primitives whose reverse pass the tape runs on dual numbers (contract: ``hvp_primitives``): each
        registration's VJP rule, probed once on its one-node example (:func:`_runs_on_duals`); a rule that calls a
        float-only routine (a LAPACK factorisation, mpmath's matrix functions) has no second order here."""
        return {name: rule for name, rule in self.primitives.items() if _runs_on_duals(self.primitives, name)}

    def hvp(self, fn: Function, inputs, cotangents, directions, method="forward-over-reverse") -> HVP:
        """Second order, forward-over-reverse: the recording pass, the tangent pass along u (``jvp_rules``), then the
        reverse pass on dual numbers (:func:`dual_backward`, the VJP rules ``primitives``): ``H_v·u`` per input."""
        if method not in self.hvp_methods:
            raise ValueError(f"method {method!r}: the tape computes {', '.join(self.hvp_methods)}")
        with np.errstate(all="ignore"):
            values = forward(fn, inputs)
            ts = tangents(fn, values, directions, self.jvp_rules)
            out = dual_backward(fn, values, ts, cotangents, self.primitives)
        return HVP([np.array(counting.unwrap(values[o])) for o in fn.outputs],
                   [dual.tangents_of(g, fn.dtype) for g in out])

    def hvp_work(self, fn: Function, inputs, cotangents, directions, method="forward-over-reverse") -> Work:
        """Forward, tangent pass and the reverse pass on duals, counted as they run. A dual operation stands for the
        float operations of its value and its tangent: a product for four (a·b, a·b′, a′·b and a sum), a function for
        its value, its derivative and a product; so the dual pass is charged four times what is observed."""
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                values = forward(fn, inputs)
            with counting.counting() as tan:
                ts = tangents(fn, values, directions, self.jvp_rules)
            with counting.counting() as rev:
                dual_backward(fn, values, ts, cotangents, self.primitives)
        return Work(forward=fwd.work, vjp=fwd.work + tan.work + 4 * rev.work, forward_passes=1)

    def jvp_work(self, fn: Function, inputs, directions) -> Work:
        """The work of the forward alone and of forward plus the tangent pass (one of each)."""
        with np.errstate(all="ignore"):
            with counting.counting() as fwd:
                values = forward(fn, inputs)
            with counting.counting() as tan:
                tangents(fn, values, directions, self.jvp_rules)
        return Work(forward=fwd.work, vjp=fwd.work + tan.work, forward_passes=1)



_DUAL_PROBES: dict = {}


def _runs_on_duals(rules, name: str) -> bool:
    """Whether the tape's reverse pass runs primitive ``name``'s rule on dual numbers: its one-node example
    (:func:`advalidate.builder.single` at a fixed point) through :func:`dual_backward`, once per rule."""
    from .. import builder

    try:
        rule = rules[name]
    except KeyError:
        return False
    key = (name, id(rule))
    if key not in _DUAL_PROBES:
        try:
            fn = builder.single(name)
            xs = primitives.fixed_point(fn, np.random.default_rng(0))
        except Exception:  # noqa: BLE001  no example to probe with (a user's op): no second order claimed
            _DUAL_PROBES[key] = False
            return False
        try:
            with np.errstate(all="ignore"):
                values = forward(fn, xs)
                ts = tangents(fn, values, [np.ones_like(x) for x in xs])
                out = dual_backward(fn, values, ts, [np.ones(s, dtype=fn.dtype) for s in fn.output_shapes], rules)
                [dual.tangents_of(g, np.float64) for g in out]
            _DUAL_PROBES[key] = True
        except Exception:  # noqa: BLE001  a float-only routine or a conversion the duals refuse
            _DUAL_PROBES[key] = False
    return _DUAL_PROBES[key]
