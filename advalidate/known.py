"""Known behaviours: findings that are real, documented discrepancies of a library, each with its minimal example.

One plain-text file per backend, ``<backend>.txt``. A run reads, and merges, every file found for a backend:
advalidate's own ``advalidate/known/<backend>.txt``; the one a plug-in ships as package data,
``<package>/known/<backend>.txt`` in the top-level package of the module its entry point names
(``mylib_advalidate/known/mylib.txt``); and one in each folder given (``advalidate run --known-dir DIR``,
which adds to the shipped files). An entry is a header line at column 0 followed by indented ``field: value`` lines; the ``#``
comment lines just above the header are its evidence, in words::

    # tanh's tail: 1 - tanh² with tanh rounded to 1 (torch too).
    precision-loss *tanh*
        function:   tanh(x0)
        inputs:     x0 = 36.93444131496278
        cotangents: 1.0
        oracle:     x0 = 3.320564195864168e-32
        library:    x0 = 0.0
        version:    jax 0.10.2
        issue:      https://github.com/...

The header is ``<kind> <pattern> [<pattern> ...]``: a finding of that kind (and mode) whose signature matches any
pattern is this behaviour, with one more condition: an entry whose example lives at a special point (an overflow at
1e155, a subnormal, a tie: :func:`advalidate.findings.region`) does not explain a finding at a point regular draws
make (a wrong rule at moderate inputs is another bug, even in the same primitive); an entry at a regular point, or
with no example, explains both. A signature is the ``+``-joined sorted primitives of the minimal function, and a pattern may
use shell wildcards (``*softplus*``). A finding explained by a library-wide behaviour carries a tag instead (see
:func:`advalidate.check.finding_signature`): ``flush-to-zero`` when the library's VJP at the example equals its
VJP with the subnormal inputs replaced by signed zeros; an entry names the tag as its pattern (``nan-inf
flush-to-zero``), and a primitive pattern does not match a tagged finding, nor a tag an untagged one.

The fields (each at most once):

- ``function`` (required with an example): the program as an expression over ``x0, x1, ...`` with the
  catalogue's names and their params as keywords, ``sum(atan2(x0, x0))``, ``reshape(x0, shape=(1,))``; a value
  used twice is bound first, statements separated by ``;``: ``v0 = reshape(x0, shape=(1,)); where(v0, v0, x0)``.
  Several outputs: a final ``a, b``.
- ``inputs`` (required): ``x0 = <array>, x1 = <array>``, one per input; ``cotangents`` (required): one array per
  output, in order. An array is a Python literal of floats (nested lists, or a number for a 0-d array) with
  ``inf``, ``nan`` and ``-0.0``; ``full((8, 16), 0.5)`` is an array of one value, ``linspace((8, 16), 0.5, 2.0)``
  one of evenly spaced values (NumPy's, in C order). Floats are written as
  ``repr`` writes them, which reads back to the same float (subnormals included); a float32 example's values
  are float32 values.
- ``dtype``: ``float64`` (the default) or ``float32``.
- ``mode``: the mode of AD the behaviour is seen in, ``vjp`` (the default), ``jvp`` (forward mode: a finding of
  that mode only) or ``hvp``; a ``jvp`` entry's example gives ``tangents`` too, one array per input, in order, and its
  ``oracle`` and ``library`` evidence are the output tangents ``J·w`` (``y0 = ...`` per output); ``hvp`` (second
  order) gives ``tangents`` too (the direction u), and its evidence is ``H_v·u`` per input (``x0 = ...``).
- evidence: ``oracle`` and ``library`` (the gradients, ``x0 = ...`` as the inputs; NaN where the oracle has
  none), ``ratio`` (a cost-bound entry's work(f + VJP) / work(f)), ``version`` (the library's, where it was seen),
  ``issue`` (a public report).
- ``no example yet: <why>``: instead of an example, for a behaviour whose minimal example is not found yet.

An indented ``#`` line inside an entry is a note the parser skips; a blank line ends the entry.

At the start of a run every example of the selected backends is replayed (:mod:`advalidate.known_replay`) and
shown as present or fixed; a finding of the campaign is known when an entry matches it.
"""

