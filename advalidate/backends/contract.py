"""The backend contract: what advalidate needs from an AD library.

This file is the whole contract: every attribute and method a backend can provide, required and optional, and the
public helpers a plug-in may use, all importable from :mod:`advalidate.plugin` (a plug-in imports nothing else of
advalidate). A backend is an object (or a class with a no-argument constructor) with:

Required
--------

``name: str``
    Unique, short, lowercase (``"jax"``, ``"torch"``, ``"numpy-ref"``). For a plug-in it is also the name of
    its entry point.
``version: str``
    The version of the library under test.
``dtypes: tuple[str, ...]``
    Float dtypes it runs: a non-empty subset of ``("float64", "float32")``.
``primitives: Mapping[str, object]``
    The catalogue names it supports (``CATALOGUE``, with ``primitive(name)`` for one registration: its arity, family,
    params and mathematics), each mapped to anything of the backend's (advalidate reads the keys only; a
    :class:`DialectBackend` maps each to its template). A function using any other primitive is skipped and reported
    as "not supported" for this backend: it is never run, so it cannot crash a campaign.
``vjp(function, inputs, cotangents) -> VJP``
    One forward and one backward pass: ``function`` is a :class:`Function`, ``inputs`` a list
    of NumPy arrays (one per input, in the function's dtype), ``cotangents`` a list of NumPy arrays (one per
    output, same dtype). Returns the outputs and ``vᵀ·∂f/∂x_i`` for every input, as NumPy arrays of the
    function's dtype and the inputs' shapes (an input the outputs do not depend on gets zeros). The backend
    must not cast or repair what its library returns: a wrong dtype or shape is a finding.

Reading a ``Function``: ``function.inputs`` is the tuple of input shapes (inputs are named ``x0, x1, ...``),
``function.nodes`` a tuple of :class:`Node` (``node.prim``, the catalogue name; ``node.args``, the names of earlier
values; ``node.kwargs``, a property: the dict of its static params), named ``v0, v1, ...`` in order (``function.named_nodes()``),
``function.outputs`` the names of the outputs, ``function.dtype``, ``function.output_shapes`` and
``function.primitives_used``. A function is immutable and hashable: a backend may cache what it builds from it.
A plug-in's tests build one as ``Function(inputs, nodes, outputs, dtype="float64")`` with
``Node.make(prim, *args, **params)`` (``Function(((3, 2), (2,)), (Node.make("matmul", "x0", "x1"),
Node.make("softmax", "v0", axis=-1)), ("v1",))``), or take ``single(name)``.
``render(function, dialect)`` writes it as source in a dialect, and ``compile_function(function, dialect)`` turns that
source into a Python function of the library's arrays returning the tuple of outputs.

Optional, cost
--------------

``work(function, inputs, cotangents) -> Work``
    The work of the forward alone and of a whole VJP (forward plus backward), and how many times the forward was
    evaluated during the VJP (one, for reverse mode). A backend without ``work`` has its cost "not measured": in
    ``results.json`` (``work_modes``) and in the report's matrix (``n/m``); advalidate never makes up a number.

    What counts is the unit-cost model of :mod:`advalidate.counting` (an elementwise op costs the elements it
    produces, a reduction the elements it reads, a matrix product 2·m·n·k, a factorisation its usual flop count,
    views nothing). A backend may read it off any faithful record of what its library runs: the library's own trace
    or graph (the JAX backend counts the jaxpr, the PyTorch backend the aten ops its dispatcher runs), or, for a
    library that runs NumPy, the counting array: ``CountingArray`` is an ndarray subclass that charges every ufunc
    and NumPy function run on it to the ``Counter`` of the enclosing ``counting()`` block; ``wrap`` and ``unwrap``
    convert, ``charge(work)`` adds work that runs outside NumPy (a LAPACK call: ``triangular_solve_work(a, b)`` is a
    triangular solve's), and ``CallCounter`` wraps ``f`` to count the forward passes. Work a library does but hides
    from its record is the backend's to charge; work it does not do must not be charged.

    **Work is counted on the code whose values were checked**: ``work`` traces or runs the very function ``vjp`` runs
    (the same function object, with the same transformations, ``jax.jit`` included), never a second copy of the
    pullback code, which could differ from it. Each built-in backend defines one function per mode
    (``reverse_mode``, ``forward_mode``, and ``SECOND_ORDER`` by method) that both its derivative method and its
    work method call; counting need not run on every VJP (the JAX backend traces once per function and shapes).
    A backend whose counter runs the code (not only traces it) gives in ``Work.values`` the derivatives that run
    computed (as NumPy arrays: one per input for a VJP or an HVP, one per output for a JVP): advalidate compares them
    with the values it checked, and a difference beyond half the dtype's digits is an ``error`` finding ("work was
    counted on other code than the checked one"). The PyTorch backend and the autograd plug-in give them.
    A program whose work the backend cannot count faithfully (a loop whose trip count only running it tells): ``work``
    raises :class:`NotCounted` with the reason, and that example's cost is "not measured" (the report counts such
    examples per cell), never a finding and never a made-up number; any other exception is an ``error`` finding.

Optional, forward mode (a backend without them is "not supported" in that mode, never an error):
``jvp(function, inputs, tangents) -> JVP``
    One forward-mode pass: ``tangents`` a list of NumPy arrays, one per input, of its shape and the function's
    dtype. Returns the outputs and ``J·w`` for every output, as NumPy arrays of the function's dtype and the
    outputs' shapes (an output that does not depend on the inputs gets zeros).
``jvp_primitives: Mapping[str, object]``
    The primitives whose forward mode it runs (default: ``primitives``): a program using another one is "not
    supported" in forward mode for this backend (autograd's ``defjvp`` table lacks rules its ``defvjp`` has).
``jvp_work(function, inputs, tangents) -> Work``
    As ``work``, for forward plus JVP (``Work.vjp`` then holds that total): forward mode costs a small constant
    times the forward, like reverse mode.

Optional, second order (a backend without them is "not supported" in that mode, never an error):

``hvp(function, inputs, cotangents, directions, method) -> HVP``
    The Hessian-vector product ``H_v·u``: the derivative along ``directions`` (u, one array per input, of its shape
    and the function's dtype) of the VJP ``Jᵀv`` at ``inputs`` for ``cotangents`` (v, one per output): the
    Hessian of ``vᵀf`` times u. Returns the outputs and ``H_v·u`` for every input, as NumPy arrays of the
    function's dtype and the inputs' shapes. ``method`` is one of ``hvp_methods``.
``hvp_methods: tuple[str, ...]``
    How the library computes it, each checked on its own (they are different code): a subset of
    :data:`HVP_METHODS`, ``"forward-over-reverse"`` (the JVP of the VJP) and ``"reverse-over-reverse"`` (the VJP of
    ``x ↦ ⟨Jᵀv, u⟩``, or of the VJP along u). Default: ``("forward-over-reverse",)``.
``hvp_primitives: Mapping[str, object]``
    As ``jvp_primitives``, for second order (default: ``primitives``).
``hvp_work(function, inputs, cotangents, directions, method) -> Work``
    As ``work``, for the forward plus the whole Hessian-vector product (``Work.vjp`` holds that total): second
    order costs a constant times the forward too (:mod:`advalidate.second_order` states the bound).

What a backend can run follows from ``primitives`` and ``dtypes`` alone: :func:`supports` (also the method
``Backend.supports``) returns None when a function can run, else the reason a campaign reports
(``"unsupported primitives: erf, tan"``, or ``"dtype float32 not supported"``); :func:`supports_mode` does the same
in a mode, :func:`modes_of` gives the modes a backend provides (:data:`MODES`), :func:`hvp_methods_of` its
second-order methods (:data:`HVP_METHODS`) and :func:`work_modes_of` the modes whose work it counts.

Optional, source and presentation
---------------------------------

``dialect: Dialect``
    How the backend writes a :class:`Function` in its library's API. Without one, a finding prints NumPy source and
    says the VJP call is the backend's to supply; with one, every finding's minimal function, its bug-report script
    and ``advalidate replay`` are in the library's own code. ``Dialect(name, preamble, ops, vjp_script)``: ``ops`` maps
    each catalogue name to a ``Template``, a function ``(args, params) -> str`` of the operands' source and the node's
    params returning the expression (``lambda a, p: f"lib.sin({a[0]})"``); the helpers ``call(path)``
    (``path(a, b)``), ``with_params(path, rename=None)`` (``path(a, axis=1)``, params renamed, None ones dropped),
    ``sequence(path, axis_kw)`` (``path([a, b], axis=0)``), ``subscript`` (``a[key]``, with ``key_source(key)`` for the
    ``index`` primitive's key), ``where_positive(path)`` (``path(a > 0, b, c)``) and ``contraction_axes(axes)``
    (``tensordot``'s axes) write the common shapes. ``preamble`` is the import lines the rendered source needs.
    ``vjp_script: VJPScript`` says how a bug-report script computes the library's VJP (and JVP and HVP) live, as the
    backend does (its fields are documented on the class).
``DialectBackend``
    A base class for a backend built on a dialect: set ``name``, ``version``, ``dtypes`` and ``dialect``, implement
    ``vjp`` (and ``work``, the modes): ``self.compiled(function)`` is ``compile_function`` cached per function, exactly
    the code a finding prints. ``primitives`` is every catalogue primitive the dialect has a template for, less the
    ones in ``unsupported: dict[str, str]`` (name -> why the library cannot run it); ``missing()`` gives every
    primitive left out with its reason (``advalidate backends`` shows them).
``concurrent: bool``
    True when the backend may run in a thread beside the oracle (its library releases the GIL, as XLA and PyTorch
    kernels do). Default False: it runs after the oracle, in the campaign's thread.

Optional, known behaviours
--------------------------

A plug-in ships its library's known behaviours (findings that are real, documented discrepancies, each with its
minimal example and evidence: the format is :mod:`advalidate.known`'s) as package data:
``<package>/known/<name>.txt``, ``<package>`` being the top-level package of the module its entry point names
(``mylib_advalidate/known/mylib.txt``; declare ``known/*.txt`` in its package data). advalidate finds the file
without importing the plug-in (``shipped_files(name)`` lists what it finds), merges it with advalidate's own
``advalidate/known/<name>.txt``, and ``advalidate run --known-dir DIR`` adds the files of ``DIR`` to both. Every run
replays each entry's example first and reports it present or fixed; a finding an entry matches is "known", not a
failure. ``advalidate known RESULTS_JSON --id F003`` drafts a finding's entry (its example and evidence, checked to
match it; ``--unexpected --append DIR`` every unexpected one into ``DIR/<name>.txt``): the comment above it, why the
library does this, and a wider pattern where the behaviour is wider, are the author's to write.

How a backend is found (:mod:`advalidate.backends.registry`):

- built-in backends (``numpy-ref``, ``jax``, ``jax-jit``, ``torch``) are registered by dotted path;
- third-party ones declare an entry point in the group ``advalidate.backends`` of their own package::

      [project.entry-points."advalidate.backends"]
      mylib = "mylib_advalidate:MyBackend"

  The target is imported only when the backend is first used. ``ADVALIDATE_DISABLE_PLUGINS=1`` turns
  entry-point discovery off.
- On loading, the backend is validated against this contract; a missing or malformed piece (no ``vjp``, a
  ``vjp`` that cannot take ``(function, inputs, cotangents)``, a name that is not a string, a dtype outside
  the two above, a primitive the catalogue does not know) is an :class:`InvalidBackend` error naming it.
  A backend that fails to import or validate is recorded with its reason; the others still load.

Users' ops (:mod:`advalidate.extend`): a user registers an op with its mathematics and one callable per library
(``jax=``, ``torch=``, ``autograd=``, or a plug-in backend's name), and the op joins the catalogue under its name.
How a backend calls it:

- A backend built on a dialect (:class:`advalidate.backends.dialect_backend.DialectBackend`) does nothing: the
  dialect's templates for users' ops live in :data:`advalidate.render.EXTENSIONS` under the dialect's name, and
  ``Dialect.template(name)`` finds them. The template renders ``module.attr(args, **params)`` (for a
  ``torch.autograd.Function`` subclass ``module.Cls.apply(args, ...)``), and :func:`advalidate.render.render` puts
  ``import module`` (the user's module, which registers the op) below the preamble: the backend runs, and a
  finding prints, source that imports the user's module by name and calls the op from there. The callable gets
  the library's own arrays and returns one: its hand-written VJP is what the backend's AD uses.
  An op without an implementation for the dialect is missing from ``primitives``, so a program using it is
  "not supported" by that backend. jax and jax-jit share the ``jax`` implementation.
- A backend without a dialect supports a user's op by listing its name in ``primitives``, and calls
  ``advalidate.extend.ops()[name].implementations[its library name]`` itself.
- numpy-ref runs the op's float form and its reference VJP rule (given by the user, or derived from the mpmath
  form: :mod:`advalidate.derived`). Extension modules are imported again in worker processes
  (``$ADVALIDATE_EXTENSIONS``), so an isolated backend (:mod:`advalidate.isolation`) knows them too.

An implementation that raises, or returns a wrong shape or dtype, is an ``error`` finding, like any backend's.

The plug-in API
--------------

:mod:`advalidate.plugin` exports, and only these are public to a plug-in: ``Backend``, ``VJP``, ``JVP``, ``HVP``,
``Work``, ``MODES``, ``HVP_METHODS``, ``supports``, ``supports_mode``, ``modes_of``, ``hvp_methods_of``,
``work_modes_of``, ``DialectBackend``, ``Dialect``, ``Template``, ``VJPScript``, ``call``, ``with_params``,
``sequence``, ``subscript``, ``where_positive``, ``contraction_axes``, ``key_source``, ``render``,
``compile_function``, ``Function``, ``Node``, ``CATALOGUE``, ``primitive``, ``single`` (``single(name)``: a one-node
program of that primitive at its registration's example shapes) and ``fixed_point`` (``fixed_point(function, rng)``:
a point inside every domain, away from kinks), for probing what a library runs (autograd's plug-in probes its
forward-mode table that way), ``Counter``, ``CountingArray``, ``CallCounter``, ``counting``, ``wrap``, ``unwrap``,
``charge``, ``triangular_solve_work`` and ``shipped_files``.

To check a backend against the oracle, one line in its own test suite::

    from advalidate.testing import run_conformance
    run_conformance(MyBackend)          # out="conformance": where its results, report and scripts go

(an AssertionError lists each unexpected finding with its minimal function, the files written and the
``advalidate replay ... --backend module:MyBackend`` line that reruns it; ``run_conformance(MyBackend, probes=False,
modes=("vjp",))`` takes the campaign's settings; each ``results.json`` field, a finding's ``kind``, ``mode``,
``signature``, ``known``, ``function``, ``inputs``, ``cotangents``, ``tangents`` among them, is described in
``advalidate/schema/results.schema.json``), or ``pytest --pyargs advalidate.conformance --advalidate-backend NAME`` (``-k primitive`` for the per-primitive
suite alone; ``--advalidate-max-examples N``, ``--advalidate-seed N``, ``--advalidate-dtype float32``,
``--advalidate-special``, ``--advalidate-out DIR``, ``--advalidate-known-dir DIR``: ``pytest --help`` lists them all),
or, before it has an entry point,
``advalidate run --backend mypkg.backend:MyBackend`` (a ``module:attr`` path, a class or an instance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["VJP", "JVP", "HVP", "Work", "NotCounted", "Backend", "supports", "supports_mode", "MODES", "HVP_METHODS",
           "modes_of", "hvp_methods_of", "work_modes_of"]

MODES = ("vjp", "jvp", "hvp")
"""The modes of AD advalidate checks: reverse (``vjp``, every backend), forward (``jvp``) and second order
(``hvp``, Hessian-vector products), each where the backend has the method."""

HVP_METHODS = ("forward-over-reverse", "reverse-over-reverse")
"""The ways a backend may compute ``H_v·u`` (``hvp_methods``)."""


@dataclass(frozen=True)
class VJP:
    """What ``vjp`` returns: the outputs of the forward pass and one cotangent per input."""

    outputs: list[np.ndarray]
    grads: list[np.ndarray]


@dataclass(frozen=True)
class JVP:
    """What ``jvp`` returns: the outputs of the forward pass and one tangent ``J·w`` per output."""

    outputs: list[np.ndarray]
    tangents: list[np.ndarray]


@dataclass(frozen=True)
class HVP:
    """What ``hvp`` returns: the outputs of the forward pass and ``H_v·u`` per input."""

    outputs: list[np.ndarray]
    hvps: list[np.ndarray]


class NotCounted(Exception):
    """Raised by ``work``, ``jvp_work`` or ``hvp_work`` when the backend cannot count this program's work faithfully
    (its message says why: a loop whose trip count only running it tells, say): the example's cost is "not measured",
    counted as such in the report, never a finding and never a made-up number. Any other exception is an ``error``
    finding ("work counting failed")."""


@dataclass(frozen=True)
class Work:
    """What ``work`` returns: unit-cost work of the forward alone and of forward plus backward."""

    forward: int  # work of f alone
    vjp: int  # work of f and its derivative together (its VJP; for ``jvp_work``, its JVP)
    forward_passes: int = 1  # evaluations of f during the VJP
    values: list | None = field(default=None, compare=False, repr=False)  # the counted run's derivatives, if it ran

    @property
    def ratio(self) -> float:
        return self.vjp / self.forward if self.forward else float("inf") if self.vjp else 1.0


class Backend:
    """A base class that documents the contract; subclassing it is optional (duck typing is enough)."""

    name: str = ""
    version: str = ""
    dtypes: tuple[str, ...] = ("float64", "float32")
    primitives: dict = {}

    def vjp(self, function, inputs, cotangents) -> VJP:
        """One forward and one backward pass: the outputs and ``vᵀ·∂f/∂x_i`` for every input."""
        raise NotImplementedError

    def work(self, function, inputs, cotangents) -> Work:
        """The work of the forward alone and of forward plus backward, observed on the library's trace."""
        raise NotImplementedError

    def supports(self, function) -> str | None:
        """None when this backend can run ``function``, else why not (see :func:`supports`)."""
        return supports(self, function)


