"""Checking a user's op from the user's own tests: one call per op (run ``pytest test_log1mexp.py`` here)."""

import log1mexp_ops  # noqa: F401  (registers log1mexp)
from advalidate.extend import check_op


def test_log1mexp():
    check_op("log1mexp", backends=["jax", "torch"], max_examples=15)
