"""Your own op, checked like a catalogue primitive: its mathematics and your implementations, registered once.

In your module (``mylib/ops.py``), next to your op::

    import mpmath
    from advalidate import extend

    @jax.custom_vjp
    def log1mexp(x): ...                      # log(1 - exp(-x)), your hand-written VJP in log1mexp.defvjp
    class Log1mexp(torch.autograd.Function): ...   # called as Log1mexp.apply(x)

    extend.defop("log1mexp", mp=lambda x: mpmath.log(-mpmath.expm1(-x)), domain=lambda x: x,
                 jax=log1mexp, torch=Log1mexp)

Then, three ways to check it:

- from your tests, one call: ``extend.check_op("log1mexp")`` (fails with the shrunk program, point, cotangent, the
  oracle's and the backend's values and the kind of the finding);
- ``advalidate run --extension mylib.ops``: the whole campaign with your ops beside the catalogue;
- ``pytest --pyargs advalidate.conformance --advalidate-extension mylib.ops``.

What :func:`defop` takes: ``mp``, the mpmath form (for an elementwise op a scalar function of mpf arguments; else
``elementwise=False``, a function of object arrays of mpf, and a ``shape`` rule ``shape(shapes) -> shape``);
``domain`` and ``kink``, gap functions like the catalogue's (positive inside the domain; the distance to the
nearest kink), written with array operations so that they run on float and on mpf arrays; ``numpy``, a float
form (default: the mpmath form correctly rounded); ``vjp``, the float reference rules ``rule(g, ans, *args)``,
one per argument (default: the exact derivative of the mpmath form, see :mod:`advalidate.derived`); and one
implementation per library, by its dialect's name (``jax``: a ``jax.custom_vjp`` function or any function of
jax arrays, also run under ``jax.jit`` by the jax-jit backend; ``torch``: a ``torch.autograd.Function``
subclass, called through ``.apply``, or a function; ``autograd``: an ``autograd.extend.primitive`` with its
``defvjp``; a plug-in backend's name for its dialect). A backend runs the program a finding prints, which
imports your module by name and calls the implementation from there: keep them at module level.
"""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass, replace

import numpy as np

from . import derived, primitives
from .primitives import Draw, Primitive, shapes
from .primitives._forms import ew
from .primitives.operands import POSITIVE, SMALL_ANGLE
from .render import DIALECTS, EXTENSIONS
from .errors import AdvalidateError

__all__ = ["defop", "check_op", "load", "remove", "ops", "libraries", "InvalidOp", "AdvalidateError", "ENV"]

ENV = "ADVALIDATE_EXTENSIONS"  # the extension modules a run imported, for its worker processes (os.pathsep-separated)


class InvalidOp(AdvalidateError, ValueError):
    """A registration advalidate cannot use; the message names the op and the problem."""

    def __init__(self, name, problem):
        super().__init__(f"op {name!r}: {problem}")


@dataclass(frozen=True)
class Op:
    """A registered user op: its catalogue entry, the module that registered it and its implementations."""

    primitive: primitives.Primitive
    module: str
    implementations: dict  # library (dialect name) -> the callable


_OPS: dict[str, Op] = {}


def ops() -> dict[str, Op]:
    """The users' ops registered in this process, by name."""
    return dict(_OPS)


def libraries() -> list[str]:
    """The names an implementation may be given under: the built-in dialects and the plug-in backends."""
    from .backends.registry import entries

    return sorted(set(DIALECTS) | {name for name, e in entries().items() if e.source != "built-in"})


