"""The catalogue: :func:`register` adds a primitive, the one way in (the catalogue's own and a user's)."""

from __future__ import annotations

import difflib

import numpy as np

from .primitive import Draw, Primitive, ShapeError, Special

__all__ = ["CATALOGUE", "FAMILIES", "RegistrationError", "register", "unregister", "get"]

CATALOGUE: dict[str, Primitive] = {}
"""Every registered primitive by name, in registration order."""

FAMILIES: dict[str, list[str]] = {}
"""Primitive names by family, in registration order."""


class RegistrationError(ValueError):
    """A registration that cannot be accepted; the message names the primitive and the problem."""


def _malformed(p: Primitive) -> str | None:
    if not isinstance(p, Primitive):
        return f"register() takes a Primitive, got {type(p).__name__}"
    if not isinstance(p.name, str) or not p.name.isidentifier():
        return f"the name {p.name!r} is not an identifier"
    if p.arity is not None and (isinstance(p.arity, bool) or not isinstance(p.arity, int) or p.arity < 1):
        return f"arity must be a positive integer or None (variadic), got {p.arity!r}"
    for what in ("shape", "np", "mp"):
        if not callable(getattr(p, what)):
            return f"its {what} form is missing (got {getattr(p, what)!r})"
    for what in ("domain", "kink", "jvp", "props", "repeats", "constant", "example", "rounding"):
        value = getattr(p, what)
        if value is not None and not callable(value):
            return f"{what} must be callable or None, got {value!r}"
    if not isinstance(p.params, dict):
        return f"params must be a dict of name -> default, got {p.params!r}"
    if p.vjp is None:
        return "it has no reference VJP rule (vjp=)"
    if not callable(p.vjp):
        rules = tuple(p.vjp)
        if p.arity is None:
            return "a variadic primitive's vjp is one callable returning every operand's cotangent"
        if len(rules) != p.arity or not all(r is None or callable(r) for r in rules):
            return f"vjp must hold {p.arity} rule(s) (callables or None), one per operand, got {len(rules)}"
    if p.jvp is None:
        return "it has no reference JVP rule (jvp=)"
    if not isinstance(p.operands, tuple):
        return f"operands must be a tuple (one sampler spec per operand), got {p.operands!r}"
    if p.arity is not None and len(p.operands) > p.arity:
        return f"operands names {len(p.operands)} samplers for {p.arity} operand(s)"
    if not isinstance(p.special, Special) or not isinstance(p.draw, Draw):
        return "special and draw must be a Special and a Draw"
    if p.rule not in _RULES:
        return f"draw.rule {p.rule!r} is not one of {sorted(_RULES)}"
    return _sample_disagreement(p)


_RULES = {"unary", "binary", "reduction", "where", "matmul", "along_axis", "transpose", "reshape", "broadcast_to",
          "index", "concatenate", "stack"}
# ---- issue 16: structural linear algebra
_RULES |= {"matrix", "pair", "tensordot", "einsum"}
# ---- issue 16: linear algebra factorisations and solves (square-matrix operands: strategies._functions._square)
_RULES |= {"square"}
# ---- issue 16: scans, sorting, indexing, statistics
_RULES |= {"scan", "top_k", "argmax_take", "moments", "take", "scatter_add", "roll", "tile", "repeat", "pad"}


def _sample_disagreement(p: Primitive) -> str | None:
    """Run the shape rule and the float form on the primitive's example: they must agree."""
    try:
        shapes, params = p.example_args((2, 3))
        params = p.check_params(params)
        want = tuple(p.shape(shapes, **params))
    except (ShapeError, TypeError, ValueError) as e:
        return f"its shape rule refuses its own example ({type(e).__name__}: {e})"
    rng = np.random.default_rng(0)
    from .operands import sampler

    args = []
    for i, s in enumerate(shapes):
        x = rng.uniform(0.4, 1.6, s) * rng.choice([-1.0, 1.0], s)
        spec = sampler(p.operand(i))
        args.append(spec.fixed(x) if spec is not None else x)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(p.np(*args, **params))
    except Exception as e:  # noqa: BLE001 - any failure of a user's form is the message
        return f"its float form raised {type(e).__name__} on its example: {e}"
    if out.shape != want:
        return f"its shape rule says {want} but its float form returns {out.shape} on operands of shapes {shapes}"
    return None


def register(primitive: Primitive) -> Primitive:
    """Add ``primitive`` to the catalogue and return it; :class:`RegistrationError` names a clash with a registered
    name or what is malformed (a missing form or rule, an arity or shape rule the float form disagrees with)."""
    problem = _malformed(primitive)
    if problem is not None:
        name = getattr(primitive, "name", primitive)
        raise RegistrationError(f"primitive {name!r}: {problem}")
    if primitive.name in CATALOGUE:
        raise RegistrationError(f"primitive {primitive.name!r} is already registered "
                                f"({CATALOGUE[primitive.name].family} family): choose another name")
    CATALOGUE[primitive.name] = primitive
    FAMILIES.setdefault(primitive.family, []).append(primitive.name)
    return primitive


def unregister(name: str) -> Primitive:
    """Remove a registered primitive (a test's or an extension's) and return it."""
    prim = get(name)
    del CATALOGUE[name]
    FAMILIES[prim.family].remove(name)
    if not FAMILIES[prim.family]:
        del FAMILIES[prim.family]
    return prim


def get(name: str) -> Primitive:
    """The catalogue entry for ``name``; KeyError naming close matches when unknown."""
    try:
        return CATALOGUE[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), CATALOGUE, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise KeyError(f"unknown primitive {name!r}{hint}") from None
