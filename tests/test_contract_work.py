"""``work`` is optional in the contract: a backend without it has its cost "not measured", in results.json and in the
report, never a made-up number; with it, the work is counted on the code whose values were checked."""

from __future__ import annotations

from advalidate.backends.contract import work_modes_of
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.backends.registry import validate


class Uncounted(NumpyReference):
    """The reference tape with no work counting in any mode."""

    name = "uncounted"
    work = jvp_work = hvp_work = None


class ReverseCounted(NumpyReference):
    name = "reverse-counted"
    jvp_work = hvp_work = None


def test_a_backend_without_work_is_valid_and_counts_no_mode():
    backend = validate(Uncounted)
    assert work_modes_of(backend) == () and work_modes_of(validate(ReverseCounted)) == ("vjp",)
    assert work_modes_of(NumpyReference()) == ("vjp", "jvp", "hvp")


def test_its_cost_is_not_measured_in_the_results_and_the_report(tmp_path):
    from advalidate.campaign import Campaign, Settings
    from advalidate.report import matrix, write_report
    from advalidate.results import validate as validate_results

    results = Campaign([Uncounted(), ReverseCounted()], Settings(max_examples=6, seed=2, probes=False,
                                                                  replay_known=False)).run()
    validate_results(results)
    records = {b["name"]: b for b in results["backends"]}
    assert records["uncounted"]["work_modes"] == [] and records["reverse-counted"]["work_modes"] == ["vjp"]
    rows = {row["backend"]: row for row in matrix(results)["rows"]}
    statuses = {name: {c["status"] for c in row["cells"] if c["property"] == "cost"} for name, row in rows.items()}
    assert statuses["uncounted"] == statuses["uncounted (jvp)"] == statuses["reverse-counted (hvp)"] == {
        "not-measured"}
    assert "not-measured" not in statuses["reverse-counted"]
    assert "uncounted" not in results["stats"]["cost_ratios"]  # nothing was counted, so no ratio either
    page = write_report(results, tmp_path / "index.html")
    assert "not measured (the backend counts no work)" in page.read_text()


def _sin_example():
    import numpy as np

    from advalidate import builder

    fn = builder.single("sin")
    rng = np.random.default_rng(0)
    xs = [rng.uniform(0.4, 1.6, size=s) for s in fn.inputs]
    vs = [rng.uniform(0.4, 1.6, size=s) for s in fn.output_shapes]
    return fn, xs, vs


def test_work_counted_on_other_code_than_the_checked_one_is_flagged():
    """A planted torch backend whose ``work`` counts a second copy of the pullback (one that differs from the code
    ``vjp`` runs) is an error finding; the real one, whose counter runs the checked code, passes."""
    import pytest

    pytest.importorskip("torch")
    from advalidate.backends.torch_backend import TorchBackend, reverse_mode
    from advalidate.check import check_example
    from advalidate.cost.dispatch import count_work
    from advalidate.oracle import Oracle

    def another_copy(f, xs, vs):  # a hand-kept copy of the pullback that has drifted from the checked one
        return reverse_mode(f, xs, [v * 0.5 for v in vs])

    class CountsACopy(TorchBackend):
        name = "counts-a-copy"

        def work(self, function, inputs, cotangents):
            return count_work(self.compiled(function), list(inputs), list(cotangents), vjp=another_copy)

    fn, xs, vs = _sin_example()
    result = check_example(fn, xs, vs, [TorchBackend(), CountsACopy()], Oracle(), modes=("vjp",))
    real, planted = result.outcomes
    assert real.status == "pass" and real.work is not None, real.message
    assert planted.status == "finding" and planted.kind == "error"
    assert planted.message.startswith("work was counted on other code than the checked one: derivative 0")


def test_the_counters_give_the_values_of_the_code_they_counted():
    import numpy as np
    import pytest

    torch = pytest.importorskip("torch")
    del torch
    from advalidate.backends.torch_backend import TorchBackend

    fn, xs, vs = _sin_example()
    backend = TorchBackend()
    work = backend.work(fn, xs, vs)
    assert np.array_equal(work.values[0], backend.vjp(fn, xs, vs).grads[0])
    jvp_work = backend.jvp_work(fn, xs, xs)
    assert np.array_equal(jvp_work.values[0], backend.jvp(fn, xs, xs).tangents[0])


class WorkRaises(NumpyReference):
    """The reference tape whose work counting raises on every program with a sine."""

    name = "work-raises"

    def work(self, function, inputs, cotangents):
        if "sin" in function.primitives_used:
            raise RuntimeError("the counter broke")
        return super().work(function, inputs, cotangents)


