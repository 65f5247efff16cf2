"""Random compositions (DAGs with fan-out) of primitives that keep the bound alone also keep it together."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advalidate.builder import Builder
from advalidate.cost import OMEGA, check_bound

from .cost_counters import BACKENDS, counter

UNARY = ("sin", "cos", "tanh", "exp", "arctan", "sigmoid", "softplus", "square", "neg", "log1p", "sinh")
BINARY = ("add", "sub", "mul", "hypot", "logaddexp", "where")
ALONG = ("softmax", "log_softmax")
REDUCE = ("sum", "logsumexp", "norm", "mean")


@st.composite
def programs(draw):
    """Up to 8 nodes over 1–3 inputs of shape (4, 8); any earlier value may be reused (fan-out)."""
    b = Builder()
    values = [b.input(4, 8) for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "along", "matmul", "spread"]))
        pick = st.sampled_from(values)
        if kind == "unary":
            values.append(b.apply(draw(st.sampled_from(UNARY)), draw(pick)))
        elif kind == "binary":
            prim = draw(st.sampled_from(BINARY))
            args = [draw(pick) for _ in range(3 if prim == "where" else 2)]
            values.append(b.apply(prim, *args))
        elif kind == "along":
            values.append(b.apply(draw(st.sampled_from(ALONG)), draw(pick), axis=draw(st.sampled_from([0, 1]))))
        elif kind == "matmul":  # (4, 8) @ (8, 4) @ (4, 8)
            values.append(b.matmul(b.matmul(draw(pick), b.transpose(draw(pick))), draw(pick)))
        else:  # a column sum spread back over the rows
            values.append(b.broadcast_to(b.sum(draw(pick), axis=0), shape=[4, 8]))
    outs = [values[-1]]
    if draw(st.booleans()):
        outs.append(b.apply(draw(st.sampled_from(REDUCE)), draw(st.sampled_from(values)), axis=1))
    return b.build(*outs)


@pytest.mark.parametrize("name", BACKENDS)
def test_generated_programs_keep_the_bound(name):
    cnt = counter(name)

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(programs())
    def check(fn):
        rng = np.random.default_rng(0)
        xs = [rng.uniform(-1, 1, s) for s in fn.inputs]
        vs = [rng.standard_normal(s) for s in fn.output_shapes]
        work = cnt(fn, xs, vs)
        verdict = check_bound(work)
        assert verdict.ok and work.ratio <= OMEGA, f"{name}: {verdict.message or work}\n{fn!r}"

    check()
