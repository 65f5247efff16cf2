import numpy as np
import pytest

from advalidate.draws import seed_only_draws


@pytest.fixture
def rng():
    return np.random.default_rng(20261129)


@pytest.fixture(scope="session", autouse=True)
def _draws_depend_on_the_seed_only():
    """Every Hypothesis run of the suite draws from an empty pool of local constants (advalidate/draws.py).

    Hypothesis now and then draws a constant read from the local modules imported so far (advalidate's own, in a
    checkout or an editable install), so a derandomized sample depended on which modules the process had
    imported before: the meta test of the special kinds saw 12 or 19 of 400 examples reach 'tie' with or without
    ``import advalidate.bugreport`` first, and under xdist that depends on which tests a worker ran before.
    Session-wide, so that module-scoped samples are drawn inside it too (tests/test_draws_determinism.py)."""
    with seed_only_draws():
        yield
