"""The work counter of every backend as ``counter(function, inputs, cotangents) -> Work`` (for the cost tests)."""

import importlib.util
import pathlib
import sys

import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.cost import scaling

BACKENDS = ("numpy-ref", "jax", "torch", "autograd")
_PLUGIN = pathlib.Path(__file__).resolve().parents[1] / "plugins" / "advalidate-autograd"


def autograd_count_work():
    """The plug-in's counter, from the installed package or from the plug-in folder of this checkout."""
    if importlib.util.find_spec("advalidate_autograd") is None:
        sys.path.insert(0, str(_PLUGIN))
    from advalidate_autograd.work import count_work

    return count_work


def library(name):
    """The raw trace counter ``count_work(f, inputs, cotangents, vjp=...)`` and dialect of a backend."""
    if name == "jax":
        pytest.importorskip("jax")
        import jax

        jax.config.update("jax_enable_x64", True)
        from advalidate.cost import jaxpr

        return jaxpr, "jax"
    if name == "torch":
        pytest.importorskip("torch")
        from advalidate.cost import dispatch

        return dispatch, "torch"
    if name == "autograd":
        pytest.importorskip("autograd")
        from .cost_dialects import autograd_dialect

        count_work = autograd_count_work()
        return sys.modules[count_work.__module__], autograd_dialect()
    raise KeyError(name)


def counter(name):
    if name == "numpy-ref":
        return NumpyReference().work
    module, dialect = library(name)
    return scaling.dialect_counter(module.count_work, dialect)
