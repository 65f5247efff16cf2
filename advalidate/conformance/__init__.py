"""The conformance suite for backend authors.

``from advalidate.testing import run_conformance; run_conformance(MyBackend)``, or as pytest tests, one per
check: ``pytest --pyargs advalidate.conformance --advalidate-backend NAME``. The checks are in
:mod:`advalidate.conformance.checks`; known behaviour of the built-in backends in ``known/<name>.txt``.
"""
