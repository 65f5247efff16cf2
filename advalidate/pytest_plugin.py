"""The pytest plugin (entry point ``pytest11``): options to pick backends and budgets for the conformance suite.

    pytest --pyargs advalidate.conformance --advalidate-backend jax --advalidate-max-examples 200

With ``--advalidate-out DIR`` the campaign's results.json and index.html are written there: the same
engine and settings as ``advalidate run``, so the same page. ``--advalidate-extension MODULE`` imports a module
that registers users' ops (:mod:`advalidate.extend`), checked beside the catalogue.
"""

from __future__ import annotations

from pathlib import Path


from advalidate.backends.contract import MODES  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("advalidate", "advalidate conformance suite")
    group.addoption("--advalidate-backend", action="append", default=None, metavar="NAME",
                    help="backend(s) to check (repeatable; default: every installed backend)")
    group.addoption("--advalidate-extension", action="append", default=None, metavar="MODULE",
                    help="import MODULE, which registers ops of your own (advalidate.extend), and check them beside "
                         "the catalogue (repeatable)")
    group.addoption("--advalidate-max-examples", type=int, default=60, metavar="N", help="examples per campaign")
    group.addoption("--advalidate-seed", type=int, default=0, metavar="N")
    group.addoption("--advalidate-dtype", choices=["float64", "float32"], default="float64")
    group.addoption("--advalidate-special", dest="advalidate_special_share", action="store_const", const=1.0, default=0.0,
                    help="draw every example at special points (--advalidate-special-share 1)")
    group.addoption("--advalidate-special-share", dest="advalidate_special_share", type=float, default=0.0, metavar="S",
                    help="the share of examples drawn at special points, in [0, 1] (default 0)")
    group.addoption("--advalidate-out", default=None, metavar="DIR", help="write results.json and index.html here")
    group.addoption("--advalidate-known-dir", default=None, metavar="DIR", help="known-behaviour files")
    group.addoption("--advalidate-shards", type=int, default=1, metavar="N",
                    help="split the campaign into N shard tests (advalidate.conformance.test_shards), for pytest -n N")
    group.addoption("--advalidate-database", default=None, metavar="DIR|redis://...",
                    help="shared Hypothesis example database")
    group.addoption("--advalidate-no-cost", action="store_true", default=False, help="skip work counting")
    group.addoption("--advalidate-no-known-replay", action="store_true", default=False,
                    help="do not replay the known behaviours' examples first")
    group.addoption("--advalidate-primitive", action="append", default=None, metavar="NAME|FAMILY|PATTERN",
                    help="focus the campaign on these primitives (repeatable; advalidate.selection)")
    group.addoption("--advalidate-no-probes", action="store_true", default=False,
                    help="skip the probes of every primitive (advalidate.coverage)")
    group.addoption("--advalidate-no-merge", action="store_true", default=False,
                    help="leave the shards' results unmerged (the caller merges them, as advalidate run does)")
    group.addoption("--advalidate-isolate", choices=["plugins", "all", "none"], default="plugins",
                    help="run backends in worker processes so that a hang or a crash is a finding (default: plug-ins)")
    group.addoption("--advalidate-timeout", type=float, default=120.0, metavar="S",
                    help="seconds an isolated backend may take for one VJP before it counts as hung")
    group.addoption("--advalidate-mode", action="append", default=None, choices=list(MODES),
                    help="a mode of AD to check (repeatable; default: every mode each backend provides)")
    group.addoption("--advalidate-max-side", type=int, default=None, metavar="N",
                    help="the largest side drawn (default 4); past 4, identity mode (advalidate run --max-side)")


def configured_campaign(config, shard: int = 0, shards: int = 1, checkpoint=None):
    """The campaign the ``--advalidate-*`` options describe (shard ``shard`` of ``shards``: its share of the
    budget, its own seed), as ``advalidate run`` builds it: same backends, isolation, settings."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.backends.registry import load_backends
    from advalidate.selection import resolve
    from advalidate.shards import SharedBudget

    opt = config.getoption
    total = opt("advalidate_max_examples")
    backends, errors = load_backends(opt("advalidate_backend"), opt("advalidate_isolate"), opt("advalidate_timeout"))
    dtype = opt("advalidate_dtype")
    out = opt("advalidate_out") or "reports"
    settings = Settings(max_examples=total // shards + (shard < total % shards),
                        seed=opt("advalidate_seed") + 1_000_003 * shard, dtype=dtype,
                        special=opt("advalidate_special_share"), known_dir=opt("advalidate_known_dir"),
                        out=out, database=opt("advalidate_database"),
                        measure_work=not opt("advalidate_no_cost"), replay_known=shard == 0 and not opt("advalidate_no_known_replay"),
                        probes=not opt("advalidate_no_probes"), probe_share=(shard, shards),
                        primitives=resolve(opt("advalidate_primitive")), modes=tuple(opt("advalidate_mode") or MODES),
                        max_side=opt("advalidate_max_side"))
    # shards share one budget (None: the campaign's own, its static share of the budget)
    budget = SharedBudget(Path(out) / "shards", total, shard) if shards > 1 and SharedBudget.available else None
    return Campaign([b for b in backends if dtype in b.dtypes], settings, load_errors=errors, checkpoint=checkpoint,
                    budget=budget)


def pytest_configure(config):
    """Import the extension modules (``--advalidate-extension``, and those a parent ``advalidate run`` named in
    ``$ADVALIDATE_EXTENSIONS``) before collection, so that their ops are in the catalogue when tests are made."""
    import os

    from advalidate.extend import ENV

    modules = list(config.getoption("advalidate_extension", None) or [])
    modules += [m for m in os.environ.get(ENV, "").split(os.pathsep) if m and m not in modules]
    if modules:
        import pytest

        from advalidate.errors import AdvalidateError
        from advalidate.extend import load

        try:
            load(modules)
        except AdvalidateError as e:
            raise pytest.UsageError(f"--advalidate-extension: {e}") from None


def _controller(config) -> bool:
    return not hasattr(config, "workerinput")  # an xdist worker has workerinput; the controller and plain runs don't


def pytest_sessionstart(session):
    """On the controller, before any worker starts: the shards of an earlier run in the same folder go (their
    budget counter and results would mix with this run's)."""
    config = session.config
    if _controller(config) and config.getoption("advalidate_shards", 1) > 1:
        import shutil

        shutil.rmtree(Path(config.getoption("advalidate_out") or "reports") / "shards", ignore_errors=True)


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
    if out is None or not _controller(config) or config.getoption("advalidate_no_merge"):
        return
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
