"""A campaign's examples depend on its seed only, not on what the process happened to import.

Hypothesis (6.131+, HypothesisProvider) draws, now and then, constants it reads from the source of the *local*
modules imported so far (modules outside site-packages and the standard library, test files excepted). That
helps a user's own tests; for a campaign it means that the same seed draws other examples once another local
module has been imported: an editable install of advalidate, the user's own package, or whichever modules
earlier tests of the same pytest worker imported. Measured: in an editable install, importing
``advalidate.pytest_plugin`` changed the first 50 examples of seed 0, and in two orders of the test suite three
of the 12 planted bugs (a different one or two in each) went uncaught at the run defaults; all are caught in any
order with the pool emptied.

While a campaign's Hypothesis run executes, :func:`seed_only_draws` gives Hypothesis an empty pool of local
constants (its built-in constants, the same everywhere, stay). This reaches into Hypothesis's internals, so it
is done defensively: with a Hypothesis that has no such pool it does nothing, and
``tests/test_campaign.py`` fails if the campaign's draws ever depend on the imported modules again.
"""

from __future__ import annotations

import contextlib

__all__ = ["seed_only_draws"]


@contextlib.contextmanager
def seed_only_draws():
    try:
        from hypothesis.internal.conjecture import providers

        original, cache, empty = providers._get_local_constants, providers.CONSTANTS_CACHE, providers.Constants()
        clear = cache.cache.clear
    except (ImportError, AttributeError):  # another Hypothesis: nothing to neutralise
        yield
        return
    # the cache holds the constants each kind of draw may take, computed from the pool: emptied on the way in
    # (it may hold local constants) and out (it holds none, and Hypothesis refills it only when the pool grows)
    clear()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        clear()
