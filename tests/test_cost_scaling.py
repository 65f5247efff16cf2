"""Scaling: VJP work / f work flat in the output size m; the seed question's slopes ~1 (VJP) and ~2 (Jacobian)."""

import json

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
