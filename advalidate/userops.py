"""How a user's op becomes a registration (:mod:`advalidate.extend` is the public page).

:func:`build` turns what a user gives into a :class:`~advalidate.primitives.Primitive` and one dialect template
per library: the reference rules derived from the mpmath form where the user gives none (:mod:`advalidate.derived`),
operand samplers from the domain (the first kind a sample of it accepts: any nonzero, positive, small), and checks
on a sample: the arity against the mpmath form, the float form's shape against the shape rule and its values
against the mpmath form. A template calls the implementation by its name in the user's module (found among the
module's globals, so an ``autograd`` primitive, whose ``__qualname__`` is autograd's, is found too), through
``.apply`` for a ``torch.autograd.Function`` subclass, and carries the line importing that module.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, replace

import numpy as np

from . import derived, primitives
from .errors import AdvalidateError
from .primitives import Draw, Primitive, shapes
from .primitives._forms import ew
from .primitives.operands import POSITIVE, SMALL_ANGLE
from .render import DIALECTS

__all__ = ["InvalidOp", "Op", "build", "libraries"]


class InvalidOp(AdvalidateError, ValueError):
    """A registration advalidate cannot use; the message names the op and the problem."""

    def __init__(self, name, problem):
        super().__init__(f"op {name!r}: {problem}")


@dataclass(frozen=True)
class Op:
    """A registered user op: its catalogue entry, the module that registered it and its implementations."""

    primitive: Primitive
    module: str
    implementations: dict  # library (dialect name) -> the callable


_OPS: dict[str, Op] = {}  # the users' ops registered in this process (advalidate.extend.ops)


def libraries() -> list[str]:
    """The names an implementation may be given under: the built-in dialects and the plug-in backends."""
    from .backends.registry import entries

    return sorted(set(DIALECTS) | {name for name, e in entries().items() if e.source != "built-in"})


def build(name: str, mp, caller: dict, *, arity=None, elementwise=True, shape=None, numpy=None, domain=None,
          kink=None, vjp=None, operands=None, ranks=None, doc="", **implementations) -> tuple[Primitive, dict]:
    """The registration of a user's op and its dialect templates (library -> template), checked on samples;
    :class:`InvalidOp` names what is wrong. ``caller``: the globals of the module registering it."""
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
    return prim, templates


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


