"""One test per conformance check of the backend named by ``--advalidate-backend``."""

from __future__ import annotations

import pytest

from advalidate.conformance.checks import checks, run_check
from advalidate.conformance.known import load_known
from advalidate.testing import resolve_backend


def _backend(config):
    name = config.getoption("--advalidate-backend")
    if not name:
        raise pytest.UsageError("the conformance suite needs --advalidate-backend NAME (or ADVALIDATE_BACKEND)")
    return resolve_backend(name)


def pytest_generate_tests(metafunc):
    if "check" not in metafunc.fixturenames:
        return
    config = metafunc.config
    backend = _backend(config)
    known = load_known(backend, config.getoption("--advalidate-known"))
    params = []
    for check in checks(backend, config.getoption("--advalidate-dtype")):
        marks = [pytest.mark.xfail(reason=known[check.id], strict=False)] if check.id in known else []
        params.append(pytest.param(check, id=check.id, marks=marks))
    metafunc.parametrize("check", params)


@pytest.fixture(scope="session")
def backend(pytestconfig):
    return _backend(pytestconfig)


def test_vjp(backend, check, pytestconfig):
    outcome = run_check(backend, check, points=pytestconfig.getoption("--advalidate-points"),
                        seed=pytestconfig.getoption("--advalidate-seed"))
    if outcome.status == "not-supported":
        pytest.skip(f"not supported: {outcome.detail}")
    if outcome.failed:
        pytest.fail(f"{outcome.kind}: {outcome.detail}\n\nreproduction:\n{outcome.reproduction}", pytrace=False)
