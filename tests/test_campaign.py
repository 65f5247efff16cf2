"""The campaign engine: findings are found, shrunk, deduplicated, reproducible, replayable and valid JSON."""

import json

import numpy as np
import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.check import check_example
from advalidate.replay import replay
from advalidate.results import load, validate, write_json

from hypothesis import strategies as st

from advalidate import Builder

from .helpers import Example, Mutant, Raising, bad_tanh, chains

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


def run(backends, n=60, seed=1, **kw):
    return Campaign(backends, Settings(max_examples=n, seed=seed, **kw), strategy=chains()).run()


def test_a_wrong_derivative_is_found_and_shrunk_to_one_node():
    results = run([NumpyReference(), bad_tanh()])
    (finding,) = results["findings"]
    assert (finding["backend"], finding["kind"], finding["signature"]) == ("bad-tanh", "wrong-value", "tanh")
    assert finding["function"]["inputs"] == [[1]] and len(finding["function"]["nodes"]) == 1
    assert "np.tanh(x0)" in finding["source"] and finding["replay"].endswith("--id F001")
    assert results["summary"]["unexpected"] == 1


def test_a_correct_backend_has_no_finding_and_the_stats_add_up():
    results = run([NumpyReference()], n=40)
    assert results["findings"] == [] and results["summary"]["examples"] == 40
    assert results["stats"]["backends"]["numpy-ref"]["pass"] == 40
    assert all(r <= 1 for r in results["stats"]["error_ratios"]["numpy-ref"])


def test_same_seed_same_findings():
    a, b = (run([bad_tanh(), Mutant("neg-sin", sin=(lambda g, ans, x: -g * np.cos(x),))], seed=7) for _ in range(2))
    key = [(f["backend"], f["kind"], f["signature"], f["inputs"]) for f in a["findings"]]
    assert key == [(f["backend"], f["kind"], f["signature"], f["inputs"]) for f in b["findings"]]
    assert len(key) == 2


def test_results_validate_against_the_schema(tmp_path):
    results = run([NumpyReference(), bad_tanh()])
    write_json(tmp_path / "results.json", results)
    validate(load(tmp_path / "results.json"))
    with pytest.raises(ValueError, match="schema"):
        (tmp_path / "other.json").write_text(json.dumps({"schema": "x"}))
        load(tmp_path / "other.json")


class NanSin(Mutant):
    def __init__(self):
        super().__init__("nan-sin", sin=(lambda g, ans, x: g * np.where(x > 0.25, np.nan, np.cos(x)),))


class Quadratic(NumpyReference):
    """Right values, but builds the whole Jacobian (m backward passes) for one VJP."""

    name = "quadratic"

    def work(self, fn, inputs, cotangents):
        work = super().work(fn, inputs, cotangents)
        m = int(sum(np.prod(s) for s in fn.output_shapes))
        return type(work)(work.forward, work.forward + m * (work.vjp - work.forward) + m * work.forward, 1)


@pytest.mark.parametrize("backend, kind", [
    (bad_tanh(), "wrong-value"), (Raising("raises", "exp", "no exp today"), "error"), (NanSin(), "nan-inf"),
    (Quadratic(), "cost-bound"),
])
def test_replay_reproduces_every_kind(tmp_path, backend, kind):
    results = run([backend], n=80)
    finding = next(f for f in results["findings"] if f["kind"] == kind)
    write_json(tmp_path / "results.json", results)
    outcome = replay(tmp_path / "results.json", finding["id"], {backend.name: backend})
    assert outcome.reproduced and outcome.kind == kind
    fixed = replay(tmp_path / "results.json", finding["id"], {backend.name: NumpyReference()})
    assert not fixed.reproduced


def test_replay_names_a_missing_finding(tmp_path):
    write_json(tmp_path / "results.json", run([NumpyReference()], n=5))
    with pytest.raises(KeyError, match="no finding 'F009'"):
        replay(tmp_path / "results.json", "F009", {})


def test_exact_cancellation_is_not_a_finding():
    from advalidate import Builder

    b = Builder()
    x = b.input(3)
    y = b.tanh(b.exp(x))
    fn = b.build(b.sub(y, y))
    result = check_example(fn, [np.array([0.1, -0.3, 0.7])], [np.ones(3)], [NumpyReference()])
    assert [o.status for o in result.outcomes] == ["pass"]