from __future__ import annotations

import ast
import fnmatch
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .bugreport import float_literal
from .errors import InvalidFunction
from .ir import DTYPES, Function, Node

__all__ = ["Entry", "Example", "KnownBehaviours", "shipped_files", "KINDS", "parse", "format_entry", "format_function",
           "parse_function", "format_array", "parse_arrays", "KnownFormatError"]

KINDS = ("wrong-value", "precision-loss", "nan-inf", "convention", "cost-bound", "error")
FIELDS = ("function", "inputs", "cotangents", "tangents", "dtype", "mode", "oracle", "library", "ratio", "version",
          "issue", "no example yet")
EVIDENCE = ("oracle", "library", "ratio", "version", "issue")


class KnownFormatError(ValueError):
    """A known-behaviour file that does not parse; the message starts with ``file:line:``."""


# ---------------------------------------------------------------- arrays

def format_array(a) -> str:
    """An array as the format writes it: ``repr`` floats in nested lists; past 4 elements ``full(shape, value)``
    for an array of one value and ``linspace(shape, start, stop)`` for evenly spaced values."""
    a = np.asarray(a)
    flat = a.astype(np.float64).ravel()
    if a.size > 4 and np.all(flat.view(np.int64) == flat[0:1].view(np.int64)):  # bitwise: -0.0 and nan kept
        return f"full({tuple(int(d) for d in a.shape)!r}, {float_literal(flat[0])})"
    if a.size > 4 and np.all(np.isfinite(flat)):
        ramp = np.linspace(flat[0], flat[-1], flat.size)
        if np.array_equal(ramp.view(np.int64), flat.view(np.int64)):
            return f"linspace({tuple(int(d) for d in a.shape)!r}, {float_literal(flat[0])}, {float_literal(flat[-1])})"

    def rows(x):
        return "[" + ", ".join(rows(r) for r in x) + "]" if x.ndim else float_literal(x)

    return rows(a.astype(np.float64))


_NAMES = {"inf": math.inf, "nan": math.nan}


