"""Hypothesis strategies for advalidate: random programs, points and cotangents."""
