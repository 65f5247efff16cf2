"""Backend VJP time: first call (compiling or tracing included) and steady state, per backend and program.

Usage: python benchmarks/backends.py [--quick]
Prints one table: for each registered backend that loads, the time of the first ``vjp`` on a new program
(what a campaign of ever-new random programs pays) and the median of later calls on the same program, on the
conformance compositions (float64) and a wide elementwise program of growing size.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np


def programs(quick: bool):
    from advalidate import Builder
    from advalidate.conformance.checks import COMPOSITIONS

    out = {name: make("float64") for name, make in COMPOSITIONS.items()}
    for n in ((100,) if quick else (100, 10_000, 1_000_000)):
        b = Builder()
        x, y = b.input(n), b.input(n)
        out[f"wide n={n}"] = b.build(b.sum(b.mul(b.tanh(x), b.exp(b.mul(x, y)))))
    return out


def main(argv):
    quick = "--quick" in argv
    from advalidate.backends.registry import default_registry
    from advalidate.conformance.checks import point

    registry = default_registry()
    rows = []
    progs = programs(quick)
    for entry in registry.load_all():
        if not entry.ok:
            print(f"# {entry.name}: did not load ({entry.error})")
            continue
        b = entry.backend
        for pname, fn in progs.items():
            rng = np.random.default_rng(0)
            xs = point(fn, rng)
            vs = [rng.normal(size=s) for s in fn.output_shapes]
            t0 = time.perf_counter()
            b.vjp(fn, xs, vs)
            first = time.perf_counter() - t0
            times = []
            for _ in range(3 if quick else 10):
                t0 = time.perf_counter()
                b.vjp(fn, xs, vs)
                times.append(time.perf_counter() - t0)
            rows.append((b.name, pname, first, statistics.median(times)))
    print(f"{'backend':<10} {'program':<20} {'first call (ms)':>16} {'steady (ms)':>12}")
    for name, pname, first, steady in rows:
        print(f"{name:<10} {pname:<20} {first * 1e3:>16.2f} {steady * 1e3:>12.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
