"""Options of the conformance suite when the pytest11 plug-in is not installed (e.g. running from a checkout).

Loaded during collection, they cannot be given on the command line then; their defaults still apply, so
``ADVALIDATE_BACKEND=NAME pytest --pyargs advalidate.conformance`` works everywhere.
"""

from advalidate.conformance.plugin import add_options


def pytest_addoption(parser):
    try:
        add_options(parser)
    except ValueError:  # the installed plug-in already added them
        pass