def _literal(node, where: str):
    """A float, or nested lists of floats, from an expression node (numbers, unary minus, inf, nan, lists,
    full(shape, value))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _literal(node.operand, where)
        if isinstance(v, float):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("full", "linspace"):
        name, count = node.func.id, 2 if node.func.id == "full" else 3
        if len(node.args) != count or node.keywords:
            usage = "full takes (shape, value)" if count == 2 else "linspace takes (shape, start, stop)"
            raise ValueError(f"{where}: {usage}")
        try:
            shape = ast.literal_eval(node.args[0])
        except ValueError:
            shape = None
        if isinstance(shape, int):
            shape = (shape,)
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"{where}: {name}'s shape must be a tuple of non-negative integers")
        values = [_literal(a, where) for a in node.args[1:]]
        if not all(isinstance(v, float) for v in values):
            raise ValueError(f"{where}: {name}'s {'value' if count == 2 else 'start and stop'} must be numbers")
        if name == "full":
            return np.full(shape, values[0])
        return np.linspace(values[0], values[1], int(np.prod(shape))).reshape(shape)
    raise ValueError(f"{where}: {ast.unparse(node)!r} is not a number, a list of numbers, full(shape, value) or "
                     "linspace(shape, start, stop)")


def _array(node, where: str, dtype: str) -> np.ndarray:
    value = _literal(node, where)
    try:
        a = np.array(value, dtype=np.float64)
    except ValueError:
        raise ValueError(f"{where}: {ast.unparse(node)!r} is not a rectangular array") from None
    with np.errstate(all="ignore"):
        b = a.astype(dtype)
    if dtype != "float64" and not np.array_equal(b.astype(np.float64), a, equal_nan=True):
        raise ValueError(f"{where}: {ast.unparse(node)!r} has values that are not {dtype} numbers "
                         f"(write them as repr(float(np.{dtype}(x))))")
    return b


def _call_args(text: str, where: str):
    try:
        tree = ast.parse(f"_({text})", mode="eval")
    except SyntaxError as e:
        raise ValueError(f"{where}: does not parse: {e.msg}") from None
    return tree.body.args, tree.body.keywords


def parse_arrays(text: str, where: str = "arrays", dtype: str = "float64", named: bool = False):
    """``a, b`` -> [array, array]; with ``named``: ``x0 = a, x1 = b`` -> {"x0": array, "x1": array}."""
    args, keywords = _call_args(text, where)
    if named:
        if args:
            raise ValueError(f"{where}: write each array as x<i> = <array>")
        return {k.arg: _array(k.value, f"{where} ({k.arg})", dtype) for k in keywords}
    if keywords:
        raise ValueError(f"{where}: write the arrays in order, without names")
    return [_array(a, where, dtype) for a in args]


def format_named(arrays) -> str:
    return ", ".join(f"x{i} = {format_array(a)}" for i, a in enumerate(arrays))


# ---------------------------------------------------------------- functions

def _call_text(node: Node, args: list[str]) -> str:
    return f"{node.prim}({', '.join(list(args) + [f'{k}={v!r}' for k, v in node.params])})"


def format_function(fn: Function) -> str:
    """The function as one line: an expression, with a node bound to its name (``v3 = ...;``) where it is used
    more than once (or the expression would read back to another node order)."""
    uses = {}
    for _, node in fn.named_nodes():
        for a in node.args:
            uses[a] = uses.get(a, 0) + 1
    for o in fn.outputs:
        uses[o] = uses.get(o, 0) + 1

    def inline(all_bound: bool) -> str:
        text, bound = {}, []
        for name, node in fn.named_nodes():
            call = _call_text(node, [text.get(a, a) for a in node.args])
            if all_bound or uses.get(name, 0) != 1 or name in fn.outputs and len(fn.outputs) > 1:
                bound.append(f"{name} = {call}")
                text[name] = name
            else:
                text[name] = call
        outputs = ", ".join(text.get(o, o) for o in fn.outputs)
        if len(bound) and bound[-1].split(" = ", 1)[0] == outputs:  # "v0 = f(x0); v0" -> "f(x0)"
            outputs = bound.pop().split(" = ", 1)[1]
        return "; ".join(bound + [outputs])

    inputs = [tuple(s) for s in fn.inputs]
    for all_bound in (False, True):
        text = inline(all_bound)
        try:
            if parse_function(text, inputs, fn.dtype) == fn:
                return text
        except (ValueError, InvalidFunction):
            pass
    raise ValueError(f"this function has no expression form that reads back to it: {fn.to_dict()}")


def parse_function(text: str, inputs, dtype: str = "float64", where: str = "function") -> Function:
    """A function from its expression form (see the module's doc), with the inputs' shapes ``inputs``."""
    try:
        tree = ast.parse("\n".join(part.strip() for part in text.split(";")), mode="exec")
    except SyntaxError as e:
        raise ValueError(f"{where}: does not parse: {e.msg}") from None
    n = len(inputs)
    names = {f"x{i}": f"x{i}" for i in range(n)}
    nodes: list[Node] = []

    def value(e) -> str:
        if isinstance(e, ast.Name):
            if e.id not in names:
                raise ValueError(f"{where}: {e.id!r} names no input (x0..x{n - 1}) or bound value")
            return names[e.id]
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name):
            args = [value(a) for a in e.args]
            params = {}
            for k in e.keywords:
                try:
                    params[k.arg] = ast.literal_eval(k.value)
                except ValueError:
                    raise ValueError(f"{where}: {e.func.id}'s param {k.arg}={ast.unparse(k.value)} is not a literal")
            nodes.append(Node.make(e.func.id, *args, **params))
            return f"v{len(nodes) - 1}"
        raise ValueError(f"{where}: {ast.unparse(e)!r} is not a call of a primitive or a value's name")

    body = tree.body
    if not body or not isinstance(body[-1], ast.Expr):
        raise ValueError(f"{where}: the last statement must be the output expression")
    for stmt in body[:-1]:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise ValueError(f"{where}: {ast.unparse(stmt)!r} is not 'name = expression'")
        target = stmt.targets[0].id
        if target in names:
            raise ValueError(f"{where}: {target!r} is bound twice (or names an input)")
        names[target] = value(stmt.value)
    last = body[-1].value
    outputs = [value(e) for e in (last.elts if isinstance(last, ast.Tuple) else [last])]
    try:
        return Function(tuple(tuple(s) for s in inputs), tuple(nodes), tuple(outputs), dtype)
    except InvalidFunction as e:
        raise ValueError(f"{where}: {e}") from None


# ---------------------------------------------------------------- entries

@dataclass(frozen=True)
class Example:
    """A known behaviour's minimal example: the finding's own function, point and cotangents."""

    function: Function
    inputs: tuple
    cotangents: tuple
    tangents: tuple = ()  # forward mode's w, one per input (a jvp entry's example)

    def __eq__(self, other):
        mine, theirs = self.inputs + self.cotangents + self.tangents, other.inputs + other.cotangents + other.tangents
        return (isinstance(other, Example) and self.function == other.function
                and all(_same(a, b) for a, b in zip(mine, theirs))
                and len(self.inputs) == len(other.inputs) and len(self.cotangents) == len(other.cotangents)
                and len(self.tangents) == len(other.tangents))

    def __hash__(self):
        return hash(self.function)

    def record(self) -> dict:
        """The example for results.json: its expression, the function's JSON, inputs and cotangents as text."""
        record = {"function": format_function(self.function), "function_json": self.function.to_dict(),
                  "dtype": self.function.dtype, "inputs": format_named(self.inputs),
                  "cotangents": ", ".join(format_array(v) for v in self.cotangents)}
        if self.tangents:
            record["tangents"] = ", ".join(format_array(w) for w in self.tangents)
        return record


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and \
        np.array_equal(a.astype(np.float64).view(np.int64), b.astype(np.float64).view(np.int64))


def _by_names(pattern: str) -> str:
    """A signature pattern against ``+signature+``, its names whole: ``*abs*`` -> ``*+abs+*``, ``max`` -> ``+max+``."""
    if pattern[:1] not in ("*", "+"):
        pattern = "+" + pattern
    elif pattern[:1] == "*" and pattern[1:2] not in ("", "*", "+"):
        pattern = "*+" + pattern[1:]
    if pattern[-1:] not in ("*", "+"):
        pattern += "+"
    elif pattern[-1:] == "*" and pattern[-2:-1] not in ("", "*", "+"):
        pattern = pattern[:-1] + "+*"
    return pattern


@dataclass(frozen=True)
class Entry:
    backend: str
    kind: str
    patterns: tuple
    comment: str
    source: str  # file:line of the header
    example: Example | None = None
    no_example: str = ""  # why there is no example yet
    evidence: tuple = ()  # (field, text) pairs: oracle, library, ratio, version, issue
    mode: str = "vjp"  # the mode of AD (advalidate.backends.contract.MODES) the behaviour is seen in
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def pattern(self) -> str:
        return " ".join(self.patterns)

    def matches(self, backend: str, kind: str, signature: str, region: str | None = None, mode: str = "vjp") -> bool:
        """Whether a finding of ``backend``, ``kind`` and ``signature`` is this behaviour. With the finding's
        ``region`` (:func:`advalidate.findings.region`), an entry whose example lives at a special point (an
        overflow at 1e155, a subnormal, a tie) does not explain a finding at a point regular draws make: a
        wrong rule at moderate inputs is another bug, even in the same primitive."""
        # whole primitive names only: *softplus* matches add+softplus, not a user's op named my_softplus
        return backend == self.backend and kind == self.kind and mode == self.mode and \
            any(fnmatch.fnmatchcase(f"+{signature}+", _by_names(p)) for p in self.patterns) and \
            (region is None or region == "special" or self.region == "regular")

    @property
    def region(self) -> str:
        """The region of the entry's example (``regular`` when it has none: it then explains any point)."""
        if self.example is None:
            return "regular"
        if "region" not in self._cache:
            from .findings import region

            self._cache["region"] = region(self.example.function.pruned(), self.example.inputs)
        return self._cache["region"]

    def evidence_field(self, name: str) -> str:
        return dict(self.evidence).get(name, "")


@dataclass
class KnownBehaviours:
    entries: list = field(default_factory=list)

    @classmethod
    def load(cls, backends, folder=None, shipped: bool = True, errors: dict | None = None) -> "KnownBehaviours":
        """Entries for ``backends`` (names, or backend objects): the files shipped (``shipped``; see
        :func:`shipped_files`: advalidate's own and each plug-in's), then those in ``folder`` (a folder or a list of
        folders, each of ``<backend>.txt`` files), which add to them. A folder without a backend's file has no entry
        for it. A malformed file raises :class:`KnownFormatError` naming its line; with ``errors`` (a dict), one that
        a plug-in ships is recorded there instead (backend name -> the problem) and that backend gets no entry: the
        run goes on without it, as with a plug-in that does not load."""
        known = cls()
        folders = [] if folder is None else [folder] if isinstance(folder, (str, Path)) else list(folder)
        own = Path(__file__).resolve().parent / "known"
        for backend in backends:
            name = backend if isinstance(backend, str) else backend.name
            sources = shipped_files(backend) if shipped else []
            plugin = {label for label, ref in sources if Path(str(ref)).resolve().parent != own}
            sources += [(str(Path(where) / f"{name}.txt"), Path(where) / f"{name}.txt") for where in folders]
            found = []
            try:
                for label, ref in sources:
                    current = label
                    found.extend(parse(ref.read_text() if ref.is_file() else "", name, label))
            except KnownFormatError as e:
                if errors is None or current not in plugin:
                    raise
                errors[name] = f"the known-behaviour file it ships is malformed: {e}"
                continue
            known.entries.extend(found)
        return known

    def match(self, backend: str, kind: str, signature: str, region: str | None = None,
              mode: str = "vjp") -> Entry | None:
        for entry in self.entries:
            if entry.matches(backend, kind, signature, region, mode):
                return entry
        return None


def shipped_files(backend) -> list[tuple[str, object]]:
    """The known-behaviour files shipped for ``backend`` (a name or a backend object), as ``(label, file)`` pairs:
    advalidate's own ``advalidate/known/<name>.txt``, and the plug-in's ``<package>/known/<name>.txt``, ``<package>``
    being the top-level package of the module that defines the backend (its entry point's target, or the object's
    class). Files that do not exist are left out; nothing is imported (a plug-in's package is located, not run)."""
    name = backend if isinstance(backend, str) else backend.name
    packages = ["advalidate"]
    module = None
    if not isinstance(backend, str):
        module = getattr(backend, "__module__", None) if isinstance(backend, type) else type(backend).__module__
        module = getattr(backend, "plugin_module", None) or module  # an isolated backend's proxy says whose it is
    if module is None or module.split(".")[0] == "advalidate":
        from .backends.registry import default_registry

        entry = default_registry().entries().get(name)
        target = getattr(entry, "target", None)
        if isinstance(target, str):
            module = target.partition(":")[0]
        elif target is not None:
            module = target.__module__ if isinstance(target, type) else type(target).__module__
    if module:
        packages.append(module.split(".")[0])
    files = []
    for package in dict.fromkeys(packages):
        folder = _package_folder(package)
        if folder is not None and (folder / "known" / f"{name}.txt").is_file():
            files.append((f"{package}/known/{name}.txt", folder / "known" / f"{name}.txt"))
    return files


def _package_folder(package: str):
    """The folder of the installed top-level ``package``, found without importing it (None when it is not a
    package: a module, or not installed)."""
    import importlib.util

    if package == "advalidate":
        return resources.files("advalidate")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def parse(text: str, backend: str, label: str) -> list[Entry]:
    """The entries of one backend's file; KnownFormatError naming ``label:line`` and the problem."""
    blocks, comment, current = [], [], None
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            comment, current = [], None
            continue
        if stripped.startswith("#"):
            if current is None or not raw[:1].isspace():
                comment.append(stripped[1:].strip())
                current = None
            continue
        if raw[:1].isspace():
            if current is None:
                raise KnownFormatError(f"{label}:{lineno}: an indented field line with no entry header above it")
            key, sep, value = stripped.partition(":")
            key = key.strip()
            if not sep or key not in FIELDS:
                raise KnownFormatError(f"{label}:{lineno}: expected '<field>: <value>' with field in {FIELDS}, "
                                       f"got {stripped!r}")
            if key in current["fields"]:
                raise KnownFormatError(f"{label}:{lineno}: {key!r} given twice for this entry")
            current["fields"][key] = (value.strip(), lineno)
            continue
        head = raw.partition("#")
        parts = head[0].split()
        if len(parts) < 2 or parts[0] not in KINDS:
            raise KnownFormatError(f"{label}:{lineno}: expected '<kind> <signature pattern> ...' with kind in "
                                   f"{KINDS}, got {stripped!r}")
        trailing = head[2].strip()
        current = {"kind": parts[0], "patterns": tuple(parts[1:]), "line": lineno, "fields": {},
                   "comment": " ".join(comment + [trailing] * bool(trailing)).strip()}
        blocks.append(current)
        comment = []
    return [_entry(b, backend, label) for b in blocks]


def _entry(block: dict, backend: str, label: str) -> Entry:
    fields, line = block["fields"], block["line"]
    source = f"{label}:{line}"

    def at(key):
        return f"{label}:{fields[key][1]}: {key}" if key in fields else f"{source}"

    from .backends.contract import MODES

    mode = fields.get("mode", ("vjp", 0))[0]
    if mode not in MODES:
        raise KnownFormatError(f"{at('mode')}: {mode!r} is not one of {', '.join(MODES)}")
    if "tangents" in fields and mode not in ("jvp", "hvp"):
        raise KnownFormatError(f"{at('tangents')}: tangents belong to a 'mode: jvp' or 'mode: hvp' entry")
    if "no example yet" in fields:
        given = [k for k in ("function", "inputs", "cotangents", "tangents", "dtype") if k in fields]
        if given:
            raise KnownFormatError(f"{at('no example yet')}: 'no example yet' with {', '.join(given)} given")
        if not fields["no example yet"][0]:
            raise KnownFormatError(f"{at('no example yet')}: say why there is no example yet")
        example = None
    else:
        missing = [k for k in ("function", "inputs", "cotangents") + ("tangents",) * (mode in ("jvp", "hvp"))
                   if k not in fields]
        if missing:
            raise KnownFormatError(f"{source}: the entry has no {', '.join(missing)} (give its minimal example, "
                                   "or a 'no example yet: <why>' line)")
        example = _example(fields, at)
    for key in ("oracle", "library"):
        if key in fields:
            try:
                parse_arrays(fields[key][0], "", "float64", named=True)
            except ValueError as e:
                raise KnownFormatError(f"{at(key)}{e}") from None
    if "ratio" in fields:
        try:
            float(fields["ratio"][0])
        except ValueError:
            raise KnownFormatError(f"{at('ratio')}: {fields['ratio'][0]!r} is not a number") from None
    evidence = tuple((k, fields[k][0]) for k in EVIDENCE if k in fields)
    return Entry(backend, block["kind"], block["patterns"], block["comment"], source, example,
                 fields.get("no example yet", ("", 0))[0], evidence, mode)


def _example(fields: dict, at) -> Example:
    dtype = fields.get("dtype", ("float64", 0))[0]
    if dtype not in DTYPES:
        raise KnownFormatError(f"{at('dtype')}: {dtype!r} is not one of {DTYPES}")
    try:
        named = parse_arrays(fields["inputs"][0], "", dtype, named=True)
    except ValueError as e:
        raise KnownFormatError(f"{at('inputs')}{e}") from None
    order = [f"x{i}" for i in range(len(named))]
    if list(named) != order:
        raise KnownFormatError(f"{at('inputs')}: name the inputs x0, x1, ... in order, got {', '.join(named)}")
    inputs = tuple(named[k] for k in order)
    try:
        fn = parse_function(fields["function"][0], [a.shape for a in inputs], dtype, "")
    except ValueError as e:
        raise KnownFormatError(f"{at('function')}{e}") from None
    try:
        cotangents = tuple(parse_arrays(fields["cotangents"][0], "", dtype))
    except ValueError as e:
        raise KnownFormatError(f"{at('cotangents')}{e}") from None
    shapes = [tuple(s) for s in fn.output_shapes]
    if [c.shape for c in cotangents] != shapes:
        raise KnownFormatError(f"{at('cotangents')}: shapes {[c.shape for c in cotangents]} for outputs of "
                               f"shapes {shapes}")
    tangents = ()
    if "tangents" in fields:
        try:
            tangents = tuple(parse_arrays(fields["tangents"][0], "", dtype))
        except ValueError as e:
            raise KnownFormatError(f"{at('tangents')}{e}") from None
        if [w.shape for w in tangents] != [a.shape for a in inputs]:
            raise KnownFormatError(f"{at('tangents')}: shapes {[w.shape for w in tangents]} for inputs of "
                                   f"shapes {[a.shape for a in inputs]}")
    return Example(fn, inputs, cotangents, tangents)


def format_entry(entry: Entry) -> str:
    """The entry as the file writes it (comment, header, fields): :func:`parse` reads it back."""
    lines = [f"# {line}" for line in _wrap(entry.comment)] if entry.comment else []
    lines.append(f"{entry.kind} {entry.pattern}")
    fields = []
    if entry.example is not None:
        ex = entry.example
        fields += [("function", format_function(ex.function)), ("inputs", format_named(ex.inputs)),
                   ("cotangents", ", ".join(format_array(v) for v in ex.cotangents))]
        if ex.tangents:
            fields.append(("tangents", ", ".join(format_array(w) for w in ex.tangents)))
        if ex.function.dtype != "float64":
            fields.append(("dtype", ex.function.dtype))
    else:
        fields.append(("no example yet", entry.no_example))
    if entry.mode != "vjp":
        fields.append(("mode", entry.mode))
    fields += list(entry.evidence)
    lines += [f"    {k}: {v}" for k, v in fields]
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 116) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + [line] * bool(line)


