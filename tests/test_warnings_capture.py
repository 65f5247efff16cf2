"""Warnings: a backend's are kept per call as evidence (in-process, in threads, in a worker process), advalidate's
own arithmetic raises none on inf and NaN, and a special campaign prints none raw."""

import re
import threading
import warnings

import numpy as np
import pytest

from advalidate import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.check import check_example, run_vjp
from advalidate.isolation import Isolated
from advalidate.warnings_capture import MAX_KEPT, Caught, capture, collecting, deliver

from .cli_support import environment, results, run as cli_run
from .helpers import chains


class Warns(NumpyReference):
    """The reference tape, warning twice in its VJP: explicitly, and by a numpy overflow."""

    name = "warns"

    def vjp(self, fn, inputs, cotangents):
        warnings.warn("planted: the rule divides by a tiny number", RuntimeWarning)
        np.exp(np.array([1000.0]))  # overflow encountered in exp
        return super().vjp(fn, inputs, cotangents)


class WarnsWrong(Warns):
    """As :class:`Warns`, and its VJP is twice the true one: every example is a finding."""

    name = "warns-wrong"

    def vjp(self, fn, inputs, cotangents):
        result = super().vjp(fn, inputs, cotangents)
        return type(result)(result.outputs, [2 * g for g in result.grads])


def _fn(prim="exp", n=3):
    b = Builder()
    return b.build(b.apply(prim, b.input(n)))


X, V = [np.array([0.1, 0.2, 0.3])], [np.ones(3)]


def _messages(outcome):
    return {(c.category, c.message.split(":")[0]) for c in outcome.warnings}


PLANTED = {("RuntimeWarning", "planted"), ("RuntimeWarning", "overflow encountered in exp")}


def test_the_outcome_carries_what_the_backend_warned_each_time():
    # twice: Python's default action would show the second example nothing (once per code location)
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing reaches the process's warnings machinery
            result = check_example(_fn(), X, V, [Warns(), NumpyReference()])
        warns, ref = result.outcomes
        assert _messages(warns) == PLANTED
        assert all(c.count == 1 and c.where.startswith("tests/test_warnings_capture.py:") for c in warns.warnings)
        assert ref.warnings == []


