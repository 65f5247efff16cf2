"""The shipped conformance suite: ``pytest --pyargs advalidate.conformance --advalidate-backend NAME``."""
