"""The campaign's property as a plain Hypothesis test, for long runs under HypoFuzz:

    hypothesis fuzz -- --pyargs advalidate.conformance.test_fuzz

(or ``pytest --pyargs advalidate.conformance.test_fuzz``). Backends: ``--advalidate-backend NAME`` (repeatable),
else ``ADVALIDATE_BACKEND=jax,torch`` (comma separated), else every installed one; ``ADVALIDATE_DTYPE``, ``ADVALIDATE_SPECIAL=1``,
``ADVALIDATE_ISOLATE=plugins|all|none`` (as ``advalidate run --isolate``: plug-ins in a worker process by default,
so that a crash is a failing example, not the end of the fuzzing process). A known behaviour
(advalidate/known) does not fail it; anything else does, with the minimal example Hypothesis shrinks to.
"""

import os

from hypothesis import HealthCheck, given, settings

from advalidate.strategies import examples

DTYPE = os.environ.get("ADVALIDATE_DTYPE", "float64")
SPECIAL = os.environ.get("ADVALIDATE_SPECIAL", "") not in ("", "0")
_state = {}


def _backends(config):
    if "backends" not in _state:
        from advalidate.backends.registry import load_backends
        from advalidate.known import KnownBehaviours

        names = config.getoption("advalidate_backend", None) or \
            [n for n in os.environ.get("ADVALIDATE_BACKEND", "").split(",") if n] or None
        backends, _ = load_backends(names, os.environ.get("ADVALIDATE_ISOLATE", "plugins"))
        _state["backends"] = [b for b in backends if DTYPE in b.dtypes]
        _state["known"] = KnownBehaviours.load([b.name for b in _state["backends"]])
    return _state["backends"], _state["known"]


# derandomize=False even under CI=true (Hypothesis's CI profile derandomizes, and HypoFuzz refuses such tests)
@settings(deadline=None, derandomize=False, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(examples(dtype=DTYPE, special=SPECIAL))
def test_vjp_fuzz(pytestconfig, example):
    from advalidate.check import check_example, finding_signature

    backends, known = _backends(pytestconfig)
    result = check_example(example.function, example.inputs, example.cotangents, backends)
    assert result.point != "unjudged", result.outcomes[0].message  # advalidate's own failure fails its suite
    live = example.function.pruned()  # as the campaign matches: dead nodes are not part of a finding
    unexpected = [o for o in result.outcomes
                  if o.status == "finding" and known.match(o.backend, o.kind, finding_signature(o, live)) is None]
    assert not unexpected, "; ".join(f"{o.backend}: {o.kind}: {o.message.splitlines()[0]}" for o in unexpected)