def defop(name: str, mp, *, arity: int | None = None, elementwise: bool = True, shape=None, numpy=None,
          domain=None, kink=None, vjp=None, operands=None, ranks=None, doc: str = "",
          **implementations) -> Primitive:
    """Register op ``name`` (see the module docstring); returns its catalogue entry. :class:`InvalidOp` names what
    is wrong: a missing mpmath form, a name the catalogue has, an implementation for an unknown library, an
    arity or shape rule that disagrees with the float form on a sample."""
    caller = sys._getframe(1).f_globals
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidOp(name, "the name must be a Python identifier (the rendered source calls it)")
    if name in primitives.CATALOGUE:
        owner = _OPS[name].module if name in _OPS else "advalidate's catalogue"
        raise InvalidOp(name, f"the name is taken by {owner}: choose another")
    if not callable(mp):
        raise InvalidOp(name, f"missing mpmath form: mp must be a function of mpf numbers, got {mp!r}")
    unknown = sorted(set(implementations) - set(libraries()))
    if unknown:
        raise InvalidOp(name, f"implementation for unknown backend(s) {', '.join(unknown)}; known: "
                              f"{', '.join(libraries())}")
    arity = _arity(name, mp, arity) if elementwise else arity
    if not isinstance(arity, int) or not 1 <= arity <= 2:
        raise InvalidOp(name, f"arity must be 1 or 2 (the program generator draws ops of one or two operands), "
                              f"got {arity!r}")
    if elementwise:
        scalar = derived.scalar_mp(mp)
        shape_rule = shapes.broadcast if arity > 1 else shapes.same
        mp_form = ew(scalar, arity, domain)
        rules = derived.elementwise_rules(scalar, arity)
    elif shape is None:
        raise InvalidOp(name, "an op that is not elementwise needs a shape rule: shape(shapes) -> shape")
    else:
        shape_rule, mp_form = shape, mp
        rules = derived.jacobian_rules(mp, arity)
    vjp_rules, magnitude = rules.vjp, rules.magnitude
    if vjp is not None:
        vjp_rules = tuple(vjp) if isinstance(vjp, (tuple, list)) else (vjp,)
        if len(vjp_rules) != arity:
            raise InvalidOp(name, f"vjp gives {len(vjp_rules)} rule(s) for {arity} argument(s)")
        magnitude = tuple(lambda g, ans, *a, _r=r: np.abs(_r(g, ans, *a)) for r in vjp_rules)
    module = caller.get("__name__", "__main__")
    family = ("elementwise" if arity == 1 else "binary") if elementwise else "extension"
    draw = Draw(ranks=(lambda max_dims: (min(ranks[0], max_dims), min(ranks[1], max_dims))) if ranks else None,
                rank_text=f"in [{ranks[0]}, {ranks[1]}]" if ranks else ">= 1")
    prim = Primitive(name, arity, family, shape_rule, numpy or derived.float_form(mp_form), mp_form,
                     domain=domain, kink=kink, doc=doc or f"a user's op, registered by {module}", vjp=vjp_rules,
                     jvp=rules.jvp, magnitude=magnitude, draw=draw,
                     example=(lambda s: ([tuple(s)[len(s) - ranks[1]:]] * arity, {})) if ranks else None)
    prim = replace(prim, operands=_operands(prim, operands))
    _check_sample(prim, elementwise)
    templates = {lib: _template(name, lib, f, caller, module) for lib, f in implementations.items()}
    templates.setdefault("numpy", _template(name, "numpy", numpy, caller, module) if numpy is not None
                         else _numpy_forms_template(name, module))
    try:
        primitives.register(prim)
    except primitives.RegistrationError as e:
        raise InvalidOp(name, str(e)) from None
    for lib, tpl in templates.items():
        EXTENSIONS.setdefault(lib, {})[name] = tpl
    _OPS[name] = Op(prim, module, dict(implementations))
    return prim


def remove(name: str) -> None:
    """Unregister the user's op ``name`` (tests that register ops clean up with it)."""
    _OPS.pop(name)
    primitives.unregister(name)
    for table in EXTENSIONS.values():
        table.pop(name, None)


def _arity(name, mp, arity):
    try:
        params = inspect.signature(mp).parameters.values()
    except (TypeError, ValueError):
        return arity if arity is not None else 1
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if arity is not None and not any(p.kind == p.VAR_POSITIONAL for p in params) and arity != len(positional):
        raise InvalidOp(name, f"arity {arity} disagrees with the mpmath form, which takes {len(positional)} argument(s)")
    return arity if arity is not None else len(positional)


def _inside(prim, args) -> bool:
    try:
        with np.errstate(all="ignore"):
            return prim.domain is None or bool(np.all(np.asarray(prim.domain(*args), dtype=np.float64) > 0))
    except Exception as e:
        raise InvalidOp(prim.name, f"the domain raised on {args}: {type(e).__name__}: {e}") from e


def _draw(prim, specs, shape=(16,)):
    """Operands of ``shape`` as the campaign's fixed points draw them for samplers ``specs``."""
    rng = np.random.default_rng(0)
    args = []
    for spec in specs:
        x = rng.uniform(0.4, 1.6, shape) * rng.choice([-1.0, 1.0], shape)
        args.append(x if spec is None else spec.fixed(x))
    return args


def _operands(prim, given):
    """The operand samplers: ``given``, or the first kind of operand (any nonzero, positive, small) that the
    domain accepts on a sample, the same for every operand."""
    if given is not None:
        return tuple(given)
    if prim.domain is None:
        return ()
    for spec in (None, POSITIVE, SMALL_ANGLE):
        if _inside(prim, _draw(prim, [spec] * prim.arity)):
            return (spec,) * prim.arity if spec is not None else ()
    raise InvalidOp(prim.name, "the domain refuses operands of every kind advalidate draws (nonzero, positive, "
                               "|x| <= 1.2; is its sign right?): name the samplers with operands=")