def test_a_backend_returning_the_wrong_shape_or_mutating_its_inputs_is_an_error():
    from advalidate import Builder
    from advalidate.backends.contract import VJP

    class WrongShape(NumpyReference):
        name = "wrong-shape"

        def vjp(self, fn, inputs, cotangents):
            out = super().vjp(fn, inputs, cotangents)
            return VJP(out.outputs, [g.reshape(-1)[:1] for g in out.grads])

    class Mutates(NumpyReference):
        name = "mutates"

        def vjp(self, fn, inputs, cotangents):
            inputs[0] += 1
            return super().vjp(fn, inputs, cotangents)

    b = Builder()
    fn = b.build(b.sin(b.input(3)))
    result = check_example(fn, [np.array([0.1, 0.2, 0.3])], [np.ones(3)], [WrongShape(), Mutates()])
    assert [(o.kind, o.message) for o in result.outcomes] == [
        ("error", "gradient 0 has shape (1,), input x0 has shape (3,)"), ("error", "the backend mutated its inputs")]


def test_an_interrupted_campaign_resumes_without_redoing_work():
    def stop_after(n):
        def progress(done, total, findings):
            if done == n:
                raise KeyboardInterrupt

        return progress

    settings = Settings(max_examples=50, seed=2)
    first = Campaign([NumpyReference(), bad_tanh()], settings, strategy=chains(), progress=stop_after(20)).run()
    assert not first["complete"] and first["summary"]["examples"] == 20
    validate(json.loads(json.dumps(first)))

    rest = Campaign([NumpyReference(), bad_tanh()], settings, strategy=chains()).resume(first)
    second = rest.run()
    assert second["complete"] and second["summary"]["examples"] == 50
    assert second["stats"]["backends"]["numpy-ref"]["pass"] == 50  # 20 before, 30 now: nothing redone
    assert [f["signature"] for f in second["findings"]] == ["tanh"]
    with pytest.raises(ValueError, match="nothing to resume"):
        Campaign([NumpyReference()], settings, strategy=chains()).resume(second)
    with pytest.raises(ValueError, match="the settings differ \\(max_examples\\)"):
        Campaign([NumpyReference(), bad_tanh()], Settings(max_examples=60, seed=2)).resume(first)


@st.composite
def sigmoid_tails(draw):
    """sigmoid deep in its float64 tail, where y (1 - y) with y rounded to 1 loses every digit."""
    b = Builder()
    fn = b.build(b.sigmoid(b.input(1)))
    return Example(fn, [np.array([draw(st.floats(38.0, 40.0))])], [np.array([1.0])])


@st.composite
def ties(draw):
    """maximum(x, y) at x = y: a tie, where the derivative is a convention (maximum(x, x) is x itself, smooth along
    x: a doubled VJP there is a wrong value)."""
    b = Builder()
    fn = b.build(b.maximum(b.input(1), b.input(1)))
    x = np.array([draw(st.floats(0.5, 2.0))])
    return Example(fn, [x, x.copy()], [np.array([1.0])])


class DoublesTies(NumpyReference):
    """At a tie of maximum, gives the whole cotangent to both sides (2·g in all: neither side, not between)."""

    name = "doubles-ties"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return type(out)(out.outputs, [g * 2 for g in out.grads])


@pytest.mark.parametrize("backend, strategy, kind", [
    (NumpyReference(), sigmoid_tails(), "precision-loss"), (DoublesTies(), ties(), "convention"),
])
def test_replay_reproduces_precision_loss_and_convention(tmp_path, backend, strategy, kind):
    # reverse mode's kinds (the tape's JVP rules lose the same digits in the sigmoid tails: a finding of their own)
    results = Campaign([backend], Settings(max_examples=10, seed=0, modes=("vjp",)), strategy=strategy).run()
    (finding,) = results["findings"]
    assert finding["kind"] == kind
    write_json(tmp_path / "results.json", results)
    outcome = replay(tmp_path / "results.json", finding["id"], {backend.name: backend})
    assert outcome.reproduced and outcome.kind == kind


DRAWS = """
import importlib, json, sys
from hypothesis import HealthCheck, given, seed, settings
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.strategies import examples


class Recorder(NumpyReference):
    name = "recorder"

    def __init__(self):
        self.seen = []

    def vjp(self, fn, inputs, cotangents):
        self.seen.append([fn.hash, [x.tobytes().hex() for x in inputs]])
        return super().vjp(fn, inputs, cotangents)


def campaign():
    recorder = Recorder()
    Campaign([recorder], Settings(max_examples=40, seed=0, measure_work=False)).run()
    return recorder.seen


def plain_hypothesis():
    drawn = []

    @settings(max_examples=40, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @seed(0)
    @given(examples())
    def draw(example):
        drawn.append([example.function.hash, [x.tobytes().hex() for x in example.inputs]])

    draw()
    return drawn


before, plain_before = campaign(), plain_hypothesis()
sys.path.insert(0, sys.argv[1])
importlib.import_module("constants_galore")
print(json.dumps({"campaign": campaign() == before, "plain": plain_hypothesis() == plain_before}))
"""


