"""Scaling: VJP work / f work flat in the output size m; the seed question's slopes ~1 (VJP) and ~2 (Jacobian)."""

import json

import numpy as np

import pytest

from advalidate.cost import examples, scaling
from .cost_counters import BACKENDS, counter


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param, counter(request.param)


@pytest.mark.parametrize("family", list(examples.FAMILIES))
def test_ratio_is_flat_in_the_output_size(backend, family):
    name, cnt = backend
    sweep = scaling.sweep_outputs(cnt, family, sizes=(16, 4096))
    small, large = sweep["ratio"]
    assert max(small, large) / min(small, large) <= 1.5, (name, family, sweep["ratio"])
    assert sweep["forward_passes"] == [1, 1]
    assert sweep["jacobian_ratio"][1] / sweep["jacobian_ratio"][0] > 100  # m VJPs: grows with m
    json.dumps(sweep)


def test_seed_question_slopes(backend):
    name, cnt = backend
    sweep = scaling.seed_sweep(cnt, sizes=(16, 64, 256, 1024, 4096))
    assert abs(sweep["slope_vjp"] - 1) <= 0.1, (name, sweep["slope_vjp"])
    assert abs(sweep["slope_jacobian"] - 2) <= 0.1, (name, sweep["slope_jacobian"])  # computed: N × VJP
    json.dumps(sweep)


def test_campaign_data_is_json_ready():
    from advalidate.backends.numpy_ref import NumpyReference

    data = scaling.campaign_data([NumpyReference()], families=("matrix-chain",))
    text = json.dumps(data)
    assert '"numpy-ref"' in text and data["seed"]["numpy-ref"]["slope_vjp"] > 0.9 and not data["errors"]


def test_unknown_family_is_named():
    with pytest.raises(KeyError, match="unknown family 'nope'"):
        scaling.sweep_outputs(lambda *a: None, "nope")


def test_without_a_measured_jacobian_it_is_derived_and_says_so():
    from advalidate.backends.numpy_ref import NumpyReference

    assert scaling.measured_jacobian(NumpyReference()) is None
    data = scaling.campaign_data([NumpyReference()], families=("matrix-chain",))
    seed, outputs = data["seed"]["numpy-ref"], data["outputs"]["numpy-ref"][0]
    assert seed["jacobian_method"] == "derived: N × work(f + VJP)"
    assert seed["jacobian"] == [n * w for n, w in zip(seed["N"], seed["vjp"])]
    assert outputs["jacobian_method"] == "derived: m × work(f + VJP)"
    assert outputs["jacobian"] == [m * w for m, w in zip(outputs["m"], outputs["vjp"])]


def test_jax_full_jacobian_is_measured_on_the_jaxpr_of_jacrev():
    """One forward and a vmapped pullback: less than N separate VJPs, still quadratic in N."""
    pytest.importorskip("jax")
    from advalidate.backends.jax_backend import JaxBackend

    jacobian = scaling.measured_jacobian(JaxBackend())
    assert jacobian is not None and jacobian[1] == "measured: the jaxpr of jax.jacrev"
    backend = JaxBackend()
    seed = scaling.seed_sweep(backend.work, sizes=(64, 256, 1024), jacobian=jacobian)
    assert seed["jacobian_method"] == jacobian[1]
    derived = [n * w for n, w in zip(seed["N"], seed["vjp"])]
    assert all(f < j < d for f, j, d in zip(seed["vjp"], seed["jacobian"], derived)), (seed["jacobian"], derived)
    assert abs(seed["slope_jacobian"] - 2) <= 0.1, seed["slope_jacobian"]
    data = scaling.campaign_data([backend], families=("matrix-chain",))
    assert data["seed"]["jax"]["jacobian_method"] == data["outputs"]["jax"][0]["jacobian_method"] == jacobian[1]


def test_the_plots_label_each_jacobian_line_measured_or_derived():
    from advalidate import plots

    def sweeps(method):
        seed = {"N": [16, 64], "forward": [10, 40], "vjp": [30, 120], "jacobian": [480, 7680],
                "slope_vjp": 1.0, "slope_jacobian": 2.0}
        outputs = {"family": "matrix-chain", "m": [1, 4], "ratio": [3.0, 3.0], "jacobian_ratio": [3.0, 12.0]}
        if method:
            seed["jacobian_method"] = outputs["jacobian_method"] = method
        return {"omega": 5.0, "seed": {"lib": seed}, "outputs": {"lib": [outputs]}}

    for method, label in [("measured: the jaxpr of jax.jacrev", "full Jacobian, measured"),
                          ("derived: N × work(f + VJP)", "full Jacobian, derived as N·(f + VJP)"),
                          (None, "full Jacobian, derived as N·(f + VJP)")]:  # results.json before the field
        seed_svg, _ = plots.seed_chain(sweeps(method))
        m_svg, _ = plots.cost_vs_m(sweeps(method), None, 5.0)
        assert f"lib: {label} (slope 2.00)" in seed_svg, method
        assert f"lib: {label.replace('N·', 'm·')}" in m_svg, method
        other = "derived" if label.endswith("measured") else "measured"
        assert other not in seed_svg + m_svg, method


def test_a_forward_folded_to_a_constant_has_no_ratio_and_the_results_still_write(tmp_path):
    """A library may fold f to a constant (tinygrad's softmax over an axis of length 1): work(f) = 0 has no ratio
    (None, not inf: JSON has none, and write_json refused it at the end of a whole run), and the plot skips it."""
    from advalidate.backends.contract import Work
    from advalidate.plots import cost_vs_m
    from advalidate.results import write_json

    def folded(fn, xs, vs):  # the first size folds to a constant, the others cost as usual
        m = sum(int(np.prod(s)) for s in fn.output_shapes)
        return Work(forward=0, vjp=0, forward_passes=1) if m == 16 else Work(forward=10 * m, vjp=30 * m,
                                                                                 forward_passes=1)

    sweep = scaling.sweep_outputs(folded, "matrix-chain", sizes=(16, 64))
    assert sweep["ratio"][0] is None and sweep["jacobian_ratio"][0] is None and sweep["ratio"][1] == 3
    write_json(tmp_path / "cost.json", {"outputs": {"lib": [sweep]}})
    assert cost_vs_m({"omega": 5, "outputs": {"lib": [sweep]}}, None, 5)  # the plot is drawn without the point
