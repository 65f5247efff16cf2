"""Everything a backend plug-in imports from advalidate, in one module: the names below are public and documented
in :mod:`advalidate.backends.contract` (the whole contract); a plug-in imports nothing else of advalidate
(``tests/test_plugin_imports.py`` checks every package under ``plugins/``).

- the contract: :class:`Backend`, what the methods return (:class:`VJP`, :class:`JVP`, :class:`HVP`, :class:`Work`),
  :data:`MODES`, :data:`HVP_METHODS` and the helpers that read a backend (:func:`supports`, :func:`supports_mode`,
  :func:`modes_of`, :func:`hvp_methods_of`, :func:`work_modes_of`);
- a backend that runs rendered source: :class:`DialectBackend`, a :class:`Dialect` of :data:`Template` per primitive,
  the template helpers (:func:`call`, :func:`with_params`, :func:`sequence`, :func:`subscript`,
  :func:`where_positive`, :func:`contraction_axes`, :func:`key_source`), :func:`render` and
  :func:`compile_function`, and the bug-report script's hooks (:class:`VJPScript`);
- reading a :class:`Function` (its :class:`Node` list) and the catalogue (:data:`CATALOGUE`, :func:`primitive`);
- one-node programs and points to probe what a library runs (:func:`single`, :func:`fixed_point`);
- counting work on NumPy code (:class:`CountingArray`, :func:`counting`, :class:`Counter`, :class:`CallCounter`,
  :func:`wrap`,
  :func:`unwrap`, :func:`charge`, :func:`triangular_solve_work`), under the unit-cost model of
  :mod:`advalidate.counting`;
- :func:`shipped_files`: where advalidate finds the known behaviours a plug-in ships.
"""

from __future__ import annotations

from .backends.contract import (HVP, HVP_METHODS, JVP, MODES, VJP, Backend, NotCounted, Work, hvp_methods_of, modes_of, supports,
                                supports_mode, work_modes_of)
from .backends.dialect_backend import DialectBackend
from .builder import single
from .counting import CallCounter, Counter, CountingArray, charge, counting, triangular_solve_work, unwrap, wrap
from .ir import Function, Node
from .known import shipped_files
from .primitives import CATALOGUE
from .primitives import get as primitive
from .primitives.operands import fixed_point
from .render import (Dialect, Template, VJPScript, call, compile_function, contraction_axes, key_source, render,
                     sequence, subscript, where_positive, with_params)

__all__ = [
    "Backend", "VJP", "JVP", "HVP", "Work", "NotCounted", "MODES", "HVP_METHODS", "supports", "supports_mode", "modes_of",
    "hvp_methods_of", "work_modes_of",
    "DialectBackend", "Dialect", "Template", "VJPScript", "call", "with_params", "sequence", "subscript",
    "where_positive", "contraction_axes", "key_source", "render", "compile_function",
    "Function", "Node", "CATALOGUE", "primitive", "single", "fixed_point",
    "Counter", "CountingArray", "CallCounter", "counting", "wrap", "unwrap", "charge", "triangular_solve_work",
    "shipped_files",
]
