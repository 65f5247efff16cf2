"""Acceptance (issue 14): a gross rule error planted in ANY single primitive of the reference tape or of the autograd
plug-in is caught by the default campaign (``advalidate run``'s settings: 90 examples, seed 0, float64, regular
points, the default strategy and its coverage phase).

The planted error doubles the primitive's VJP: the reference tape's rules for it return twice their value (the
tape's own mechanism, as in ``tests/mutants.py``); in autograd, the primitive's template is wrapped in an autograd
primitive (``autograd.extend.defvjp``) that passes the value through and doubles its cotangent, so autograd's
pullback for that node is twice its own. Each mutant keeps the real backend's name, so its known behaviours apply
as in a real run. Caught: a finding whose minimal function uses the primitive and whose example the unmodified
backend passes (so the plant, not one of the library's own known behaviours, made it; a plant that shows as a
finding matching a known pattern, e.g. autograd's ``wrong-value *prod*``, is caught all the same: the run reports it).

Slow tier: one campaign per primitive and backend. Each stops at the catch (a campaign draws the same examples up
to it whatever follows, so the default run catches it at the same example); an uncaught one runs the whole budget.
"""

from __future__ import annotations

import dataclasses

import pytest

from advalidate import primitives
from advalidate.backends.numpy_ref import VJPS
from advalidate.campaign import Campaign, Settings

RUN_DEFAULT_EXAMPLES = 90  # `advalidate run` without --max-examples in float64 (advalidate/cli_run.py)
PRIMITIVES = list(primitives.CATALOGUE)


def _doubled(rule):
    if rule is None:
        return None
    return lambda *args, **params: 2 * rule(*args, **params)


def _doubled_all(rule):
    """A rule giving every argument's cotangent at once (atan2's), doubled."""
    return lambda *args, **params: tuple(None if part is None else 2 * part for part in rule(*args, **params))


def numpy_ref_mutant(prim):
    from tests.mutants import Mutant

    rules = VJPS[prim]
    planted = _doubled_all(rules) if callable(rules) else tuple(_doubled(r) for r in rules)
    return Mutant("numpy-ref", rules={prim: planted})


def doubled(x):
    """Identity whose VJP doubles the cotangent (an autograd primitive, defined on first use)."""
    return _doubled_primitive()(x)


_PRIMITIVE = []


def _doubled_primitive():
    if not _PRIMITIVE:
        from autograd.extend import defvjp, primitive

        @primitive
        def identity(x):
            return x

        defvjp(identity, lambda ans, x: lambda g: 2 * g)
        _PRIMITIVE.append(identity)
    return _PRIMITIVE[0]


def autograd_mutant(prim):
    from advalidate_autograd.backend import AutogradBackend
    from advalidate_autograd.dialect import AUTOGRAD

    template = AUTOGRAD.ops[prim]
    ops = dict(AUTOGRAD.ops, **{prim: lambda a, p: f"_planted({template(a, p)})"})
    dialect = dataclasses.replace(
        AUTOGRAD, ops=ops, preamble=AUTOGRAD.preamble + "\nfrom tests.test_coverage_planted import doubled as _planted")
    return type("PlantedAutograd", (AutogradBackend,), {"dialect": dialect, "name": "autograd"})()


class _Caught(KeyboardInterrupt):
    """Ends the campaign at the catch (Campaign.run returns its results on KeyboardInterrupt)."""


def _caught(results, prim, real, verdicts):
    """The findings the plant made: they use ``prim`` and the unmodified backend ``real`` passes their example."""
    from advalidate.check import check_example
    from advalidate.ir import Function
    from advalidate.results import decode_array

    caught = []
    for f in results["findings"]:
        if prim not in f["signature"].split("+"):
            continue
        if f["id"] not in verdicts:
            fn = Function.from_dict(f["function"])
            xs = [decode_array(x, fn.dtype) for x in f["inputs"]]
            vs = [decode_array(v, fn.dtype) for v in f["cotangents"]]
            verdicts[f["id"]] = check_example(fn, xs, vs, [real], measure_work=f["kind"] == "cost-bound").outcomes[0]
        if verdicts[f["id"]].status == "pass":
            caught.append(f)
    return caught


def run_default_campaign(backend, prim, real):
    """The default campaign on ``backend``, stopped at the catch; (results, the findings the plant made)."""
    verdicts = {}

    def stop_when_caught(results):
        if _caught(results, prim, real, verdicts):
            raise _Caught

    campaign = Campaign([backend], Settings(max_examples=RUN_DEFAULT_EXAMPLES, seed=0), checkpoint=stop_when_caught)
    results = campaign.run()
    return results, _caught(results, prim, real, verdicts)


def _assert_caught(run, prim):
    results, found = run
    assert found, (f"planted error in {prim} not caught: {results['summary']['examples']} examples, findings "
                   f"{[(f['kind'], f['signature'], f['known']) for f in results['findings']]}")
    assert any(f["kind"] in ("wrong-value", "nan-inf", "error", "convention") for f in found)


@pytest.mark.slow
@pytest.mark.parametrize("prim", PRIMITIVES)
def test_planted_rule_error_in_reference_tape_is_caught(prim):
    from advalidate.backends.numpy_ref import NumpyReference

    _assert_caught(run_default_campaign(numpy_ref_mutant(prim), prim, NumpyReference()), prim)


@pytest.mark.slow
@pytest.mark.parametrize("prim", PRIMITIVES)
def test_planted_rule_error_in_autograd_is_caught(prim):
    pytest.importorskip("autograd")
    from advalidate_autograd.backend import AutogradBackend

    _assert_caught(run_default_campaign(autograd_mutant(prim), prim, AutogradBackend()), prim)


def test_planted_mutants_are_wrong_where_the_primitive_is():
    """The mutants used above really double that primitive's VJP and nothing else (fast: one example each)."""
    import numpy as np

    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.ir import Function, Node

    pytest.importorskip("autograd")
    fn = Function(((3,),), (Node.make("arctan", "x0"), Node.make("sin", "v0")), ("v1",), "float64")
    x, v = [np.array([0.3, -0.7, 1.1])], [np.array([1.0, 2.0, -1.0])]
    right = NumpyReference().vjp(fn, x, v).grads[0]
    for make in (numpy_ref_mutant, autograd_mutant):
        assert np.allclose(make("arctan").vjp(fn, x, v).grads[0], 2 * right)
        assert np.allclose(make("exp").vjp(fn, x, v).grads[0], right)