# ---------------------------------------------------------------- display (the report and the terminal)

BADGES = {"present": "present", "fixed": "fixed", "changed": "changed", "cannot run": "cannot run",
          "no example": "no example yet"}


def _encoded_text(v) -> str:
    """An encoded array (results.json's nested lists, "nan"/"inf" strings) as the format writes it."""
    return "[" + ", ".join(_encoded_text(x) for x in v) + "]" if isinstance(v, list) else \
        (v if isinstance(v, str) else float_literal(v))


def _named_text(encoded) -> str:
    return ", ".join(f"x{i} = {_encoded_text(g)}" for i, g in enumerate(encoded))


def display_rows(records) -> list[dict]:
    """The ``known`` records of a results.json with what the report shows: the badge, and the values the replay
    saw (the oracle's and the library's gradients, the kink's one-sided derivatives, or the work ratio)."""
    rows = []
    for r in records or []:
        seen = []
        if r.get("oracle") is not None:
            seen.append(("oracle", _named_text(r["oracle"])))
        if r.get("oracle_sides"):
            sides = r["oracle_sides"].get("sides", {})
            seen.append(("one-sided", "; ".join(f"{k} {_encoded_text(v)}" for k, v in sides.items())))
        if r.get("library") is not None and r.get("kind") != "cost-bound":
            seen.append((r["backend"], _named_text(r["library"])))
        if r.get("ratio") is not None:
            seen.append(("work ratio", f"{r['ratio']:.3g}"))
        badge = BADGES.get(r.get("status"), r.get("status", ""))
        if r.get("status") == "fixed":
            badge = f"fixed in {r['backend']} {r.get('version', '')}".rstrip()
        rows.append({**r, "badge": badge, "seen": seen})
    return rows


def known_counts(records) -> list[tuple[str, int]]:
    """(status, count) in a fixed order, for the statuses that occur."""
    order = ("present", "fixed", "changed", "cannot run", "no example")
    counts = {}
    for r in records or []:
        counts[r.get("status")] = counts.get(r.get("status"), 0) + 1
    return [(s, counts[s]) for s in order if s in counts] + [(s, n) for s, n in counts.items() if s not in order]
