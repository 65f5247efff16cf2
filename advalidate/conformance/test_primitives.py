"""Per-primitive checks of each selected backend: one test per catalogue primitive and composition.

``pytest --pyargs advalidate.conformance -k primitive --advalidate-backend NAME`` runs only these (seconds);
the options are those of the pytest plugin (:mod:`advalidate.pytest_plugin`).
"""

from __future__ import annotations

import pytest

from advalidate.conformance.checks import checks, run_check, signature


def _option(config, name, default=None):
    try:
        return config.getoption(name)
    except ValueError:  # the advalidate pytest plugin is not loaded
        return default


def pytest_generate_tests(metafunc):
    if "primitive_check" not in metafunc.fixturenames:
        return
    from advalidate.backends.registry import default_registry

    registry = default_registry()
    names = _option(metafunc.config, "advalidate_backend") or list(registry.entries())
    dtype = _option(metafunc.config, "advalidate_dtype", "float64")
    params = []
    for name in names:
        entry = registry.load(name)
        if entry.error is None and dtype in entry.backend.dtypes:
            params += [pytest.param((entry.backend, c), id=f"{name}:{c.id}") for c in checks(entry.backend, [dtype])]
    metafunc.parametrize("primitive_check", params)


@pytest.fixture(scope="session")
def known_behaviours(pytestconfig):
    from advalidate.backends.registry import default_registry
    from advalidate.known import KnownBehaviours

    return KnownBehaviours.load(list(default_registry().entries()), _option(pytestconfig, "advalidate_known_dir"))


def test_primitive(primitive_check, known_behaviours, pytestconfig):
    backend, check = primitive_check
    outcome = run_check(backend, check, seed=_option(pytestconfig, "advalidate_seed", 0))
    if outcome.status == "not-supported":
        pytest.skip(f"not supported: {outcome.detail}")
    if outcome.failed:
        mode = check.id.split("[", 1)[0]  # vjp[float64][sin], jvp[...]: a forward-mode entry matches a jvp check
        entry = known_behaviours.match(backend.name, outcome.kind, signature(check.function), mode=mode)
        if entry is not None:
            pytest.xfail(f"known ({entry.source}): {entry.comment}")
        pytest.fail(f"{outcome.kind}: {outcome.detail}\n\nreproduction:\n{outcome.reproduction}", pytrace=False)
