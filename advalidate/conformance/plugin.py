"""The pytest plug-in of the conformance suite (entry point ``pytest11``): its command-line options only.

It imports nothing heavy, since pytest loads it in every session of an environment where advalidate is
installed. The tests themselves are collected only with ``pytest --pyargs advalidate.conformance``.
"""

from __future__ import annotations

import os

__all__ = ["add_options", "pytest_addoption"]


def add_options(parser):
    group = parser.getgroup("advalidate", "advalidate conformance suite")
    group.addoption("--advalidate-backend", default=os.environ.get("ADVALIDATE_BACKEND"), metavar="NAME",
                    help="the registered backend to check (default: $ADVALIDATE_BACKEND)")
    group.addoption("--advalidate-dtype", action="append", choices=["float64", "float32"],
                    help="check only this dtype (repeatable; default: every dtype the backend runs)")
    group.addoption("--advalidate-points", type=int, default=3, help="random points per check (default 3)")
    group.addoption("--advalidate-seed", type=int, default=0, help="seed of the points (default 0)")
    group.addoption("--advalidate-known", default=None, metavar="FILE",
                    help="known-behaviour file (default: the backend's own, or advalidate's for a built-in)")


def pytest_addoption(parser):
    add_options(parser)
