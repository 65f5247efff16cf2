"""The contract's ``supports``: None when a backend can run a function, else the reason a campaign reports."""

from types import SimpleNamespace

from advalidate.backends.contract import Backend, supports
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.builder import Builder


def _program(dtype="float64"):
    b = Builder(dtype)
    x = b.input(4)
    return b.build(b.sum(b.tan(b.erf(b.sin(x)))))


class _Partial(Backend):
    name = "partial"
    dtypes = ("float64",)
    primitives = {"sin": None, "sum": None}


def test_a_backend_that_can_run_the_function_gets_none():
    assert NumpyReference().supports(_program()) is None
    assert NumpyReference().supports(_program("float32")) is None


def test_missing_primitives_are_named_sorted_before_the_dtype():
    # float32 is also unsupported here: the primitives are the reason given, as check.py reports it
    assert _Partial().supports(_program("float32")) == "unsupported primitives: erf, tan"


def test_an_unsupported_dtype_is_named():
    backend = _Partial()
    backend.primitives = {"sin": None, "erf": None, "tan": None, "sum": None}
    assert backend.supports(_program("float32")) == "dtype float32 not supported"
    assert backend.supports(_program("float64")) is None


def test_a_duck_typed_backend_is_judged_by_the_function():
    duck = SimpleNamespace(primitives={"sin": None}, dtypes=("float64", "float32"))
    assert supports(duck, _program()) == "unsupported primitives: erf, sum, tan"