def _check_sample(prim, elementwise):
    """The float form against the shape rule and the mpmath form, on a sample inside the domain."""
    shapes = [(3,)] * prim.arity
    try:
        want = prim.shape(shapes)
    except primitives.ShapeError:
        if elementwise:
            raise
        return  # a general op that takes no vectors: its shape rule is checked on every program drawn
    args = _draw(prim, [prim.operand(i) for i in range(prim.arity)], (3,))
    if not _inside(prim, args):
        raise InvalidOp(prim.name, f"the samplers {prim.operands} draw operands outside the domain: {args}")
    try:
        value = np.asarray(prim.np(*args))
    except Exception as e:
        raise InvalidOp(prim.name, f"the float form raised on a sample {args}: {type(e).__name__}: {e}") from e
    if value.shape != want:
        raise InvalidOp(prim.name, f"the float form returns shape {value.shape} on operands of shapes {shapes}, "
                                   f"the shape rule says {want}")
    exact = derived.float_form(prim.mp)(*args)
    if not np.allclose(value, exact, rtol=1e-6, atol=1e-12, equal_nan=True):
        raise InvalidOp(prim.name, f"the float form disagrees with the mpmath form on {args}: {value} vs {exact} "
                                   "(a wrong arity or argument order?)")


def _name_in(obj, namespace: dict) -> str | None:
    return next((k for k, v in namespace.items() if v is obj and not k.startswith("__")), None)


def _template(name, lib, obj, caller: dict, module: str):
    """The dialect template calling ``obj`` from the user's module: ``module.attr(args)`` (``.apply`` for a
    ``torch.autograd.Function`` subclass), with params as keywords."""
    if not callable(obj):
        raise InvalidOp(name, f"the {lib} implementation must be callable, got {obj!r}")
    attr = _name_in(obj, caller)
    if attr is None:
        home = sys.modules.get(getattr(obj, "__module__", "") or "")
        attr, module = (_name_in(obj, vars(home)) if home else None), getattr(home, "__name__", module)
    if attr is None:
        raise InvalidOp(name, f"the {lib} implementation {obj!r} is not a module-level name of {module}: the source "
                              "a finding prints could not import it")
    path = f"{module}.{attr}" + (".apply" if inspect.isclass(obj) and hasattr(obj, "apply") else "")

    def template(a, p):
        return f"{path}({', '.join(list(a) + [f'{k}={v!r}' for k, v in p.items()])})"

    template.imports = (f"import {module}  # registers advalidate op {name!r}",)
    return template


def _numpy_forms_template(name, module):
    def template(a, p):
        return f"F.{name}({', '.join(a)})"  # F: advalidate.primitives.numpy_forms, in the NumPy dialect's preamble

    template.imports = (f"import {module}  # registers advalidate op {name!r}",)
    return template


def load(modules, environ=os.environ) -> list[str]:
    """Import the extension ``modules`` (each registers its ops) and add them to ``$ADVALIDATE_EXTENSIONS`` in
    ``environ``, so that the run's worker processes import them too. Returns the names of the ops they added."""
    import importlib

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())  # a module beside the user, as `python -m` would find it
    before = set(_OPS)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as e:
            raise AdvalidateError(f"extension module {module!r} could not be imported: {type(e).__name__}: {e}") from e
    known = [m for m in environ.get(ENV, "").split(os.pathsep) if m]
    environ[ENV] = os.pathsep.join(known + [m for m in modules if m not in known])
    return sorted(set(_OPS) - before)


def load_from_environment() -> list[str]:
    """:func:`load` the modules named in ``$ADVALIDATE_EXTENSIONS`` (a worker process calls it at start)."""
    return load([m for m in os.environ.get(ENV, "").split(os.pathsep) if m])


def check_op(name: str, backends=None, max_examples: int = 40, seed: int = 0, dtype: str = "float64",
             special: float = 0.25, known_dir=None) -> dict:
    """Check op ``name`` on ``backends`` (names; default: every library it has an implementation for): the op
    alone at a regular and a special point, then ``max_examples`` programs built around it. Raises AssertionError
    listing each unexpected finding with its shrunk program, point, cotangent, the oracle's and the backend's VJP
    and its kind (the results are its ``results`` attribute); returns the results otherwise."""
    from .backends.registry import load_backends
    from .campaign import Campaign, Settings
    from .coverage import Probe
    from .testing import format_findings

    if name not in _OPS:
        raise InvalidOp(name, f"not registered (registered: {', '.join(_OPS) or 'none'})")
    names = list(backends) if backends is not None else [b for b in _OPS[name].implementations if b != "numpy"]
    loaded, errors = load_backends(names, isolate="none")
    if errors:
        raise AdvalidateError("; ".join(f"backend {k} did not load: {v}" for k, v in errors.items()))
    lacking = [b.name for b in loaded if name not in b.primitives]
    if lacking:
        raise InvalidOp(name, f"no implementation for backend(s) {', '.join(lacking)}")
    settings = Settings(max_examples=max_examples, seed=seed, dtype=dtype, special=special, known_dir=known_dir,
                        replay_known=False, measure_work=True)
    campaign = Campaign(loaded, settings)
    schedule = campaign.schedule
    schedule.primitives, schedule.probes = [name], [Probe(name, False), Probe(name, True)]
    results = campaign.run()
    unexpected = [f for f in results["findings"] if not f["known"]]
    if unexpected:
        error = AssertionError(f"op {name}: {len(unexpected)} unexpected finding(s)\n" + format_findings(unexpected))
        error.results = results  # the same results.json data a passing check returns, for a caller to inspect
        raise error
    return results