def supports_mode(backend, function, mode: str) -> str | None:
    """:func:`supports` in ``mode``: None when ``backend`` can run ``function`` there, else why not (no such method,
    or a primitive outside ``jvp_primitives`` in forward mode)."""
    why = supports(backend, function)
    if why or mode == "vjp":
        return why
    if mode not in modes_of(backend):
        return f"no {mode} mode: the backend has no {mode} method"
    table = getattr(backend, f"{mode}_primitives", None)
    table = backend.primitives if table is None else table
    missing = [p for p in function.primitives_used if p not in table]
    return f"no {mode} mode for: {', '.join(missing)}" if missing else None


def modes_of(backend) -> tuple[str, ...]:
    """The modes ``backend`` provides (:data:`MODES`): ``vjp`` always, ``jvp`` and ``hvp`` when it has the method."""
    return tuple(m for m in MODES if m == "vjp" or callable(getattr(backend, m, None)))


def work_modes_of(backend) -> tuple[str, ...]:
    """The modes whose work ``backend`` counts (``work``, ``jvp_work``, ``hvp_work``): in the others its cost is "not
    measured"."""
    names = {"vjp": "work", "jvp": "jvp_work", "hvp": "hvp_work"}
    return tuple(m for m in modes_of(backend) if callable(getattr(backend, names[m], None)))


def hvp_methods_of(backend) -> tuple[str, ...]:
    """The ways ``backend`` computes Hessian-vector products (``hvp_methods``, default forward-over-reverse); ()
    without an ``hvp`` method."""
    if "hvp" not in modes_of(backend):
        return ()
    return tuple(getattr(backend, "hvp_methods", None) or ("forward-over-reverse",))


def supports(backend, function) -> str | None:
    """Whether ``backend`` can run ``function``: None when it can, else the reason, as a campaign reports it.

    The primitives come first: ``"unsupported primitives: a, b"`` names every primitive of ``function`` missing
    from ``backend.primitives`` (sorted, as ``function.primitives_used``); with all of them supported, a
    dtype outside ``backend.dtypes`` gives ``"dtype float32 not supported"``. Works on any object that has
    ``primitives`` and ``dtypes`` (subclassing :class:`Backend` is optional).
    """
    missing = [p for p in function.primitives_used if p not in backend.primitives]
    if missing:
        return f"unsupported primitives: {', '.join(missing)}"
    if function.dtype not in backend.dtypes:
        return f"dtype {function.dtype} not supported"
    return None
