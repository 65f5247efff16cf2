"""The primitive catalogue: one registration per primitive holds every fact advalidate knows about it.

A :class:`Primitive` states the mathematics of an operation independently of any AD library (arity and
parameters, shape rule, float NumPy form, mpmath form for the oracle, domain and kink gaps), its reference
derivative rules (a VJP rule, which the NumPy reference tape runs, and a JVP rule; both on float arrays and on
object arrays of mpmath numbers), how valid operands are sampled and what its result guarantees
(:mod:`advalidate.primitives.operands`), its special points, the error model's facts, and how the program
generator draws it. :func:`register` is the one way a primitive enters the catalogue: the catalogue's own
registrations (one module per family: ``unary``, ``binary``, ``reductions``, ``linalg``, ``structural``, ``nn``,
``linalg_structure``, ``scans``, ``statistics``, ``indexing``, ``elementary``, ``activations``, ``special``)
call it, and so does a user's extension. Every part of advalidate reads the facts from here; backends map the
same names to their own implementations (:mod:`advalidate.render`'s dialects).

``domain(*args)`` and ``kink(*args, **params)`` return a *gap* array: for ``domain`` the point is inside the
open domain where the gap is > 0; for ``kink`` the gap is the distance to the nearest point where the primitive
is not differentiable (0 on the kink or tie). Both work on float arrays and on object arrays of mpmath numbers.
"""

from __future__ import annotations

from .primitive import REQUIRED, Draw, Primitive, ShapeError, Special
from .registry import CATALOGUE, FAMILIES, RegistrationError, get, register, unregister

from . import unary, binary, reductions, linalg, structural, nn  # noqa: E402,F401  the catalogue, in this order
# ---- issue 16: structural linear algebra
from . import linalg_structure  # noqa: E402,F401
from . import scans, statistics, indexing  # noqa: E402,F401  issue 16: scans, sorting, indexing, statistics
# ---- issue 16: elementwise, activations, special functions
from . import elementary, activations, special  # noqa: E402,F401
from .operands import fixed_point  # noqa: E402

__all__ = ["Primitive", "Special", "Draw", "REQUIRED", "CATALOGUE", "FAMILIES", "get", "register", "unregister",
           "RegistrationError", "ShapeError", "numpy_forms", "fixed_point"]


class _NumpyForms:
    """The float forms that NumPy lacks, under readable names (used by rendered NumPy source); any other
    registered primitive's float form by its name."""

    sigmoid = staticmethod(unary.np_sigmoid)
    softplus = staticmethod(unary.np_softplus)
    erf = staticmethod(unary.np_erf)
    relu = staticmethod(unary.np_relu)
    logsumexp = staticmethod(reductions.np_logsumexp)
    norm = staticmethod(reductions.np_norm)
    softmax = staticmethod(nn.np_softmax)
    log_softmax = staticmethod(nn.np_log_softmax)

    def __getattr__(self, name):
        try:
            return get(name).np
        except KeyError:
            raise AttributeError(f"no registered primitive {name!r}") from None


numpy_forms = _NumpyForms()
