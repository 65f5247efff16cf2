"""A base for backends that run the rendered source of a dialect (:mod:`advalidate.render`).

The function a backend differentiates is built by ``compile_function(fn, dialect)``: it is exactly the code
a finding prints as its reproduction. Primitives the dialect has no template for, and those a backend
declares in ``unsupported`` (with the reason), are left out of ``primitives``, so a run skips them.
The compiled function is the rendered source as it is; a backend that transforms it does so around its own
VJP (the JAX backend's ``jit=True`` wraps forward and backward together in ``jax.jit``, in ``jax_backend``).
"""

from __future__ import annotations

from collections import OrderedDict

from .. import primitives as catalogue
from ..render import Dialect, compile_function
from .contract import Backend

__all__ = ["DialectBackend"]


class DialectBackend(Backend):
    """Subclasses set ``name``, ``version``, ``dtypes``, ``dialect`` and implement ``vjp`` and ``work``."""

    dialect: Dialect
    unsupported: dict = {}  # catalogue name -> why this library cannot run it
    cache_size = 512

    @property
    def primitives(self) -> dict:
        templates = {name: self.dialect.template(name) for name in catalogue.CATALOGUE if name not in self.unsupported}
        return {name: tpl for name, tpl in templates.items() if tpl is not None}

    @property
    def jvp_primitives(self) -> dict:
        """The primitives it runs in forward mode (contract: ``jvp_primitives``): the catalogue's, not the users' ops
        (:mod:`advalidate.extend`), whose implementation is the user's hand-written VJP (a ``jax.custom_vjp``, a
        ``torch.autograd.Function``): a library's forward mode cannot differentiate it, and they are checked in
        reverse mode."""
        return self._catalogue_primitives()

    @property
    def hvp_primitives(self) -> dict:
        """The primitives it runs in second order (contract: ``hvp_primitives``): as ``jvp_primitives``, the
        catalogue's, not the users' ops, whose hand-written VJP is checked in reverse mode only (forward-over-reverse
        cannot differentiate a ``jax.custom_vjp`` forward, and neither method is promised a differentiable user's
        VJP)."""
        return self._catalogue_primitives()

    def _catalogue_primitives(self) -> dict:
        """``primitives`` without the users' ops (:mod:`advalidate.extend`)."""
        from ..extend import ops

        users = set(ops())
        return {name: impl for name, impl in self.primitives.items() if name not in users}

    def missing(self) -> dict[str, str]:
        """Every catalogue primitive this backend does not run, with the reason."""
        out = {name: f"the {self.dialect.name} dialect has no template for it" for name in self.dialect.missing()}
        out.update(self.unsupported)
        return dict(sorted(out.items()))

    def compiled(self, fn):
        """The dialect function for ``fn`` (cached): takes arrays, returns the tuple of outputs."""
        cache = self.__dict__.setdefault("_compiled", OrderedDict())
        if fn in cache:
            cache.move_to_end(fn)
            return cache[fn]
        unsupported = [p for p in fn.primitives_used if p not in self.primitives]
        if unsupported:
            raise NotImplementedError(f"backend {self.name!r} does not support {', '.join(unsupported)}")
        f = cache[fn] = compile_function(fn, self.dialect)
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return f
