"""A finding as a bug report you can paste: one complete, self-contained Python script in the library's own API.

``script(finding, backend)`` turns a finding record (an entry of results.json's ``findings``) into a script that
needs only the library and NumPy: the imports, the minimal function as the backend ran it, the point and the
cotangent as exact literals, the library's VJP computed live, and beside it what advalidate compared it with:

- full mode: the oracle's gradient, component by component, with its error bound and advalidate's tolerance;
- projected mode: the projections ``<g, w_j>`` on the directions ``w_j`` (given as literals) against the exact ones;
- at a kink: the one-sided derivatives (``kink_sides``) a VJP may match;
- cost-bound: the work counts advalidate recorded (the values pass); error: the exception raised live, or the
  gradients' shapes and dtypes against the inputs'.

A forward-mode finding's script (``mode: jvp``) computes the library's J·w along the tangents ws instead, one per
output; a second-order finding's (``mode: hvp``) the library's Hessian-vector product H_v·u (the Hessian of <v, f>
times the direction u) by the method the finding names (forward-over-reverse, reverse-over-reverse), one per input;
each beside the oracle's, component by component. One generator writes both (:func:`_derivative_script`); what
differs is data (:class:`_Mode`), and the library's call comes from the ``jvp`` and ``hvp`` hooks of its
:class:`~advalidate.render.VJPScript` (without one, the fallback: the value recorded, beside the oracle's).

Literals are ``repr`` of float64 (it round-trips; a float32 value is exact in float64, and ``np.array(...,
dtype=np.float32)`` gives it back), with ``nan``/``inf`` names the script defines; ``-0.0`` and subnormals are
``repr``'s own.

The library-specific parts come from the backend: its ``vjp_script`` (a :class:`advalidate.render.VJPScript`),
else its dialect's ``vjp_script``. JAX, jax-jit, torch and the autograd plug-in carry one; the NumPy reference tape
carries one that imports advalidate (the tape is advalidate's own). A backend with neither gets the fallback: the
function in NumPy, the oracle's value and the value advalidate recorded (not computed by the script), and a note
that the VJP call is the backend's to supply (``vjp = None``). An isolated backend (a plug-in in a worker process)
is asked through its ``bug_script(finding)``, which runs this module in the worker.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np

from . import __version__
from .ir import Function
from .render import VJPScript, render
from .results import decode_array, encode_array

__all__ = ["script", "jvp_script", "hvp_script", "hvp_method", "script_or_fallback", "float_literal", "array_literal", "write_scripts", "script_path",
           "renumber"]

WIDTH = 100  # characters per line of a literal array, before it wraps


# ---------------------------------------------------------------- literals

def float_literal(x) -> str:
    """The Python literal of a float: ``repr`` (it round-trips, -0.0 and subnormals included), ``nan``, ``inf`` and
    ``-inf`` as names the script defines (``nan, inf = float("nan"), float("inf")``)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _nested(a: np.ndarray, indent: int) -> str:
    if a.ndim == 0:
        return float_literal(a)
    if a.ndim == 1:
        lines, line = [], "["
        for k, v in enumerate(a):
            item = float_literal(v) + (", " if k < len(a) - 1 else "")
            if len(line) + len(item) > WIDTH - indent and line.strip("["):
                lines.append(line.rstrip())
                line = " " * (indent + 1)
            line += item
        return "\n".join(lines + [line + "]"])
    rows = [_nested(row, indent + 1) for row in a]
    return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"


