"""Generation cost of the strategies: draws per second and the fraction of points rejected.

    python benchmarks/strategies.py [--n 300]

For each setting it draws ``n`` examples through Hypothesis (generation phase only, fixed seed) and
reports: functions()/s alone, examples()/s (function + point + cotangents), the fraction of drawn
functions for which no regular (or special) point was found (the example is then rejected; goal < 5%
at default settings) and the mean size of the drawn programs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# run as a script, this file's folder comes first on sys.path and its name would shadow the package
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [os.path.dirname(_HERE)]

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from advalidate.strategies import functions
from advalidate.strategies._cotangents import COTANGENT_KINDS, _cotangents
from advalidate.strategies._points import draw_point

SETTINGS = {
    "small": dict(max_ops=3, max_side=2, max_dims=1, max_inputs=2),
    "medium (defaults)": dict(),
    "large": dict(max_ops=16, max_side=8, max_dims=3, max_inputs=8),
}


def run(strategy, n: int) -> float:
    @settings(max_examples=n, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(_):
        pass

    t0 = time.perf_counter()
    draw()
    return time.perf_counter() - t0


def measure(knobs: dict, n: int, dtype: str, special: bool) -> dict:
    outcomes, sizes = [], []
    fns = functions(dtype=dtype, ties=special, **knobs)

    @st.composite
    def example(draw):  # examples() without the rejection, so every outcome is counted
        fn = draw(fns)
        xs = draw_point(draw, fn, special)
        outcomes.append(xs is not None)
        sizes.append(len(fn.nodes))
        if xs is not None:
            draw(_cotangents(fn, COTANGENT_KINDS))
        return fn

    t_fn = run(fns, n)
    t_ex = run(example(), n)
    return dict(fn_rate=n / t_fn, ex_rate=n / t_ex, rejected=1 - sum(outcomes) / len(outcomes),
                nodes=sum(sizes) / len(sizes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="draws per row")
    args = parser.parse_args()
    header = f"{'setting':<18} {'dtype':<8} {'points':<8} {'functions/s':>12} {'examples/s':>11} {'rejected':>9} {'nodes':>6}"
    print(header)
    print("-" * len(header))
    for name, knobs in SETTINGS.items():
        for dtype in ("float64", "float32"):
            for special in (False, True):
                r = measure(knobs, args.n, dtype, special)
                print(f"{name:<18} {dtype:<8} {'special' if special else 'regular':<8} {r['fn_rate']:>12.0f} "
                      f"{r['ex_rate']:>11.0f} {r['rejected']:>9.1%} {r['nodes']:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
