"""The planted mistake of ``log1mexp_planted.py``, caught: this test FAILS, printing the shrunk counterexample."""

import log1mexp_planted  # noqa: F401  (registers log1mexp_planted)
from advalidate.extend import check_op


def test_log1mexp_planted():
    check_op("log1mexp_planted", backends=["jax", "torch"], max_examples=15)
