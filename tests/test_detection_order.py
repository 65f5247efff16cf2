"""The cotangents generation draws let advalidate see what the anchors' dense random directions see, while a
finding still shrinks to a one-hot cotangent (README, "Detection power"; strategies/_cotangents.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis import strategies as st

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.builder import Builder
from advalidate.check import check_example
from advalidate.oracle import Oracle
from advalidate.strategies import cotangents, examples
from tests.mutants import MUTANTS

DRAWS = 400
GENERATE = settings(max_examples=DRAWS, database=None, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))
SHRINK = settings(database=None, deadline=None, max_examples=200, derandomize=True,
                  suppress_health_check=list(HealthCheck))


def _drawn(strategy, n=DRAWS, at=0) -> list:
    """The first ``n`` values generation draws from ``strategy`` at Hypothesis seed ``at`` (no shrinking)."""
    out = []

    @GENERATE
    @seed(at)
    @given(strategy)
    def collect(x):
        out.append(x)

    collect()
    return out[:n]


def _tanh(n):
    b = Builder()
    return b.build(b.tanh(b.input(n)))


def _kind(v) -> str:
    v = np.asarray(v).ravel()
    nonzero = np.count_nonzero(v)
    if nonzero < v.size:
        return "zeros"  # one-hot or sparse
    return "unit" if np.all(np.abs(v) == 1) else "dense"  # dense or scaled


def test_generation_draws_mostly_dense_cotangents_and_still_every_structured_kind():
    kinds = Counter(_kind(v) for (v,) in _drawn(cotangents(_tanh(6))))
    assert kinds["dense"] >= 0.6 * DRAWS, kinds  # 12 in 16 by the weights (the old uniform draw: 2 in 5)
    assert kinds["zeros"] >= 0.02 * DRAWS and kinds["unit"] >= 0.02 * DRAWS, kinds  # still drawn


def test_a_cotangent_still_shrinks_to_one_hot():
    (v,) = find(cotangents(_tanh(4)), lambda vs: True, settings=SHRINK)
    assert v.tolist() == [1.0, 0.0, 0.0, 0.0]
    # a failure that needs a nonzero in the last place shrinks to the one-hot there, not to a dense v
    (v,) = find(cotangents(_tanh(4)), lambda vs: vs[0][3] != 0, settings=SHRINK)
    assert v.tolist() == [0.0, 0.0, 0.0, 1.0]


def test_the_simplest_cotangent_of_a_one_element_output_is_not_one():
    """v = +-1 is the one cotangent at which a VJP that ignores the scale of v (or v itself) looks right. The
    simplest value is the first a run draws (Hypothesis generates it first) and the one a finding shrinks to."""
    ((v,),) = _drawn(cotangents(_tanh(())), n=1)
    assert abs(float(v)) not in (0.0, 1.0)
    (v,) = find(cotangents(_tanh(())), lambda vs: True, settings=SHRINK)
    assert abs(float(v)) not in (0.0, 1.0)


def test_the_one_hot_position_is_drawn_uniformly():
    """st.integers(0, 2) draws 0 in about half of its draws; the first element is where a broadcast that takes
    one slice instead of summing them all looks right."""
    # with another draw beside it: alone, the 6 distinct one-hots of 3 elements would be all Hypothesis draws
    drawn = _drawn(st.tuples(st.integers(0, 10**9), cotangents(_tanh(3), kinds=["one-hot"])), n=DRAWS)
    assert len(drawn) == DRAWS
    first = sum(int(np.flatnonzero(v)[0]) == 0 for _, (v,) in drawn)
    assert first <= 0.42 * len(drawn), first  # 1/3 expected


def test_a_broadcast_that_is_not_summed_is_seen_by_most_drawn_cotangents():
    """x + c, c a scalar broadcast over x (3,): the mutant that takes the first slice instead of the sum is
    right only where v[1] + v[2] = 0. Generation must rarely draw such a v (the anchors never do)."""
    b = Builder()
    x, c = b.input(3), b.input(())
    fn = b.build(b.add(x, c))
    inputs = [np.array([0.3, -0.7, 1.1]), np.array(0.5)]
    factory, _ = MUTANTS["broadcast-not-summed"]
    mutant, right = factory(), NumpyReference()
    blind = 0
    drawn = _drawn(cotangents(fn))
    for vs in drawn:
        got = mutant.vjp(fn, inputs, list(vs)).grads[1]
        want = right.vjp(fn, inputs, list(vs)).grads[1]
        blind += bool(np.allclose(got, want))
    assert blind <= 0.10 * len(drawn), blind  # about 4% now; the old uniform kinds: about 18%


def test_the_simplest_example_already_catches_a_vjp_that_ignores_the_scale_of_v():
    """The first example of every run is the simplest one: its check must see ``ignores-v-scale``."""
    (ex,) = _drawn(examples(), n=1)
    factory, kind = MUTANTS["ignores-v-scale"]
    result = check_example(ex.function, ex.inputs, ex.cotangents, [factory()], Oracle())
    assert (result.outcomes[0].status, result.outcomes[0].kind) == ("finding", kind), repr(ex)


def test_cotangent_kinds_can_still_be_restricted():
    drawn = _drawn(cotangents(_tanh(3), kinds=["signed"]), n=50)
    assert all(np.all(np.abs(v) == 1) for (v,) in drawn)
