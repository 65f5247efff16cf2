"""Coverage by construction (advalidate.coverage): the plan of a default run reaches every primitive × backend pair,
alone and in compositions, and its pieces behave as documented. No backend runs here: the plan is drawn only."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from advalidate import primitives
from advalidate.backends.contract import supports
from advalidate.coverage import (Probe, Schedule, allowed_with, covered_primitives, exercised, probes, round_size,
                                 unexercised)
from advalidate.draws import seed_only_draws
from advalidate.strategies import SIMPLICITY, functions

RUN_DEFAULT_EXAMPLES = 90  # `advalidate run` without --max-examples in float64 (advalidate/cli_run.py)


def _fake(name, prims, dtypes=("float64", "float32")):
    return SimpleNamespace(name=name, primitives={p: None for p in prims}, dtypes=dtypes)


@pytest.fixture(scope="module")
def default_backends():
    from advalidate.backends.registry import load_backends

    backends, errors = load_backends(None, "none")
    missing = {name: why for name, why in errors.items() if why.startswith("not installed")}
    if missing:  # tox -e numpy: the default run's backends are not all here
        pytest.skip(f"the default backends are not all installed: {sorted(missing)}")
    assert not errors, errors
    return backends


def _draw_plan(schedule, backends, budget, seed=0):
    """Run the schedule as a campaign does, drawing each run's examples with Hypothesis but checking nothing:
    (backend, primitive) -> Counter(alone=..., composed=...) of the examples each backend would run."""
    tally = {(b.name, p): Counter() for b in backends for p in primitives.CATALOGUE}
    rounds, remaining = 0, budget
    while (step := schedule.next(remaining)) is not None:
        drawn = []

        @hsettings(max_examples=step.examples, deadline=None, database=None, derandomize=False,
                   suppress_health_check=list(HealthCheck), phases=[Phase.generate],
                   verbosity=hypothesis.Verbosity.quiet)
        @hypothesis.seed(seed + rounds)
        @given(step.strategy)
        def prop(example):
            drawn.append(example.function)

        with seed_only_draws():
            prop()
        for fn in drawn:
            schedule.record(fn)
            for b in backends:
                if supports(b, fn) is None:
                    for p in fn.primitives_used:
                        tally[(b.name, p)]["alone" if len(fn.nodes) == 1 else "composed"] += 1
        if step.claims:
            remaining -= len(drawn)
        schedule.done(step, len(drawn))
        rounds += 1
    return tally, budget - remaining


def test_default_plan_exercises_every_primitive_of_every_backend(default_backends):
    schedule = Schedule(default_backends, budget=RUN_DEFAULT_EXAMPLES)
    assert len(schedule.probes) == 2 * len(primitives.CATALOGUE)
    tally, claimed = _draw_plan(schedule, default_backends, RUN_DEFAULT_EXAMPLES)
    assert claimed == RUN_DEFAULT_EXAMPLES  # the compositions spend exactly the budget; probes come on top
    supported = {b.name: set(b.primitives) for b in default_backends}  # a primitive a library lacks is not run
    missing = [(b, p, dict(c)) for (b, p), c in tally.items()
               if p in supported[b] and (c["alone"] < 2 or c["composed"] < 1)]
    assert missing == []


def test_focus_rounds_favour_the_least_exercised():
    s = Schedule([_fake("a", ["sin", "cos", "exp"])], budget=6)
    s.probes_done = len(s.probes)
    assert s.round_size == 2
    assert s.next(6).focus == "exp"  # catalogue order breaks ties: exp comes first in SIMPLICITY
    s.composed.update({"exp": 3, "sin": 1})
    assert s.next(6).focus == "cos"
    step = s.next(1)
    assert step.examples == 1 and step.claims
    s.done(step, 0)  # a round that drew nothing: its focus is given up, the schedule does not loop
    assert s.next(6).focus == "sin"
    assert s.next(0) is None


def test_probes_come_first_and_do_not_claim():
    s = Schedule([_fake("a", ["exp", "tanh"])], budget=10)
    seen = []
    while (step := s.next(10)) is not None and step.probe is not None:
        assert not step.claims and step.examples == 1
        seen.append(step.probe)
        s.done(step, 1)
    assert seen == [Probe("exp", False), Probe("exp", True), Probe("tanh", False), Probe("tanh", True)]


def test_shards_split_the_probes():
    b = [_fake("a", ["exp", "tanh", "sin"])]
    parts = [Schedule(b, share=(k, 2)).probes for k in range(2)]
    assert sorted(parts[0] + parts[1], key=str) == sorted(probes(b), key=str)
    assert not set(parts[0]) & set(parts[1])


def test_covered_primitives_follow_backends_and_dtype():
    a = _fake("a", ["exp", "erf"])
    b = _fake("b", ["tanh", "exp"], dtypes=("float64",))
    assert covered_primitives([a, b]) == ["exp", "tanh", "erf"]
    assert covered_primitives([a, b], "float32") == ["exp", "erf"]
    assert round_size(120, 46) == 2 and round_size(10, 46) == 1


def test_compositions_use_only_what_every_backend_of_the_focus_runs():
    a = _fake("a", ["exp", "tanh", "sin"])
    b = _fake("b", ["exp", "tanh"])
    assert allowed_with("exp", [a, b]) == ["exp", "tanh"]  # b runs exp: no sin around it
    assert allowed_with("sin", [a, b]) == ["exp", "sin", "tanh"]  # only a runs sin


@hsettings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SIMPLICITY), st.data())
def test_focus_starts_a_live_composition_or_is_dropped(prim, data):
    fn = data.draw(functions(focus=prim))
    if fn.nodes[0].prim == prim and len(fn.nodes) > 1:
        assert prim in fn.pruned().primitives_used


def test_focus_is_mostly_applied():
    fns = []

    @hsettings(max_examples=100, deadline=None, database=None)
    @given(functions(focus="arctan"))
    def prop(fn):
        fns.append(fn)

    prop()
    focused = [f for f in fns if f.nodes[0].prim == "arctan" and len(f.nodes) >= 2]
    assert len(focused) >= 0.7 * len(fns)


@pytest.mark.parametrize("knobs, message", [
    (dict(focus="nope"), "focus='nope' is not one of"),
    (dict(focus="exp", primitives=["sin"]), "focus='exp' is not one of"),
    (dict(focus="exp", max_ops=1), "needs max_ops >= 2"),
])
def test_bad_focus_is_named(knobs, message):
    with pytest.raises(InvalidArgument, match=message):
        functions(**knobs)


def _results(rows, backends):
    return {"backends": [dict(name=n, unsupported=u, error=e) for n, u, e in backends], "findings": [],
            "stats": {"primitives": rows}}


def test_exercised_and_unexercised_from_results():
    others = [p for p in primitives.CATALOGUE if p not in ("exp", "sin", "tan")]
    rows = [{"backend": "a", "primitive": "exp", "counts": {"pass": 5, "finding": 1}, "alone": {"pass": 2}},
            {"backend": "a", "primitive": "sin", "counts": {"skipped": 3}}]
    rows += [{"backend": "a", "primitive": p, "counts": {"pass": 1}} for p in others]
    results = _results(rows, [("a", ["tan"], None), ("broken", [], "ImportError")])
    table = exercised(results)
    assert table[("a", "exp")] == {"alone": 2, "composed": 4, "status": "ran"}
    assert table[("a", "sin")]["status"] == "none"  # skipped is not exercised
    assert table[("a", "tan")]["status"] == "unsupported"
    assert not any(b == "broken" for b, _ in table)
    assert unexercised(results) == {"a": ["sin"]}


def test_report_shows_the_coverage_table_and_names_what_was_not_exercised():
    import re

    from advalidate.report import coverage_table, render_report
    from advalidate.results import build
    from advalidate.stats import Stats

    stats = Stats()
    stats.examples = 3
    for p in primitives.CATALOGUE:
        if p != "hypot":
            stats.primitives[("numpy-ref", p)]["pass"] = 3
            stats.alone[("numpy-ref", p)]["pass"] = 2
    stats.primitives[("numpy-ref", "tanh")]["finding"] = 1
    stats.primitives[("lib", "exp")]["pass"] = 1
    backends = [{"name": "numpy-ref", "version": "1", "dtypes": ["float64"], "supported": list(primitives.CATALOGUE),
                 "unsupported": [], "error": None},
                {"name": "lib", "version": "1", "dtypes": ["float64"], "supported": ["exp", "sin"],
                 "unsupported": [p for p in primitives.CATALOGUE if p not in ("exp", "sin")], "error": None}]
    finding = {"id": "F001", "backend": "numpy-ref", "kind": "wrong-value", "signature": "tanh", "known": False,
               "inputs": [], "cotangents": [], "function": {}, "source": "", "replay": ""}
    results = build(settings={"max_examples": 3, "seed": 0, "dtype": "float64", "special": False, "omega": 5,
                              "backends": ["numpy-ref", "lib"]}, backends=backends, stats=stats, findings=[finding],
                    capped=[], known=[], cost=None, progress={"rounds": 1, "resumes": 0, "seen": []},
                    duration_s=1.0, complete=True)
    assert results["summary"]["unexercised"] == {"numpy-ref": ["hypot"], "lib": ["sin"]}
    table = coverage_table(results)
    cells = {(r["primitive"], b): c for r in table["rows"] for b, c in zip(table["backends"], r["cells"])}
    assert (cells[("exp", "numpy-ref")]["alone"], cells[("exp", "numpy-ref")]["composed"]) == (2, 1)
    assert cells[("tanh", "numpy-ref")]["status"] == "finding" and cells[("tanh", "numpy-ref")]["composed"] == 2
    assert cells[("hypot", "numpy-ref")]["status"] == "untested"
    assert cells[("tan", "lib")]["status"] == "unsupported" and cells[("sin", "lib")]["status"] == "untested"
    assert len(table["rows"]) == len(primitives.CATALOGUE)
    html = render_report(results)
    summary = html[html.index('id="summary"'):html.index('id="matrix"')]
    assert "Not exercised by this run" in summary
    assert re.search(r"numpy-ref</span>: hypot", summary) and re.search(r"lib</span>: sin", summary)
    assert 'table class="coverage"' in html and "2 + 1" in html
