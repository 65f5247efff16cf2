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

import os
import sys

from . import primitives
from .errors import AdvalidateError
from .primitives import Primitive
from .render import EXTENSIONS
from .userops import _OPS, InvalidOp, Op, build, libraries

__all__ = ["defop", "check_op", "load", "remove", "ops", "libraries", "InvalidOp", "AdvalidateError", "ENV"]

ENV = "ADVALIDATE_EXTENSIONS"  # the extension modules a run imported, for its worker processes (os.pathsep-separated)


def ops() -> dict[str, Op]:
    """The users' ops registered in this process, by name."""
    return dict(_OPS)


def defop(name: str, mp, *, arity: int | None = None, elementwise: bool = True, shape=None, numpy=None,
          domain=None, kink=None, vjp=None, operands=None, ranks=None, doc: str = "",
          **implementations) -> Primitive:
    """Register op ``name`` (see the module docstring); returns its catalogue entry. :class:`InvalidOp` names what
    is wrong: a missing mpmath form, a name the catalogue has, an implementation for an unknown library, an
    arity or shape rule that disagrees with the float form on a sample."""
    caller = sys._getframe(1).f_globals
    prim, templates = build(name, mp, caller, arity=arity, elementwise=elementwise, shape=shape, numpy=numpy,
                            domain=domain, kink=kink, vjp=vjp, operands=operands, ranks=ranks, doc=doc,
                            **implementations)
    try:
        primitives.register(prim)
    except primitives.RegistrationError as e:
        raise InvalidOp(name, str(e)) from None
    for lib, tpl in templates.items():
        EXTENSIONS.setdefault(lib, {})[name] = tpl
    _OPS[name] = Op(prim, caller.get("__name__", "__main__"), dict(implementations))
    return prim


def remove(name: str) -> None:
    """Unregister the user's op ``name`` (tests that register ops clean up with it)."""
    _OPS.pop(name)
    primitives.unregister(name)
    for table in EXTENSIONS.values():
        table.pop(name, None)


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
    # reverse mode: the op's implementations are its hand-written VJPs (forward mode does not run them)
    settings = Settings(max_examples=max_examples, seed=seed, dtype=dtype, special=special, known_dir=known_dir,
                        replay_known=False, measure_work=True, modes=("vjp",))
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