def test_a_failing_work_count_is_an_error_finding_shrunk_like_any_other():
    """An error found while counting work shrinks with work counted (without it, the error vanished while shrinking
    and Hypothesis ended the run with FlakyFailure)."""
    from advalidate.campaign import Campaign, Settings

    results = Campaign([WorkRaises()], Settings(max_examples=30, seed=1, modes=("vjp",), replay_known=False,
                                                 primitives=("sin",))).run()
    errors = [f for f in results["findings"] if f["kind"] == "error"]
    assert errors and all("work counting failed: RuntimeError: the counter broke" in f["message"] for f in errors)
    assert any(f["signature"] == "sin" for f in errors)


class FailsOnce(NumpyReference):
    """The reference tape whose VJP raises the first time it sees a program with a cosine, never again."""

    name = "fails-once"

    def __init__(self):
        self.seen = set()

    def vjp(self, function, inputs, cotangents):
        if "cos" in function.primitives_used and function not in self.seen:
            self.seen.add(function)
            raise RuntimeError("a transient failure")
        return super().vjp(function, inputs, cotangents)


def test_a_flaky_backend_is_a_finding_kept_as_found_not_a_lost_run():
    """A backend that fails once and not when the example is run again made Hypothesis end the run with
    FlakyFailure; the failure is now a finding, kept unshrunk and labelled flaky, and the campaign goes on."""
    from advalidate.campaign import Campaign, Settings

    results = Campaign([FailsOnce()], Settings(max_examples=20, seed=4, modes=("vjp",), replay_known=False,
                                               primitives=("cos",))).run()
    assert results["complete"]
    flaky = [f for f in results["findings"] if "flaky" in f["message"]]
    assert flaky and all(f["kind"] == "error" and "a transient failure" in f["message"] for f in flaky)


class CostlyWithValues(NumpyReference):
    """The reference tape whose work breaks the bound and carries the values its counted run computed."""

    name = "costly-with-values"

    def work(self, function, inputs, cotangents):
        from advalidate.backends.contract import Work

        grads = self.vjp(function, inputs, cotangents).grads
        return Work(forward=1, vjp=1000, forward_passes=1, values=grads)


def test_a_finding_whose_work_carries_values_is_written_to_results_json(tmp_path):
    """Work.values (arrays) is for the counted-code check only: results.json keeps the counts (a campaign with the
    torch backend's cost findings failed to write its checkpoint on them)."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.results import validate as validate_results
    from advalidate.results import write_json

    results = Campaign([CostlyWithValues()], Settings(max_examples=4, seed=0, modes=("vjp",), replay_known=False,
                                                      primitives=("sin",))).run()
    costly = [f for f in results["findings"] if f["kind"] == "cost-bound"]
    assert costly and costly[0]["work"] == {"forward": 1, "vjp": 1000, "forward_passes": 1}
    write_json(tmp_path / "results.json", results)
    validate_results(results)


def test_not_counted_is_a_cost_not_measured_in_process_and_through_a_worker(tmp_path):
    """A backend that raises NotCounted for some programs: those examples' cost is "not measured" (counted per cell,
    the cell says so when nothing there was counted), no error finding; the same through an isolated worker."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.isolation import Isolated
    from advalidate.report import matrix

    from .planted_backends import NotCountedSine

    for backend in (NotCountedSine(), Isolated(NotCountedSine)):
        try:
            results = Campaign([backend], Settings(max_examples=12, seed=1, modes=("vjp",), replay_known=False,
                                                   primitives=("sin",), probes=False)).run()
        finally:
            getattr(backend, "close", lambda: None)()
        assert not [f for f in results["findings"] if f["kind"] == "error"], results["findings"]
        cells = {(c["family"], c["property"]): c["counts"] for c in results["stats"]["cells"]}
        assert cells[("elementwise", "cost")].get("not-measured", 0) >= 1
        row = next(r for r in matrix(results)["rows"] if r["backend"] == "not-counted-sine")
        titles = [c["title"] for c in row["cells"] if c["family"] == "elementwise" and c["property"] == "cost"]
        assert "not-measured" in titles[0]


def test_work_values_cross_the_worker_so_a_plug_ins_count_on_other_code_is_flagged():
    """Plug-ins run isolated by default: the counted run's values come back with the counts, and are compared."""
    from advalidate.check import check_example
    from advalidate.isolation import Isolated
    from advalidate.oracle import Oracle

    from .planted_backends import CountsHalf

    fn, xs, vs = _sin_example()
    backend = Isolated(CountsHalf)
    try:
        (outcome,) = check_example(fn, xs, vs, [backend], Oracle(), modes=("vjp",)).outcomes
    finally:
        backend.close()
    assert outcome.kind == "error" and outcome.message.startswith("work was counted on other code than the checked")