def test_a_warning_is_evidence_even_under_an_error_filter_or_numpy_raise():
    # a library's warning is not the backend raising: the VJP is still checked (not an error finding)
    old = np.seterr(all="raise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (outcome,) = check_example(_fn(), X, V, [Warns()]).outcomes
    finally:
        np.seterr(**old)
    assert outcome.status == "pass" and _messages(outcome) == PLANTED


class WarnsHostile(WarnsWrong):
    name = "warns-hostile"

    def vjp(self, fn, inputs, cotangents):
        warnings.warn("<script>alert(1)</script>", UserWarning)
        return super().vjp(fn, inputs, cotangents)


def test_a_finding_carries_the_warnings_to_its_record_card_and_replay(tmp_path, monkeypatch, capsys):
    from advalidate import cli
    from advalidate.backends import registry
    from advalidate.campaign import Campaign, Settings
    from advalidate.report import render_report
    from advalidate.results import validate, write_json

    settings = Settings(max_examples=3, seed=0, out=str(tmp_path), measure_work=False)
    data = Campaign([WarnsHostile()], settings, strategy=chains(names=("sin",), max_len=1)).run()
    validate(data)
    (finding,) = data["findings"]
    assert {(w["category"], w["message"].split(":")[0]) for w in finding["warnings"]} == \
        PLANTED | {("UserWarning", "<script>alert(1)</script>")}
    assert all(set(w) == {"category", "message", "where", "count"} for w in finding["warnings"])

    html = render_report(data)
    card = html[html.index('id="F001"'):]
    assert "RuntimeWarning: overflow encountered in exp</code> at <code>tests/test_warnings_capture.py:" in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card and "<script>alert" not in html

    write_json(tmp_path / "results.json", data)
    fresh = registry.Registry(discover_plugins=False)
    fresh.register(WarnsHostile())
    monkeypatch.setattr(registry, "_default", fresh)
    status = cli.main(["replay", str(tmp_path / "results.json"), "--id", "F001", "--isolate", "none"])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    assert "  the backend warned: RuntimeWarning: overflow encountered in exp [tests/test_warnings_capture.py:" in out


def test_run_vjp_merges_and_caps():
    caught = []
    for _ in range(3):
        run_vjp(Warns(), _fn(), X, V, caught)
    assert len(caught) == 2 and all(c.count == 3 for c in caught)

    class Floods(NumpyReference):
        name = "floods"

        def vjp(self, fn, inputs, cotangents):
            for i in range(3 * MAX_KEPT):
                warnings.warn(f"flood {i}", UserWarning)
            return super().vjp(fn, inputs, cotangents)

    caught = []
    run_vjp(Floods(), _fn(), X, V, caught)
    assert [c.message for c in caught] == [f"flood {i}" for i in range(MAX_KEPT)]


def test_a_raising_backend_keeps_what_it_warned_before():
    class WarnsThenRaises(NumpyReference):
        name = "warns-then-raises"

        def vjp(self, fn, inputs, cotangents):
            warnings.warn("about to fail", RuntimeWarning)
            raise ValueError("planted")

    (outcome,) = check_example(_fn(), X, V, [WarnsThenRaises()]).outcomes
    assert outcome.kind == "error" and [c.message for c in outcome.warnings] == ["about to fail"]


def test_what_the_work_count_warns_joins_the_vjps():
    class WorkWarns(Warns):
        name = "work-warns"

        def work(self, fn, inputs, cotangents):
            warnings.warn("counting", RuntimeWarning)
            return super().work(fn, inputs, cotangents)

    (outcome,) = check_example(_fn(), X, V, [WorkWarns()], measure_work=True).outcomes
    assert outcome.work is not None and _messages(outcome) == PLANTED | {("RuntimeWarning", "counting")}


def test_threads_keep_their_own_warnings():
    # each thread's capture gets exactly its own warnings, while the other threads warn at the same time
    barrier = threading.Barrier(4)
    got = {}

    def work(i):
        with capture() as caught:
            barrier.wait()
            for _ in range(50):
                warnings.warn(f"thread {i}", RuntimeWarning)
                np.divide(np.array([1.0]), 0.0)
            barrier.wait()
        got[i] = caught

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, caught in got.items():
        assert {(c.message, c.count) for c in caught} == {(f"thread {i}", 50),
                                                          ("divide by zero encountered in divide", 50)}


def test_the_process_state_is_restored():
    before_filters, before_show = list(warnings.filters), warnings.showwarning
    with collecting():
        with capture():
            warnings.warn("inside", RuntimeWarning)
    assert warnings.filters == before_filters and warnings.showwarning is before_show


def test_uncaptured_warnings_are_collected_and_summarised():
    with collecting() as collected:
        for _ in range(3):
            warnings.warn("stray one", DeprecationWarning)
        warnings.warn("stray two", UserWarning)
        deliver([Caught("RuntimeWarning", "from a worker", "somelib/mod.py:7", 2)])
    lines = collected.summary()
    assert lines[0].startswith("4 warnings from tests/test_warnings_capture.py (2 distinct), first: "
                               "DeprecationWarning: stray one [line ")
    assert lines[1] == "2 warnings from somelib/mod.py, first: RuntimeWarning: from a worker [line 7]"


def test_an_isolated_backend_carries_its_warnings_back():
    backend = Isolated(Warns, timeout=60)
    try:
        for _ in range(2):
            (outcome,) = check_example(_fn(), X, V, [backend]).outcomes
            assert outcome.status == "pass" and _messages(outcome) == PLANTED
    finally:
        backend.close()


class NonFinite(NumpyReference):
    """The reference tape with inf, -inf and NaN written over its VJP's first components."""

    name = "non-finite"

    def vjp(self, fn, inputs, cotangents):
        result = super().vjp(fn, inputs, cotangents)
        grads = [np.array(g, copy=True) for g in result.grads]
        flat = grads[0].reshape(-1)
        flat[:3] = [np.inf, -np.inf, np.nan][:flat.size]
        return type(result)(result.outputs, grads)


def _program(prims, n):
    b = Builder()
    x = b.input(n)
    for prim in prims:
        x = b.apply(prim, x)
    return b.build(x)


@pytest.mark.parametrize("n", [3, 60])  # the oracle's full mode, and its projected mode (past 48 elements)
@pytest.mark.parametrize("prims, x", [
    (["exp"], 700.0), (["tanh"], 20.0), (["log"], 1e-300), (["sinh", "tanh"], 300.0), (["expm1"], 700.0),
    (["sqrt"], 5e-324), (["square", "exp"], 25.0)])
def test_advalidates_own_arithmetic_raises_no_warning_on_inf_and_nan(prims, x, n):
    # the error model, the kink test and the cross-check meet inf and NaN in a backend's VJP, and values near the
    # ends of the range, as a matter of course: none of their arithmetic may warn (an error filter makes it raise)
    fn = _program(prims, n)
    inputs = [np.linspace(x, 2 * x, n)]
    for v in [np.ones(n), np.full(n, 1e300), np.linspace(-1, 1, n)]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):  # numpy's defaults
                result = check_example(fn, inputs, [v], [NumpyReference(), NonFinite(), Warns()])
        assert result.point != "regular" or result.outcomes[1].status == "finding"


RAW = re.compile(r"^\S+:\d+: \w*Warning: ", re.M)  # how Python prints a warning: file:line: Category: message


@pytest.mark.slow  # a special campaign through the console script: 40 s to 90 s on 2 cores
def test_a_special_campaign_prints_no_raw_warning(tmp_path):
    # seed 2: autograd's rules overflow and divide by zero (numpy_vjps.py:126, 127, 175) within 15 examples
    run = cli_run(["run", "--special", "--max-examples", "15", "--backend", "numpy-ref", "--backend", "autograd",
                   "--no-cost", "--seed", "2", "--out", str(tmp_path / "out")], environment(tmp_path), tmp_path)
    assert run.returncode in (0, 1), run.stderr
    assert not RAW.search(run.stderr) and not RAW.search(run.stdout), run.stderr
    data = results(tmp_path / "out" / "results.json")
    assert any(w["where"].startswith("autograd/") for f in data["findings"] for w in f["warnings"]), data["findings"]
