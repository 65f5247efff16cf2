"""A focused campaign (``advalidate run --primitive``, advalidate.selection): names, families and patterns resolve to
the catalogue's primitives, only they are probed and every round is focused on one of them; a spec that selects
nothing is a usage error naming it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from advalidate import primitives
from advalidate.coverage import Schedule
from advalidate.selection import SelectionError, resolve

from .cli_support import environment, run


def test_names_families_and_patterns_resolve_simplest_first():
    linalg = {n for n, p in primitives.CATALOGUE.items() if p.family == "linalg"}
    assert len(linalg) > 3
    chosen = resolve(["linalg", "cum*", "exp"])
    assert set(chosen) == linalg | {n for n in primitives.CATALOGUE if n.startswith("cum")} | {"exp"}
    assert len(chosen) == len(set(chosen))
    from advalidate.strategies import simplicity

    order = simplicity()
    assert list(chosen) == sorted(chosen, key=order.index)
    assert resolve(None) is None and resolve([]) is None


@pytest.mark.parametrize("spec, words", [("cholesy", ["'cholesy'", "cholesky", "families:"]),
                                         ("zz*", ["'zz*'", "matches no primitive"])])
def test_a_spec_that_selects_nothing_is_named(spec, words):
    with pytest.raises(SelectionError) as e:
        resolve([spec])
    assert all(w in str(e.value) for w in words)


def test_a_focused_schedule_probes_and_focuses_only_the_selection():
    backend = SimpleNamespace(name="a", primitives={p: None for p in ("exp", "sin", "cos", "tanh")},
                              dtypes=("float64",))
    s = Schedule([backend], budget=8, focus_on=("sin", "tanh"))
    assert {p.primitive for p in s.probes} == {"sin", "tanh"} and len(s.probes) == 4
    s.probes_done = len(s.probes)
    foci = set()
    for _ in range(4):
        step = s.next(8)
        foci.add(step.focus)
        s.composed[step.focus] += 1
    assert foci == {"sin", "tanh"}
    assert Schedule([backend], budget=8, focus_on=("sin",), with_probes=False).probes == []


def test_run_focused_through_the_command(tmp_path):
    env = environment(tmp_path)
    done = run(["run", "--backend", "numpy-ref", "--primitive", "cum*", "--max-examples", "6", "--no-cost",
                "--out", str(tmp_path / "out")], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    selected = results["settings"]["primitives"]
    assert selected and all(p.startswith("cum") for p in selected)
    rows = {r["primitive"]: r for r in results["stats"]["primitives"]}
    assert set(selected) <= set(rows)  # every selected primitive ran
    assert results["summary"]["probes"] == 2 * len(selected)
    # the coverage table lists the selection only, and the report says it was focused
    page = (tmp_path / "out" / "index.html").read_text()
    assert f"focused on {len(selected)} primitives" in page
    from advalidate.report import coverage_table

    assert {row["primitive"] for row in coverage_table(results)["rows"]} == set(selected)
    assert all(set(missing) <= set(selected) for missing in results["summary"]["unexercised"].values())


def test_run_with_an_unknown_primitive_is_a_usage_error(tmp_path):
    done = run(["run", "--primitive", "cholesy", "--out", str(tmp_path / "out")], environment(tmp_path), tmp_path)
    assert done.returncode == 2
    assert "--primitive 'cholesy'" in done.stderr and "cholesky" in done.stderr
    assert not (tmp_path / "out" / "results.json").exists()
