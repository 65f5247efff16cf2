"""The NumPy work counter (``advalidate.counting``) on the calls AD libraries written in NumPy make."""

import numpy as np
import pytest

from advalidate import counting


def _counted(f):
    with counting.counting() as c:
        result = f()
    return result, c.work


def test_ufunc_with_out_and_where_on_counting_arrays():
    """``np.logical_not(m, out=m, where=w)`` (a NumPy AD library's ``maximum`` does this) used to recurse until
    Python's recursion limit: the counting mask dispatched back to the counter."""
    m = counting.wrap(np.array([True, False, True, False]))
    w = counting.wrap(np.array([True, True, False, False]))
    try:
        result, work = _counted(lambda: np.logical_not(m, out=m, where=w))
    except RecursionError:
        pytest.fail("the counter recursed on a ufunc called with out= and where=")
    assert result is m  # NumPy's convention: the output given is the object returned
    assert m.tolist() == [False, True, True, False]
    assert work == 2  # the two elements the mask selects


def test_where_counts_the_selected_elements():
    x = counting.wrap(np.arange(6.0).reshape(2, 3))
    mask = np.array([True, False, True])  # broadcast along the rows
    out = counting.wrap(np.zeros((2, 3)))
    _, work = _counted(lambda: np.exp(x, out=out, where=mask))
    assert work == 4
    total, work = _counted(lambda: np.add.reduce(x, axis=None, where=mask))
    assert total == 0 + 2 + 3 + 5 and work == 4


def test_out_without_where_returns_the_given_output():
    x = counting.wrap(np.arange(3.0))
    out = counting.wrap(np.empty(3))
    result, work = _counted(lambda: np.multiply(x, 2.0, out=out))
    assert result is out and out.tolist() == [0.0, 2.0, 4.0] and work == 3
    (frac, whole), work = _counted(lambda: np.modf(x + 0.5, out=(out, None)))
    assert frac is out and isinstance(whole, counting.CountingArray) and work == 3 + 2 * 3


REDUCTIONS = {
    "np.argmax": lambda x: np.argmax(x),
    "np.argmin axis": lambda x: np.argmin(x, axis=1),
    "x.argmax": lambda x: x.argmax(),
    "x.argmin keepdims": lambda x: x.argmin(axis=0, keepdims=True),
    "np.nonzero": lambda x: np.nonzero(x),
    "np.flatnonzero": lambda x: np.flatnonzero(x),
    "np.count_nonzero": lambda x: np.count_nonzero(x),
    "np.count_nonzero axis": lambda x: np.count_nonzero(x, axis=0),
}


@pytest.mark.parametrize("label, call", list(REDUCTIONS.items()), ids=list(REDUCTIONS))
def test_reductions_without_a_ufunc_read_every_element(label, call):
    x = counting.wrap(np.array([[3.0, 0.0, 5.0, 1.0], [2.0, 7.0, 0.0, 4.0]]))
    plain = call(counting.unwrap(x))
    result, work = _counted(lambda: call(x))
    assert np.array_equal(np.asarray(result), np.asarray(plain)), label
    assert work == x.size, f"{label}: charged {work}, reads {x.size}"


def test_nanargmax_charges_its_nan_scan_and_the_argmax():
    x = counting.wrap(np.array([1.0, np.nan, 3.0]))
    with np.errstate(invalid="ignore"):
        index, work = _counted(lambda: np.nanargmax(x))
    assert index == 2
    _, argmax_alone = _counted(lambda: np.argmax(x))
    assert work > argmax_alone == 3