def test_a_seed_draws_the_same_examples_whatever_local_modules_were_imported(tmp_path):
    import subprocess
    import sys

    # a local module (outside site-packages, not a test file) full of constants Hypothesis may draw; imported in a
    # process of its own, since Hypothesis keeps what it has read for the rest of the process
    (tmp_path / "constants_galore.py").write_text(
        "VALUES = [" + ", ".join(f"{k / 7:.17g}, {k}, {-k / 3:.17g}" for k in range(1, 400)) + "]\n")
    done = subprocess.run([sys.executable, "-c", DRAWS, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    same = json.loads(done.stdout.splitlines()[-1])
    # the control: Hypothesis on its own draws other examples from the same seed once the module is imported...
    assert not same["plain"], "Hypothesis no longer draws local constants: is advalidate/draws.py still needed?"
    assert same["campaign"]  # ...the campaign does not


def test_every_backend_failing_the_minimal_example_gets_its_finding():
    """Shrinking follows one backend; another with the same bug used to get no finding unless a later draw
    failed it again (a special campaign reported jax's atan2 overflow, and torch only in 'agrees with'). One
    example in the budget: the second backend's finding can only come from the first one's minimal example."""
    b = Builder()
    example = Example(b.build(b.tanh(b.input(2))), [np.array([0.5, -0.25])], [np.array([1.0, 2.0])])
    twin = Mutant("bad-tanh-2", tanh=(lambda g, ans, x: g * (1 - ans),))
    results = Campaign([NumpyReference(), bad_tanh(), twin], Settings(max_examples=1, seed=1),
                       strategy=st.just(example)).run()
    found = [(f["backend"], f["kind"], f["signature"]) for f in results["findings"]]
    assert found == [("bad-tanh", "wrong-value", "tanh"), ("bad-tanh-2", "wrong-value", "tanh")]
    first, second = results["findings"]
    assert first["inputs"] == second["inputs"] and second["agrees_with"] == [first["backend"]]


def test_special_share_is_a_setting_of_the_run(tmp_path):
    """The run's share of special points: the CLI's default mixes, --special is every example, --no-special none;
    a share outside [0, 1] is a usage error naming it."""
    import argparse

    from advalidate.cli_run import DEFAULT_SPECIAL_SHARE, add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert parser.parse_args(["run"]).special_share == DEFAULT_SPECIAL_SHARE and 0 < DEFAULT_SPECIAL_SHARE < 1
    assert parser.parse_args(["run", "--special"]).special_share == 1.0
    assert parser.parse_args(["run", "--no-special"]).special_share == 0.0
    assert parser.parse_args(["run", "--special-share", "0.5"]).special_share == 0.5
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--special-share", "1.5"])
    assert Settings(special=True).special == 1.0
    with pytest.raises(ValueError, match="must be in"):
        Settings(special=2)


@pytest.mark.parametrize("every", [None, 3600.0])
def test_checkpoints_come_after_each_finding_or_at_most_every_so_many_seconds(every):
    """None: the results are handed to the checkpoint after each finding (a caller may stop there); a number of
    seconds: the first finding's at once, then no more often than that (what `advalidate run` does: its results.json
    is 2 MB by the end)."""
    from .planted_backends import WrongValue, NanInf

    calls = []
    campaign = Campaign([WrongValue(), NanInf()], Settings(max_examples=20, seed=1), strategy=chains(),
                        checkpoint=lambda results: calls.append(len(results["findings"])), checkpoint_every=every)
    results = campaign.run()
    assert len(results["findings"]) >= 2
    if every is None:
        # each finding's (or group's: backends failing the same minimal example) checkpoint, the last one complete
        assert calls and calls == sorted(calls) and calls[-1] == len(results["findings"]) and calls[0] >= 1
    else:  # the first finding at once (a partial results.json as soon as there is something to keep), then no
        # more within the hour: the final results are the caller's to write
        assert calls == [calls[0]] and calls[0] >= 1
