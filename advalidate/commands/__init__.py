"""The commands of the ``advalidate`` command line, one module each (see :mod:`advalidate.cli`)."""
