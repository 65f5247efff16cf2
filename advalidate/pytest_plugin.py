"""The pytest plugin (entry point ``pytest11``): options to pick backends and budgets for the conformance suite.

    pytest --pyargs advalidate.conformance --advalidate-backend jax --advalidate-max-examples 200

With ``--advalidate-out DIR`` the campaign's results.json and index.html are written there: the same
engine and settings as ``advalidate run``, so the same page.
"""

from __future__ import annotations


def pytest_addoption(parser):
    group = parser.getgroup("advalidate", "advalidate conformance suite")
    group.addoption("--advalidate-backend", action="append", default=None, metavar="NAME",
                    help="backend(s) to check (repeatable; default: every installed backend)")
    group.addoption("--advalidate-max-examples", type=int, default=60, metavar="N", help="examples per campaign")
    group.addoption("--advalidate-seed", type=int, default=0, metavar="N")
    group.addoption("--advalidate-dtype", choices=["float64", "float32"], default="float64")
    group.addoption("--advalidate-special", action="store_true", default=False, help="draw special points")
    group.addoption("--advalidate-out", default=None, metavar="DIR", help="write results.json and index.html here")
    group.addoption("--advalidate-known-dir", default=None, metavar="DIR", help="known-behaviour files")
    group.addoption("--advalidate-shards", type=int, default=1, metavar="N",
                    help="split the campaign into N shard tests (advalidate.conformance.test_shards), for pytest -n N")
    group.addoption("--advalidate-database", default=None, metavar="DIR|redis://...",
                    help="shared Hypothesis example database")
    group.addoption("--advalidate-no-cost", action="store_true", default=False, help="skip work counting")


def pytest_generate_tests(metafunc):
    if "advalidate_shard" in metafunc.fixturenames:
        metafunc.parametrize("advalidate_shard", range(max(metafunc.config.getoption("advalidate_shards"), 1)))
    if "advalidate_backend_name" in metafunc.fixturenames:
        names = metafunc.config.getoption("advalidate_backend")
        if not names:
            from advalidate.backends.registry import default_registry

            names = list(default_registry().entries())
        metafunc.parametrize("advalidate_backend_name", names)


def pytest_sessionfinish(session, exitstatus):
    """On the controller (not an xdist worker): merge the shards' results into results.json and the report."""
    config = session.config
    out = config.getoption("advalidate_out", None)
    if out is None or hasattr(config, "workerinput"):
        return
    from pathlib import Path

    shards = sorted(Path(out).glob("shards/shard-*.json"))
    if not shards:
        return
    from advalidate.merge import merge_results
    from advalidate.report import write_report
    from advalidate.results import load, write_json

    parts = [load(p) for p in shards]
    results = merge_results(parts)
    write_json(Path(out) / "results.json", results)
    write_report(results, Path(out) / "index.html")