def array_literal(a, dtype: str = "float64", indent: int = 0) -> str:
    """``np.array(<nested literal>, dtype=np.<dtype>)`` giving back ``a`` bit for bit (NaN payloads aside)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return f"np.zeros({tuple(a.shape)}, dtype=np.{dtype})"
    start = indent + len("np.array(")
    return f"np.array({_nested(a, start)}, dtype=np.{dtype})"


def _list_literal(arrays, dtype: str, notes=None, indent: int = 4) -> str:
    """``[\\n    np.array(...),  # note\\n]``."""
    if not arrays:
        return "[]"
    lines = ["["]
    for k, a in enumerate(arrays):
        note = f"  # {notes[k]}" if notes else ""
        lines.append(" " * indent + array_literal(a, dtype, indent) + "," + note)
    return "\n".join(lines + ["]"])


def _comment(text: str, width: int = 100) -> str:
    out = []
    for para in str(text).splitlines() or [""]:
        out += textwrap.wrap(para, width - 2, break_long_words=True, break_on_hyphens=False) or [""]
    return "\n".join(("# " + line).rstrip() for line in out)


# ---------------------------------------------------------------- the library's part

def hooks(backend) -> VJPScript | None:
    """The backend's own ``vjp_script``, else its dialect's, else None (the fallback)."""
    if backend is None:
        return None
    own = getattr(backend, "vjp_script", None)
    if isinstance(own, VJPScript):
        return own
    dialect = getattr(backend, "dialect", None)
    found = getattr(dialect, "vjp_script", None)
    return found if isinstance(found, VJPScript) else None


def _function_source(fn: Function, backend, found: VJPScript | None) -> str:
    if found is not None and found.function is not None:
        return found.function(fn)
    dialect = getattr(backend, "dialect", None) if found is not None else None
    return render(fn, dialect if dialect is not None else "numpy", preamble=False)


FALLBACK_VJP = '''\
# The VJP call is the backend's to supply: advalidate's backend {name!r} gives no script hook (a VJPScript in its
# dialect or its own `vjp_script`, see advalidate.render.VJPScript), so this script cannot compute its VJP. f is
# written in NumPy above; replace `vjp = None` by a function vjp(f, xs, vs) -> (outputs, grads) in {name}'s API
# (NumPy arrays in and out) to compute it live. Until then the script prints the value advalidate recorded.
vjp = None
'''


# ---------------------------------------------------------------- the comparison sections

_SHOW = '''\
def show(a, indent=4):
    """An array in full, each value as the repr of its float64 (exact, float32 values included); its lines after the
    first indented by ``indent``."""
    return np.array2string(np.asarray(a, dtype=np.float64), separator=", ", floatmode="unique", threshold=10**9,
                           prefix=" " * indent)


def same(a, b):
    """Bit for bit, but for NaN payloads."""
    a, b = np.asarray(a), np.asarray(b, dtype=np.asarray(a).dtype)
    zero = lambda x: np.where(np.isnan(x), 0, x)
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(zero(a)),
                                                                                          np.signbit(zero(b)))
'''

_RUN = '''\
if vjp is not None:
    outputs, grads = vjp(f, xs, vs)
    print(f"{LIBRARY} {VERSION}: the VJP of f at xs for the cotangent vs, computed now:")
else:
    grads = RECORDED
    print(f"{LIBRARY}: the VJP recorded by advalidate (not computed here: the VJP call is the backend's to supply):")
for i, g in enumerate(grads):
    print(f"  grad x{i} = {show(g, len(f'  grad x{i} = '))}")
if vjp is not None and RECORDED is not None:
    print("  the same as advalidate recorded, bit for bit" if all(same(g, r) for g, r in zip(grads, RECORDED))
          else f"  NOT what advalidate recorded ({LIBRARY} {RECORDED_VERSION}): {', '.join(show(r) for r in RECORDED)}")
print()
'''

_ERROR_RUN = '''\
print(f"advalidate recorded an error: {MESSAGE.splitlines()[0] if MESSAGE else ''}")
grads = None
if vjp is None:
    print("  (not run here: the VJP call is the backend's to supply)")
else:
    before = [x.copy() for x in xs]
    try:
        outputs, grads = vjp(f, xs, vs)
    except Exception:
        traceback.print_exc()
        print(f"{LIBRARY} {VERSION}: the VJP raised (the traceback above), computed now")
    else:
        print(f"{LIBRARY} {VERSION}: the VJP computed now returned {len(grads)} gradient(s) for {len(xs)} input(s):")
        for i, g in enumerate(grads):
            g = np.asarray(g)
            x = xs[i] if i < len(xs) else None
            wrong = x is None or g.shape != x.shape or g.dtype != x.dtype
            where = f"x{i}: shape {x.shape}, dtype {x.dtype}" if x is not None else "no such input"
            print(f"  grad x{i}: shape {g.shape}, dtype {g.dtype}; {where}{'  <- wrong' if wrong else ''}")
            print(f"    = {show(g)}")
        for i, (x, b) in enumerate(zip(xs, before)):
            if not same(x, b):
                print(f"  the VJP changed its input x{i} in place: now {show(x)}, was {show(b)}")
print()
'''

_FULL = '''\
print("beside the exact VJP (advalidate's oracle: mpmath at high precision), component by component:")
print(f"  {'component':<12} {LIBRARY:<25} {'exact':<25} {'± bound':<9} {'|difference|':<12} tolerance")
for i, (g, e, b, t) in enumerate(zip(grads, EXACT, BOUND, TOLERANCE)):
    g = np.asarray(g, dtype=np.float64)
    for idx in np.ndindex(*np.shape(e)):
        name = f"x{i}" + (f"[{','.join(map(str, idx))}]" if idx else "")
        value, exact = float(g[idx]), float(e[idx])
        diff = abs(value - exact)
        mark = "  <- beyond the tolerance" if not diff <= float(t[idx]) and not math.isnan(float(t[idx])) else ""
        print(f"  {name:<12} {value!r:<25} {exact!r:<25} {float(b[idx]):<9.2g} {diff:<12.3g} {float(t[idx]):.3g}{mark}")
'''

_PROJECTED = '''\
print("projected on the directions w_j of DIRECTIONS, beside the exact projections <J^T v, w_j> (advalidate's")
print("oracle: mpmath at high precision):")
print(f"  {'component':<12} {LIBRARY:<25} {'exact':<25} {'± bound':<9} {'|difference|':<12} tolerance")
for j, (ws, exact, b, t) in enumerate(zip(DIRECTIONS, EXACT, BOUND, TOLERANCE)):
    value = sum(float(np.sum(np.asarray(g, dtype=np.float64) * w)) for g, w in zip(grads, ws))
    diff = abs(value - exact)
    mark = "  <- beyond the tolerance" if not diff <= t and not math.isnan(t) else ""
    print(f"  {'<g,w' + str(j) + '>':<12} {value!r:<25} {exact!r:<25} {b:<9.2g} {diff:<12.3g} {t:.3g}{mark}")
'''

_KINK = '''\
print(f"at a kink of {KINK}: the exact one-sided derivatives (advalidate's oracle), which a VJP may match (or lie")
print("between); 'across' is the piece beyond a kink that the rounding of the forward pass can cross:")
print(f"  {'component':<12} {LIBRARY:<25} " + " ".join(f"{label:<25}" for label in SIDES) + " tolerance")
if DIRECTIONS is None:
    values = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in grads])
else:
    values = [sum(float(np.sum(np.asarray(g, dtype=np.float64) * w)) for g, w in zip(grads, ws)) for ws in DIRECTIONS]
for c, name in enumerate(NAMES):
    value, t = float(values[c]), TOLERANCE[c]
    sides = [side[c] for side in SIDES.values()]
    offered = [s for s in sides if not math.isnan(s)]
    matched = any(abs(value - s) <= t for s in offered) or (min(offered) - t <= value <= max(offered) + t)
    mark = "" if matched or value in offered else "  <- matches no side"
    print(f"  {name.replace(' ', ''):<12} {value!r:<25} " + " ".join(f"{s!r:<25}" for s in sides) + f" {t:.3g}{mark}")
'''

_COST = Template('''\
print()
print("advalidate counted the work under its unit-cost model (each elementwise operation on n elements costs n;")
print("recorded by advalidate from the library's own trace, not recomputed here):")
print(f"  f alone: {WORK['forward']}, f + $short: {WORK['$key']}"
      + (f" (ratio {WORK['$key'] / WORK['forward']:.2f})" if WORK['forward'] else "")
      + f", forward passes during the $short: {WORK['forward_passes']}")
print(f"  {MESSAGE}")
''')  # $short: the derivative's call (VJP, JVP, HVP), $key: its WORK entry


def _mode_section(finding: dict, fn: Function) -> tuple[str, str]:
    """(data, code) of the comparison: full, projected, kink, or none."""
    oracle, sides = finding.get("oracle"), finding.get("kink_sides")
    if oracle and oracle.get("mode") == "full":
        n = len(fn.inputs)
        tol = finding.get("tolerance") or [encode_array(np.full(s, np.nan)) for s in fn.inputs]  # none: not compared
        data = ["# The exact VJP by advalidate's oracle (mpmath at high precision), per input, and a bound on the oracle's",
                "# own error",
                f"EXACT = {_list_literal([decode_array(g) for g in oracle['grads']], 'float64', [f'x{i}' for i in range(n)])}",
                f"BOUND = {_list_literal([decode_array(e) for e in oracle['errors']], 'float64')}",
                "# advalidate's tolerance: what its error model allows a float implementation (a finding exceeds it)",
                f"TOLERANCE = {_list_literal([decode_array(t) for t in tol], 'float64')}"]
        return "\n".join(data), _FULL
    if oracle and oracle.get("mode") == "projected":
        tol = (finding.get("tolerance") or [[np.nan] * len(oracle["projections"])])[0]
        dirs = ["["]
        for j, ws in enumerate(oracle["directions"]):
            dirs.append(f"    {_list_literal([decode_array(w) for w in ws], 'float64', indent=8)[:-1]}    ],  # w{j}")
        dirs.append("]")
        data = ["# Projected mode (more input elements than the oracle computes one by one): random directions w_j, one",
                "# array per input, and the exact projections <J^T v, w_j> with a bound on the oracle's error",
                "DIRECTIONS = " + "\n".join(dirs),
                f"EXACT = [{', '.join(float_literal(p) for p in oracle['projections'])}]",
                f"BOUND = [{', '.join(float_literal(e) for e in oracle['projection_errors'])}]",
                "# advalidate's tolerance per projection (a finding exceeds it)",
                f"TOLERANCE = [{', '.join(float_literal(t) for t in np.asarray(decode_array(tol)).reshape(-1))}]"]
        return "\n".join(data), _PROJECTED
    if sides:
        directions = None
        if sides["mode"] != "full":
            directions = _kink_directions(fn, finding)
        lines = ["# At the kink: per component (the VJP's entries, or its projections on DIRECTIONS), the exact one-sided",
                 "# derivatives by advalidate's oracle, and the tolerance (the oracle's bound included)",
                 f"KINK = {finding.get('kink', '')!r}",
                 f"NAMES = {list(sides['names'])!r}",
                 "SIDES = {"]
        for label, values in sides["sides"].items():
            vals = ", ".join(float_literal(v) for v in np.asarray(decode_array(values)).reshape(-1))
            lines.append(f"    {label!r}: [{vals}],")
        lines.append("}")
        lines.append(f"TOLERANCE = [{', '.join(float_literal(t) for t in np.asarray(decode_array(sides['tolerance'])).reshape(-1))}]")
        if directions is None:
            lines.append("DIRECTIONS = None")
        else:
            lines.append("DIRECTIONS = [")
            for j, ws in enumerate(directions):
                lines.append(f"    {_list_literal(ws, 'float64', indent=8)[:-1]}    ],  # w{j}")
            lines.append("]")
        return "\n".join(lines), _KINK
    return "", ""


def _kink_directions(fn: Function, finding: dict):
    """The projected kink's directions: ``kink_reference`` draws them from the point alone (seeded), and the record
    keeps only their names; drawn again here the same way."""
    from .check import _component_directions

    inputs = [decode_array(x, fn.dtype) for x in finding["inputs"]]
    return [c[1] for c in _component_directions(fn, inputs, "projected", k=len(finding["kink_sides"]["names"]))]


# ---------------------------------------------------------------- the scripts of forward mode and second order

# One generator (:func:`_derivative_script`) writes the script of a forward-mode finding (J·w, one per output) and of
# a second-order one (H_v·u, one per input); what differs is data (:class:`_Mode`): the hook, the call, the vectors,
# the labels. The sections below are templates of that data ($name, $call, ...; the scripts' own braces are
# f-strings).

_DERIVATIVE_RUN = Template('''\
if $name is not None:
    outputs, values = $call
    print(f"{LIBRARY} {VERSION}: $computes, computed now:")
else:
    values = RECORDED
    print(f"{LIBRARY}: the $short recorded by advalidate (not computed here: the $short call is the backend's to supply):")
for k, t in enumerate(values):
    print(f"  $label = {show(t, len(f'  $label = '))}")
if $name is not None and RECORDED is not None:
    print("  the same as advalidate recorded, bit for bit"
          if len(values) == len(RECORDED) and all(same(t, r) for t, r in zip(values, RECORDED))
          else f"  NOT what advalidate recorded ({LIBRARY} {RECORDED_VERSION}): {', '.join(show(r) for r in RECORDED)}")
print()
''')

_DERIVATIVE_ERROR_RUN = Template('''\
print(f"advalidate recorded an error: {MESSAGE.splitlines()[0] if MESSAGE else ''}")
values = None
if $name is None:
    print("  (not run here: the $short call is the backend's to supply)")
else:
    try:
        outputs, values = $call
    except Exception:
        traceback.print_exc()
        print(f"{LIBRARY} {VERSION}: the $short raised (the traceback above), computed now")
    else:
        print(f"{LIBRARY} {VERSION}: the $short computed now returned {len(values)} array(s) for {len(SHAPES)} $per(s):")
        for k, t in enumerate(values):
            t = np.asarray(t)
            wrong = k >= len(SHAPES) or t.shape != SHAPES[k] or t.dtype != np.dtype(DTYPE)
            expected = f"shape {SHAPES[k]}, dtype {DTYPE}" if k < len(SHAPES) else "no such $per"
            print(f"  $label: shape {t.shape}, dtype {t.dtype}; expected {expected}{'  <- wrong' if wrong else ''}")
            print(f"    = {show(t)}")
print()
''')

_DERIVATIVE_FULL = Template('''\
print("beside the exact $what (advalidate's oracle: mpmath at high precision), component by component:")
print(f"  {'component':<12} {LIBRARY:<25} {'exact':<25} {'± bound':<9} {'|difference|':<12} tolerance")
for k, (t, e, b, tol) in enumerate(zip(values, EXACT, BOUND, TOLERANCE)):
    t = np.asarray(t, dtype=np.float64)
    for idx in np.ndindex(*np.shape(e)):
        name = f"$letter{k}" + (f"[{','.join(map(str, idx))}]" if idx else "")
        value, exact = float(t[idx]), float(e[idx])
        diff = abs(value - exact)
        mark = "  <- beyond the tolerance" if not diff <= float(tol[idx]) and not math.isnan(float(tol[idx])) else ""
        print(f"  {name:<12} {value!r:<25} {exact!r:<25} {float(b[idx]):<9.2g} {diff:<12.3g} {float(tol[idx]):.3g}{mark}")
''')


@dataclass(frozen=True)
class _Mode:
    """What the script of a forward-mode or second-order finding differs in. Texts with ``{name}``, ``{how}``,
    ``{method}``, ``{signature}``, ``{dtype}``, ``{point}`` are formatted by the generator; ``call``, ``computes`` and
    ``label`` are parts of the script (``label`` an f-string's, ``k`` the value's index)."""

    name: str  # the VJPScript hook (and its ``<name>_describe``), the function the script defines and calls
    short: str  # the call, in the script's words: "JVP"
    what: str  # the product: "J·w"
    call: str  # the script's call of its ``name``
    computes: str  # what the live call computes, printed after the library's name and version
    label: str  # a printed value's name
    letter: str  # a component's name: "y" (one value per output) or "x" (per input)
    per: str  # "output" or "input"
    oracle_key: str  # the oracle record's values ("tangents", "hvps")
    title: str  # the header's parenthesis
    sentence: str  # the header's account of the live call
    kind_of_hook: str  # "forward-mode": the fallback's note


JVP_MODE = _Mode(
    name="jvp", short="JVP", what="J·w", call="jvp(f, xs, ws)",
    computes="the JVP of f at xs along the tangents ws", label="J·w of output {k}", letter="y", per="output",
    oracle_key="tangents", title="forward mode: the JVP of {signature}, {dtype}, {point} point",
    sentence="It computes {name}'s JVP ({how}) of f below at the point xs along the tangents ws, live, and prints "
             "it beside the exact J·w by advalidate's mpmath oracle.",
    kind_of_hook="forward-mode")

HVP_MODE = _Mode(
    name="hvp", short="HVP", what="H_v·u", call="hvp(f, xs, vs, us, METHOD)",
    computes="H_v·u of f at xs for the cotangent vs along the direction us, by {METHOD}",
    label="H_v·u of input {k}", letter="x", per="input", oracle_key="hvps",
    title="second order: the Hessian-vector product H_v·u of {signature} by {method}, {dtype}, {point} point",
    sentence="It computes {name}'s Hessian-vector product H_v·u (the Hessian of <v, f> times u) by {method} ({how}) "
             "of f below at the point xs, for the cotangent vs along the direction us, live, and prints it beside "
             "the exact H_v·u by advalidate's mpmath oracle.",
    kind_of_hook="second-order")

MODE_SCRIPTS = {"jvp": JVP_MODE, "hvp": HVP_MODE}


def hvp_method(finding: dict, backend=None) -> str:
    """The way of computing H_v·u that a second-order finding names (its ``method``, else the first one its message
    names: :mod:`advalidate.second_order` names it), else the backend's first (``hvp_methods``)."""
    from .backends.contract import HVP_METHODS, hvp_methods_of

    if finding.get("method") in HVP_METHODS:
        return finding["method"]
    message = finding.get("message") or ""
    named = [m for m in HVP_METHODS if m in message]
    if named:
        return min(named, key=message.index)
    own = hvp_methods_of(backend) if backend is not None else ()
    return own[0] if own else HVP_METHODS[0]


def _vectors(mode: _Mode, finding: dict, fn: Function, method: str) -> list[str]:
    """The data lines of the vectors the call takes: the tangents ws (jvp); the cotangent vs, the direction us and
    the method (hvp)."""
    dtype = fn.dtype
    tangents = [decode_array(w, dtype) for w in finding.get("tangents", [])]
    if mode.name == "jvp":
        return ["# The tangents: one array per input of f (the direction w of J·w)",
                f"ws = {_list_literal(tangents, dtype, [f'of x{i}' for i in range(len(tangents))])}"]
    cotangents = [decode_array(v, dtype) for v in finding["cotangents"]]
    notes_v = [f"of {o}, shape {tuple(s)}" for o, s in zip(fn.outputs, fn.output_shapes)]
    return ["# The cotangent v: one array per output of f (H_v is the Hessian of <v, f>)",
            f"vs = {_list_literal(cotangents, dtype, notes_v)}",
            "# The direction u: one array per input of f",
            f"us = {_list_literal(tangents, dtype, [f'of x{i}' for i in range(len(tangents))])}",
            f"METHOD = {method!r}  # how H_v·u is computed: the finding's"]


def _derivative_script(finding: dict, backend, version: str | None, mode: _Mode) -> str:
    """The bug-report script of a finding in ``mode`` (forward mode, second order): the library's product live where
    the backend's :class:`~advalidate.render.VJPScript` has the mode's hook, beside the oracle's, its bound and the
    tolerance; else the value advalidate recorded (the fallback)."""
    fn = Function.from_dict(finding["function"])
    dtype, name, kind = fn.dtype, finding["backend"], finding["kind"]
    version = version if version is not None else str(getattr(backend, "version", "") or "")
    method = hvp_method(finding, backend) if mode.name == "hvp" else ""
    found = hooks(backend)
    hook = getattr(found, mode.name, None) if found is not None else None
    source, why = None, ""
    if hook is not None:
        try:
            source = hook(backend)
        except Exception as e:  # noqa: BLE001  a third party's hook: the fallback's note
            why = f"its script hook failed: {type(e).__name__}: {e}"
    elif found is not None:
        why = f"its script hook has no {mode.name}"
    how = getattr(found, f"{mode.name}_describe", "") if found is not None else ""
    if not isinstance(how, str):  # a mapping: one description per method
        how = how.get(method, "")
    words = dict(name=name, how=how or mode.short, method=method, signature=finding.get("signature", ""), dtype=dtype,
                 point=finding.get("point") or "?")
    function_source = _function_source(fn, backend, found if source is not None else None)
    head = [f"# advalidate finding {finding['id']}: {kind} in {name}{' ' + version if version else ''} "
            f"({mode.title.format(**words)})",
            "#"]
    if finding.get("message"):
        head.append(_comment(finding["message"]))
    if finding.get("known") and finding.get("known_note"):
        head.append(_comment("A known behaviour: " + finding["known_note"]))
    head.append("#")
    if source is not None:
        head.append(_comment(f"A complete reproduction; it needs only numpy and {found.requires}. "
                             + mode.sentence.format(**words)))
    else:
        head.append(_comment(f"The {mode.short} call is {name}'s to supply (advalidate has no {mode.kind_of_hook} "
                             f"script hook for this backend{': ' + why if why else ''}); f is written in NumPy, and "
                             f"the script prints the {mode.what} advalidate recorded beside the exact one by its "
                             "mpmath oracle."))
    head.append(f"# Generated by advalidate {__version__}. advalidate reruns its check with:")
    head.append(f"#   {finding.get('replay') or 'advalidate replay RESULTS_JSON --id ' + finding['id']}")
    imports = ["import math", "import traceback", "", "import numpy as np"]
    if source is not None:
        imports.append(found.imports.rstrip("\n"))
    elif "F." in function_source:
        imports.append("from advalidate.primitives import numpy_forms as F  # advalidate's NumPy forms of f's primitives")
    parts = ["\n".join(head), "\n".join(imports), 'nan, inf = float("nan"), float("inf")']
    if source is not None and found.helpers and "F." in function_source:
        parts.append(found.helpers.rstrip("\n"))
    parts.append(function_source.rstrip("\n"))
    parts.append(source.rstrip("\n") if source is not None else f"{mode.name} = None  # the backend's to supply")
    inputs = [decode_array(x, dtype) for x in finding["inputs"]]
    recorded = finding.get("backend_grads")
    shapes = fn.output_shapes if mode.per == "output" else fn.inputs
    data = [f"# The point: one array per input of f, exact ({dtype}; the repr of a float round-trips)",
            f"xs = {_list_literal(inputs, dtype, [f'x{i}, shape {tuple(s)}' for i, s in enumerate(fn.inputs)])}",
            *_vectors(mode, finding, fn, method),
            "",
            f"LIBRARY, RECORDED_VERSION = {name!r}, {version!r}",
            f"VERSION = {found.version if source is not None and found.version else repr(version)}  # the one running now",
            f"MESSAGE = {finding.get('message', '')!r}",
            f"# the shape of {mode.what}, one per {mode.per} of f, and its dtype",
            f"SHAPES, DTYPE = {[tuple(s) for s in shapes]!r}, {dtype!r}",
            f"# the {mode.what} advalidate recorded for {name}{' ' + version if version else ''}"
            + (f" (by {method})" if method else ""),
            "RECORDED = " + (_list_literal([decode_array(g, dtype) for g in recorded], dtype) if recorded is not None
                             else "None")]
    oracle = finding.get("oracle")
    compare = ""
    if oracle and oracle.get("mode") == mode.name:
        tol = finding.get("tolerance") or [encode_array(np.full(s, np.nan)) for s in shapes]
        exact = [decode_array(t) for t in oracle[mode.oracle_key]]
        data += ["", f"# The exact {mode.what} by advalidate's oracle (mpmath at high precision), per {mode.per}, and "
                     "a bound on its error",
                 f"EXACT = {_list_literal(exact, 'float64', [f'{mode.letter}{k}' for k in range(len(exact))])}",
                 f"BOUND = {_list_literal([decode_array(e) for e in oracle['errors']], 'float64')}",
                 "# advalidate's tolerance: what its error model allows a float implementation (a finding exceeds it)",
                 f"TOLERANCE = {_list_literal([decode_array(t) for t in tol], 'float64')}"]
        compare = _DERIVATIVE_FULL.substitute(what=mode.what, letter=mode.letter)
    cost = kind == "cost-bound" and finding.get("work")
    if cost:
        w = finding["work"]
        data.append(f"WORK = {{'forward': {w['forward']!r}, {mode.name!r}: {w['vjp']!r}, "
                    f"'forward_passes': {w['forward_passes']!r}}}")
    parts.append("\n".join(data))
    parts.append(_SHOW.rstrip("\n"))
    words = dict(name=mode.name, call=mode.call, short=mode.short, label=mode.label, per=mode.per,
                 computes=mode.computes)
    run = [(_DERIVATIVE_ERROR_RUN if kind == "error" else _DERIVATIVE_RUN).substitute(words)]
    if compare:
        # an error's values, where they came back in the right shapes (a NaN, a wrong dtype), are still compared
        run.append(compare if kind != "error" else
                   "if values is not None and len(values) == len(SHAPES) and all(np.shape(t) == s "
                   "for t, s in zip(values, SHAPES)):\n" + textwrap.indent(compare, "    "))
    if cost:
        run.append(_COST.substitute(short=mode.short, key=mode.name))
    parts.append("\n".join(r.rstrip("\n") for r in run))
    return "\n\n\n".join(p for p in parts if p) + "\n"


def jvp_script(finding: dict, backend=None, version: str | None = None) -> str:
    """The bug-report script of a forward-mode finding (``finding["mode"] == "jvp"``): the library's JVP of f at
    the point along the tangents, live where the backend's :class:`~advalidate.render.VJPScript` has a ``jvp`` hook,
    beside the oracle's J·w, its bound and the tolerance."""
    return _derivative_script(finding, backend, version, JVP_MODE)


def hvp_script(finding: dict, backend=None, version: str | None = None) -> str:
    """The bug-report script of a second-order finding (``finding["mode"] == "hvp"``): the library's H_v·u at the
    point for the cotangent along the direction, by the method the finding names, live where the backend's
    :class:`~advalidate.render.VJPScript` has an ``hvp`` hook, beside the oracle's H_v·u, its bound and the
    tolerance."""
    return _derivative_script(finding, backend, version, HVP_MODE)


def script(finding: dict, backend=None, version: str | None = None) -> str:
    """The bug-report script of ``finding`` (a results.json finding record) for ``backend`` (the backend object
    that produced it; None: the fallback). ``version``: the library's version (default: ``backend.version``)."""
    delegate = getattr(backend, "bug_script", None)
    if callable(delegate):  # an isolated backend: rendered in its worker, where its dialect lives
        return delegate(finding)
    mode = MODE_SCRIPTS.get(finding.get("mode", "vjp"))
    if mode is not None:  # forward mode, second order
        return _derivative_script(finding, backend, version, mode)
    fn = Function.from_dict(finding["function"])
    dtype, name, kind = fn.dtype, finding["backend"], finding["kind"]
    version = version if version is not None else str(getattr(backend, "version", "") or "")
    found = hooks(backend)
    vjp_source, why = None, ""
    if found is not None:
        try:
            vjp_source = found.vjp(backend)
        except Exception as e:  # a third party's hook: its failure is the fallback's note, not the campaign's end
            why = f"its script hook failed: {type(e).__name__}: {e}"
    if vjp_source is None:
        found = None
    function_source = _function_source(fn, backend, found)

    head = [f"# advalidate finding {finding['id']}: {kind} in {name}{' ' + version if version else ''} "
            f"(VJP of {finding.get('signature', '')}, {dtype}, {finding.get('point') or '?'} point)",
            "#"]
    if finding.get("message"):
        head.append(_comment(finding["message"]))
    if finding.get("known") and finding.get("known_note"):
        head.append(_comment("A known behaviour: " + finding["known_note"]))
    head.append("#")
    needs = "numpy" + (f" and {found.requires}" if found is not None else "")
    call = f" ({found.describe})" if found is not None and found.describe else ""
    if found is not None:
        head.append(_comment(f"A complete reproduction; it needs only {needs}. It computes {name}'s VJP{call} of f "
                             f"below at the point xs for the cotangent vs, live, and prints it beside what advalidate "
                             f"compared it with (the exact value by its mpmath oracle, with the oracle's error bound)."))
    else:
        head.append(_comment(f"The VJP call is {name}'s to supply: advalidate has no script hook for this backend"
                             f"{' (' + why + ')' if why else ''}; f is written in NumPy, and the script prints the value "
                             f"advalidate recorded beside the exact value by its mpmath oracle."))
    head.append(f"# Generated by advalidate {__version__}. advalidate reruns its check with:")
    head.append(f"#   {finding.get('replay') or 'advalidate replay RESULTS_JSON --id ' + finding['id']}")

    imports = ["import math", "import traceback", "", "import numpy as np"]
    if found is not None:
        imports.append(found.imports.rstrip("\n"))
    elif "F." in function_source:
        imports.append("from advalidate.primitives import numpy_forms as F  # advalidate's NumPy forms of f's primitives")
    parts = ["\n".join(head), "\n".join(imports), 'nan, inf = float("nan"), float("inf")']
    if found is not None and found.helpers and "F." in function_source:
        parts.append(found.helpers.rstrip("\n"))
    parts.append(function_source.rstrip("\n"))
    parts.append((vjp_source if vjp_source is not None else FALLBACK_VJP.format(name=name)).rstrip("\n"))
    operations = found.operations(backend) if kind == "cost-bound" and found is not None and found.operations else None
    if operations:
        parts.append(operations.rstrip("\n"))

    inputs = [decode_array(x, dtype) for x in finding["inputs"]]
    cotangents = [decode_array(v, dtype) for v in finding["cotangents"]]
    notes_x = [f"x{i}, shape {tuple(s)}" for i, s in enumerate(fn.inputs)]
    notes_v = [f"of {o}, shape {tuple(s)}" for o, s in zip(fn.outputs, fn.output_shapes)]
    recorded = finding.get("backend_grads")
    data = [f"# The point: one array per input of f, exact ({dtype}; the repr of a float round-trips)",
            f"xs = {_list_literal(inputs, dtype, notes_x)}",
            "# The cotangent: one array per output of f",
            f"vs = {_list_literal(cotangents, dtype, notes_v)}",
            "",
            f"LIBRARY, RECORDED_VERSION = {name!r}, {version!r}",
            f"VERSION = {found.version if found is not None and found.version else repr(version)}  # the one running now",
            f"MESSAGE = {finding.get('message', '')!r}",
            f"# the VJP advalidate recorded for {name}{' ' + version if version else ''}",
            "RECORDED = " + (_list_literal([decode_array(g, dtype) for g in recorded], dtype) if recorded is not None
                             else "None")]
    if kind == "cost-bound" and finding.get("work"):
        w = finding["work"]
        data.append(f"WORK = {dict(forward=w['forward'], vjp=w['vjp'], forward_passes=w['forward_passes'])!r}")
    section_data, section_code = _mode_section(finding, fn)
    if section_data:
        data += ["", section_data]
    parts.append("\n".join(data))
    parts.append(_SHOW.rstrip("\n"))
    run = [_ERROR_RUN if kind == "error" else _RUN]
    if section_code:
        # an error's VJP, where it returned gradients of the inputs' shapes (a NaN, a mutation, a wrong dtype), is
        # still compared; gradients of other shapes are shown above only
        run.append(section_code if kind != "error" else
                   "if grads is not None and len(grads) == len(xs) and all(np.shape(g) == np.shape(x) "
                   "for g, x in zip(grads, xs)):\n" + textwrap.indent(section_code, "    "))
    elif kind != "error":
        run.append('print("advalidate has no exact value for this example (its oracle did not run).")\n')
    if kind == "cost-bound" and finding.get("work"):
        run.append(_COST.substitute(short="VJP", key="vjp"))
        if operations:
            run.append(f'print()\nprint("what {name} runs for f and its VJP, in its own words:")\noperations(f, xs, vs)\n')
    parts.append("\n".join(r.rstrip("\n") for r in run))
    return "\n\n\n".join(p for p in parts if p) + "\n"


def script_or_fallback(finding: dict, backend=None, version: str | None = None) -> str:
    """:func:`script`, and where it fails (a backend's broken hook, a worker that died) the fallback script, with
    the reason in its header: a campaign never ends on a bug report."""
    try:
        return script(finding, backend, version)
    except Exception as e:
        why = f"{type(e).__name__}: {e}"
    try:
        return _comment(f"(advalidate could not ask {finding['backend']} for its script: {why})") + "\n" \
            + script(finding, None, version)
    except Exception as e:  # the record itself is malformed: say so where the script would be
        return _comment(f"advalidate could not write a script for finding {finding.get('id')}: {why}; "
                        f"then, without the backend: {type(e).__name__}: {e}") + "\n"


def renumber(record: dict, old_id: str, old_replay: str | None = None) -> str | None:
    """``record``'s script, with the id and the replay command it names brought to the record's (a merge of shards
    numbers findings again); None when the record has no script."""
    text = record.get("script")
    if not text:
        return text
    text = text.replace(f"# advalidate finding {old_id}: ", f"# advalidate finding {record['id']}: ", 1)
    if old_replay and record.get("replay"):
        text = text.replace(f"#   {old_replay}\n", f"#   {record['replay']}\n", 1)
    return text


# ---------------------------------------------------------------- files

def script_path(out, finding: dict) -> Path:
    """``<out>/scripts/<id>-<backend>.py``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", finding["backend"])
    return Path(out) / "scripts" / f"{finding['id']}-{safe}.py"


def write_scripts(results: dict, out) -> dict:
    """Write each finding's script to ``<out>/scripts/<id>-<backend>.py`` (the scripts of an earlier run there are
    removed first); returns finding id -> path."""
    folder = Path(out) / "scripts"
    if folder.is_dir():
        for old in folder.glob("F[0-9]*-*.py"):
            old.unlink()
    written = {}
    for f in results.get("findings", []):
        if f.get("script"):
            path = script_path(out, f)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f["script"])
            written[f["id"]] = path
    return written
